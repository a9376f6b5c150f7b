"""The normalized price record: what every adapter produces and the store publishes.

A model's price is a set of :class:`PriceComponent` s. A component names what is billed
(``component``: ``input``, ``output``, ``cache_read``, ``cache_write_5m``, ``web_search``, ...)
and the unit of its price (``unit``: ``usd_per_mtok``, ``usd_per_image``, ...), and the
variant it applies to: prompts longer than ``min_context_tokens``, a UTC time-of-day
``window``, a ``service_tier`` (standard, batch, flex, priority) and a ``region``. A price of
``None`` is unknown, never zero.

The six most used standard prices also live as plain fields (``input_usd_per_mtok``, ...,
``image_usd``) with their context ``tiers``: they are the wide columns of ``model_prices``
that existing readers use. :meth:`PriceRecord.components` is the whole set (fields, tiers
and ``extra_components`` together) and is what change detection, the guard, the
long-form ``price_components`` table and the feeds use.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.fingerprint import price_digest
from pricing_pipeline.pricing.units import decimal_str

# The price columns every record carries, in USD per 1M tokens or USD per unit.
TOKEN_PRICE_FIELDS = (
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_usd_per_mtok",
)
UNIT_PRICE_FIELDS = ("request_usd", "image_usd")
PRICE_FIELDS = TOKEN_PRICE_FIELDS + UNIT_PRICE_FIELDS
_price_fields = operator.attrgetter(*PRICE_FIELDS)
_tier_fields = operator.attrgetter(*TOKEN_PRICE_FIELDS)

# Units of component prices. "m" = per million: tokens, characters and pixels are priced
# per million of them, like the per-token prices every provider page shows per 1M.
USD_PER_MTOK = "usd_per_mtok"
UNITS = {
    USD_PER_MTOK: "USD per 1M tokens",
    "usd_per_mchar": "USD per 1M characters",
    "usd_per_mpixel": "USD per 1M pixels",
    "usd_per_request": "USD per request",
    "usd_per_image": "USD per image",
    "usd_per_search": "USD per web search",
    "usd_per_query": "USD per search query",
    "usd_per_second": "USD per second (of audio or video)",
    "usd_per_minute": "USD per minute (of audio)",
    "usd_per_page": "USD per page",
    "usd_per_session": "USD per session",
    # A price whose unit the upstream does not establish: always unknown (usd None), never
    # published in a guessed unit (pricing/modality.py says when).
    "unit_ambiguous": "unit ambiguous (the upstream does not establish the unit)",
}
UNIT_AMBIGUOUS = "unit_ambiguous"
# Units counted in millions of something; the rest are per single unit.
PER_MILLION_UNITS = frozenset({USD_PER_MTOK, "usd_per_mchar", "usd_per_mpixel"})

SERVICE_TIERS = ("standard", "batch", "flex", "priority")
MODEL_TYPES = (
    "chat", "embedding", "image", "video", "audio", "transcription", "rerank", "moderation",
    "ocr", "search", "other",
)

# Plain field -> (component, unit) of the standard, base-context, all-day price it holds.
# ``image_usd`` is a generated image (what Vercel's ``image`` and LiteLLM's
# ``output_cost_per_image`` price); an input image is its own component.
FIELD_COMPONENTS = {
    "input_usd_per_mtok": ("input", USD_PER_MTOK),
    "output_usd_per_mtok": ("output", USD_PER_MTOK),
    "cache_read_usd_per_mtok": ("cache_read", USD_PER_MTOK),
    "cache_write_usd_per_mtok": ("cache_write_5m", USD_PER_MTOK),
    "request_usd": ("request", "usd_per_request"),
    "image_usd": ("image_output", "usd_per_image"),
}
COMPONENT_FIELDS = {kind: name for name, kind in FIELD_COMPONENTS.items()}
TIER_FIELDS = {kind: name for name, kind in FIELD_COMPONENTS.items() if name in TOKEN_PRICE_FIELDS}

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A UTC time-of-day window ``[start, end)`` in minutes after midnight. ``end`` below
    ``start`` wraps midnight (22:00-02:00); ``end == 1440`` is midnight at the end of the day.
    ``weekdays`` (ISO: 1 = Monday .. 7 = Sunday) restricts it to those days of ``start``;
    ``None`` means every day."""

    start_minute: int
    end_minute: int
    weekdays: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.start_minute < 1440 and 0 <= self.end_minute <= 1440):
            raise ValueError(f"window minutes out of range: {self.start_minute}-{self.end_minute}")
        if self.start_minute == self.end_minute:
            raise ValueError("empty time window (start equals end)")
        if self.weekdays is not None and (
            not self.weekdays or any(d not in range(1, 8) for d in self.weekdays)
            or list(self.weekdays) != sorted(set(self.weekdays))
        ):
            raise ValueError(f"weekdays must be distinct ISO days 1..7, sorted: {self.weekdays}")

    @property
    def wraps_midnight(self) -> bool:
        return self.end_minute < self.start_minute

    def contains(self, at: datetime) -> bool:
        """Whether the instant ``at`` (UTC-aware) falls in the window."""
        minute = at.hour * 60 + at.minute
        if not self.wraps_midnight:
            day_ok = self.weekdays is None or at.isoweekday() in self.weekdays
            return day_ok and self.start_minute <= minute < self.end_minute
        if minute >= self.start_minute:  # the evening part: the window started today
            return self.weekdays is None or at.isoweekday() in self.weekdays
        if minute < self.end_minute:  # the morning part: the window started yesterday
            return self.weekdays is None or (at.isoweekday() - 2) % 7 + 1 in self.weekdays
        return False

    def sort_key(self) -> tuple:
        return (self.start_minute, self.end_minute, self.weekdays or ())

    def to_json(self) -> dict[str, Any]:
        return {
            "start": _hhmm(self.start_minute),
            "end": _hhmm(self.end_minute),
            "weekdays": None if self.weekdays is None else [WEEKDAY_NAMES[d - 1] for d in self.weekdays],
        }

    def label(self) -> str:
        days = "" if self.weekdays is None else " " + ",".join(WEEKDAY_NAMES[d - 1] for d in self.weekdays)
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)} UTC{days}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One billed quantity's price, in one variant. ``usd`` None = unknown (never zero)."""

    component: str
    unit: str
    usd: Decimal | None
    min_context_tokens: int = 0
    window: TimeWindow | None = None
    service_tier: str = "standard"
    region: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}")
        if self.unit == UNIT_AMBIGUOUS and self.usd is not None:
            raise ValueError(f"{self.component}: a price of ambiguous unit is recorded unknown, never {self.usd}")
        if self.service_tier not in SERVICE_TIERS:
            raise ValueError(f"unknown service tier {self.service_tier!r}")
        if self.min_context_tokens < 0:
            raise ValueError(f"negative context tier {self.min_context_tokens}")

    def identity(self) -> tuple:
        """What makes two components the same price point (the price excluded)."""
        return (
            self.component,
            self.unit,
            self.min_context_tokens,
            self.window.sort_key() if self.window else (),
            SERVICE_TIERS.index(self.service_tier),
            self.region or "",
        )

    @property
    def is_base_variant(self) -> bool:
        """Standard tier, all day, every region: the variant the plain fields hold."""
        return self.window is None and self.service_tier == "standard" and self.region is None

    def label(self) -> str:
        """Human-readable, e.g. ``input [batch] >200000 tokens 16:30-00:30 UTC``."""
        text = self.component if self.unit in (USD_PER_MTOK, "usd_per_request", "usd_per_search") else (
            f"{self.component} ({self.unit})"
        )
        if self.service_tier != "standard":
            text += f" [{self.service_tier}]"
        if self.min_context_tokens:
            text += f" >{self.min_context_tokens} tokens"
        if self.window:
            text += " " + self.window.label()
        if self.region:
            text += f" @{self.region}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "unit": self.unit,
            "usd": decimal_str(self.usd),
            "min_context_tokens": self.min_context_tokens,
            "window_utc": self.window.to_json() if self.window else None,
            "service_tier": self.service_tier,
            "region": self.region,
        }


def _field_component(field_name: str, usd: Decimal, min_context_tokens: int = 0) -> PriceComponent:
    # Keyed on the exponent too: equal prices in another notation (1.0 and 1) stay distinct.
    return _shared_component(field_name, usd, usd.as_tuple().exponent, min_context_tokens)


# Shared between records (components are immutable): a big catalog repeats a few hundred
# distinct prices, and a component per model and price was a third of a snapshot's memory.
@functools.lru_cache(maxsize=65536)
def _shared_component(field_name: str, usd: Decimal, _exponent: object, min_context_tokens: int) -> PriceComponent:
    return PriceComponent(*FIELD_COMPONENTS[field_name], usd, min_context_tokens)


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply above a threshold, e.g. prompts longer than 200k tokens."""

    min_context_tokens: int
    input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None
    cache_read_usd_per_mtok: Decimal | None = None
    cache_write_usd_per_mtok: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min_context_tokens": self.min_context_tokens}
        for name in TOKEN_PRICE_FIELDS:
            out[name] = decimal_str(getattr(self, name))
        return out


class _ComputedOnce:
    """Values a record computes once (it is immutable), kept in slots: a cache in the
    instance ``__dict__`` cost about 0.8 KB per record (80 MB at 100k models) and made the
    cyclic GC walk them all."""

    __slots__ = ("_components", "_price_key", "_price_fingerprint")


@dataclass(frozen=True, slots=True)
class PriceRecord(_ComputedOnce):
    """One model's prices at one source.

    ``provider`` is the source we fetched (the Dagster partition). Catalog sources
    (models.dev, LiteLLM) describe models of other providers: ``upstream_provider`` and
    ``upstream_model_id`` name the model they describe. A price of ``None`` means unknown or
    not offered, which is never the same as zero. ``variable_pricing`` marks models whose
    price is decided per request (OpenRouter's ``-1``). ``model_type`` is what the model
    produces (:data:`MODEL_TYPES`), None when the upstream does not say. ``raw`` is the
    upstream pricing object as received, kept for audit, and ``unknown_keys`` the pricing
    keys the adapter could not read; neither takes part in change detection.
    """

    provider: str
    model_id: str
    input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None
    cache_read_usd_per_mtok: Decimal | None = None
    cache_write_usd_per_mtok: Decimal | None = None
    request_usd: Decimal | None = None
    image_usd: Decimal | None = None
    variable_pricing: bool = False
    tiers: tuple[PriceTier, ...] = ()
    upstream_provider: str | None = None
    upstream_model_id: str | None = None
    model_type: str | None = None
    extra_components: tuple[PriceComponent, ...] = ()
    # One upstream endpoint of a model (pricing/endpoints.py): its tag (``azure/eu``) and
    # quantization (``fp8``); None on a model's own (headline) record.
    upstream_tag: str | None = None
    quantization: str | None = None
    raw: Any = field(default=None, compare=False, hash=False)
    unknown_keys: tuple[str, ...] = field(default=(), compare=False, hash=False)

    def prices(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in PRICE_FIELDS}

    def components(self) -> tuple[PriceComponent, ...]:
        """Every known price of the model (fields, tiers and extras), sorted by identity."""
        components = getattr(self, "_components", None)
        if components is None:  # the first call: the diff, the guard and the store all ask
            out = [_field_component(name, value) for name, value in self.prices().items() if value is not None]
            for tier in self.tiers:
                for name in TOKEN_PRICE_FIELDS:
                    value = getattr(tier, name)
                    if value is not None:
                        out.append(_field_component(name, value, tier.min_context_tokens))
            out.extend(self.extra_components)
            components = tuple(sorted(out, key=PriceComponent.identity))
            object.__setattr__(self, "_components", components)  # frozen: set once, never changes
        return components

    def price_key(self) -> tuple:
        """What a price change is: every priced attribute, nothing cosmetic."""
        key = getattr(self, "_price_key", None)
        if key is None:
            key = (
                tuple((c.identity(), c.usd) for c in self.components()),
                self.variable_pricing,
                self.model_type,
                self.upstream_provider,
                self.upstream_model_id,
                self.upstream_tag,
                self.quantization,
            )
            object.__setattr__(self, "_price_key", key)
        return key

    def price_fingerprint(self) -> str:
        """A digest of what :meth:`price_key` is computed from (every price field, tier and
        extra component, and the attributes a change is judged on), without building the
        components: equal digests mean equal price keys. The converse holds for records built
        the same way (an adapter's), so a differing digest is only a candidate change, which
        the store confirms against the published record. Stored with the live row, so a
        re-sync finds its changed models without reading whole records back."""
        fingerprint = getattr(self, "_price_fingerprint", None)
        if fingerprint is None:  # the first call; the publish asks for every record's
            fingerprint = price_digest(
                _price_fields(self),
                [(tier.min_context_tokens, _tier_fields(tier)) for tier in self.tiers],
                sorted((c.identity(), c.usd) for c in self.extra_components) if self.extra_components else (),
                (self.variable_pricing, self.model_type, self.upstream_provider, self.upstream_model_id)
                # only on endpoint records: every digest stored before endpoints existed stays valid
                + ((self.upstream_tag, self.quantization) if self.upstream_tag or self.quantization else ()),
            )
            object.__setattr__(self, "_price_fingerprint", fingerprint)
        return fingerprint

    def __setstate__(self, state: Any) -> None:
        # A pickle written before records had slots (a step output of an older run) holds the
        # instance dict, computed values included; a newer one the field values in order.
        values = [state[name] for name in _RECORD_FIELDS] if isinstance(state, dict) else state
        for name, value in zip(_RECORD_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def description(self) -> dict[str, Any]:
        """What the record says besides its id and prices, JSON-safe (the store's columns too)."""
        return {
            "variable_pricing": self.variable_pricing,
            "tiers": [tier.to_json() for tier in self.tiers],
            "upstream_provider": self.upstream_provider,
            "upstream_model_id": self.upstream_model_id,
            "model_type": self.model_type,
            "upstream_tag": self.upstream_tag,
            "quantization": self.quantization,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form: prices as decimal strings (never floats)."""
        return {
            "provider": self.provider,
            "model_id": self.model_id,
            **{name: decimal_str(value) for name, value in self.prices().items()},
            **self.description(),
            "components": [c.to_json() for c in self.components()],
        }

    @classmethod
    def from_components(
        cls, provider: str, model_id: str, components: list[PriceComponent] | tuple[PriceComponent, ...], **fields: Any
    ) -> PriceRecord:
        """A record from its whole component set: standard all-day prices of the six field
        kinds fill the fields and tiers, everything else (and explicit unknowns) is extra.
        Two components with the same identity are a contradiction: ValueError."""
        seen: dict[tuple, PriceComponent] = {}
        for component in components:
            other = seen.setdefault(component.identity(), component)
            if other is not component and other.usd != component.usd:
                raise ValueError(
                    f"two prices for {component.label()}: {decimal_str(other.usd)} and {decimal_str(component.usd)}"
                )
        base: dict[str, Decimal] = {}
        tiers: dict[int, dict[str, Decimal]] = {}
        extras = []
        for component in seen.values():
            kind = (component.component, component.unit)
            if component.usd is not None and component.is_base_variant and kind in COMPONENT_FIELDS:
                if component.min_context_tokens == 0:
                    base[COMPONENT_FIELDS[kind]] = component.usd
                    continue
                if kind in TIER_FIELDS:
                    tiers.setdefault(component.min_context_tokens, {})[TIER_FIELDS[kind]] = component.usd
                    continue
            extras.append(component)
        return cls(
            provider,
            model_id,
            **base,
            tiers=tuple(PriceTier(n, **tiers[n]) for n in sorted(tiers)),
            extra_components=tuple(sorted(extras, key=PriceComponent.identity)),
            **fields,
        )

    def replace(self, **changes: Any) -> PriceRecord:
        return dataclasses.replace(self, **changes)


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(PriceRecord))


@dataclass(frozen=True)
class NormalizedSnapshot:
    """What a provider's payload normalizes to: the readable models' records, the models
    that could not be read (``{model_id: reason}``; they keep their published prices), and
    the pricing keys no adapter rule knows (``{key: models carrying it}``)."""

    records: list[PriceRecord]
    quarantined: dict[str, str] = field(default_factory=dict)
    unknown_keys: dict[str, int] = field(default_factory=dict)
    # Models whose per-endpoint prices could not be read this time ({model_id: reason}): their
    # published endpoints stay as they were (pricing/endpoints.py).
    endpoints_unread: dict[str, str] = field(default_factory=dict)
    # Models whose endpoints were not asked for this time (a watcher's run reads the moved
    # models' only): they keep their published endpoints, and nothing failed.
    endpoints_kept: frozenset[str] = frozenset()

    @property
    def models_seen(self) -> int:
        return len(self.records) + len(self.quarantined)

    @property
    def models_listed(self) -> int:
        """The models of the list itself, readable or not, without their endpoints."""
        return sum(not is_endpoint_id(r.model_id) for r in self.records) + sum(
            not is_endpoint_id(m) for m in self.quarantined)

    @property
    def quarantine_ratio(self) -> Decimal:
        return Decimal(len(self.quarantined)) / self.models_seen if self.models_seen else Decimal(0)
