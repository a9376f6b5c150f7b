"""The exact cost of one request, from the prices that were live when it ran.

Plain Python over the pricing store (no Dagster): the gateway bills from the same guarded
price history the pipeline publishes, instead of re-implementing tiers, caches and windows.

Token accounting follows the OpenAI/LiteLLM usage convention:

* ``input_tokens`` are all prompt tokens, cache reads/writes and audio/image input included;
  ``output_tokens`` all completion tokens, reasoning and audio/image output included.
* A part with its own price on the model (cache read, 5-minute and 1-hour cache write, audio
  or image input; reasoning, audio or image output) is billed at that price and taken out of
  its parent, so cached tokens are never billed again as input. A part without its own price
  stays in its parent and is billed at the input/output price.
* The context tier is chosen by the prompt's size (``input_tokens``): the variant with the
  highest ``min_context_tokens`` below it ("prompts longer than N").
* A time-of-day variant applies when ``at`` (UTC) falls in its window; otherwise the
  all-day price.
* ``service_tier`` picks that tier's price of each component; a component the tier does not
  price is billed at the standard price (the line says which). A model with no price at all in
  the tier is an error.
* Per-unit usage: requests (per request), images (per generated image), web searches (per
  search; LiteLLM's medium search context when only those are listed), seconds of audio or
  video (the model's per-second price, or its per-minute price for seconds / 60), characters
  (per 1M characters) and pixels (per 1M pixels, i.e. per megapixel).
* Time windows may be restricted to weekdays (OpenRouter ``utc_days``): ``at`` picks them
  by its UTC weekday, e.g. a weekend price on a Saturday.

Never a silent 0: an unknown provider or model, a model not listed at ``at``, a used
component whose price is unknown or absent, variable pricing and an unavailable service tier
all raise a :class:`CostError` saying which.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal

from pricing_pipeline.pricing.records import PER_MILLION_UNITS, SERVICE_TIERS, USD_PER_MTOK, PriceComponent, TimeWindow

MILLION = Decimal(1_000_000)


class CostError(ValueError):
    """Why a request's cost cannot be computed (never answered with 0)."""


class UnknownModel(CostError):
    pass


class NotListedAt(CostError):
    pass


class UnknownPrice(CostError):
    pass


class VariablePricing(CostError):
    pass


class ServiceTierUnavailable(CostError):
    pass


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute cache write
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    audio_input_tokens: int = 0
    audio_output_tokens: int = 0
    image_input_tokens: int = 0
    image_output_tokens: int = 0
    requests: int = 0
    images: int = 0
    web_searches: int = 0
    seconds: Decimal = Decimal(0)
    characters: int = 0
    pixels: int = 0

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise CostError(f"usage {f.name} is negative")


@dataclass(frozen=True)
class CostLine:
    component: str
    quantity: Decimal
    unit: str
    unit_price_usd: Decimal
    usd: Decimal
    tier: int  # min_context_tokens of the applied context tier (0: base)
    window_utc: TimeWindow | None
    service_tier: str
    valid_from: datetime

    def to_json(self) -> dict:
        return {
            "component": self.component,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "unit_price_usd": format(self.unit_price_usd, "f"),
            "usd": format(self.usd, "f"),
            "tier": self.tier,
            "window_utc": self.window_utc.to_json() if self.window_utc else None,
            "service_tier": self.service_tier,
            "valid_from": self.valid_from.isoformat(),
        }


@dataclass(frozen=True)
class RequestCost:
    provider: str
    model_id: str
    at: datetime
    total_usd: Decimal
    lines: tuple[CostLine, ...]

    def to_json(self) -> dict:
        return {
            "provider": self.provider,
            "model_id": self.model_id,
            "at": self.at.isoformat(),
            "total_usd": format(self.total_usd, "f"),
            "lines": [line.to_json() for line in self.lines],
        }


# (usage field, component names, parent token count it is part of)
TOKEN_PARTS = (
    ("cache_read_tokens", ("cache_read",), "input"),
    ("cache_write_tokens", ("cache_write_5m",), "input"),
    ("cache_write_1h_tokens", ("cache_write_1h",), "input"),
    ("audio_input_tokens", ("audio_input", "input_audio"), "input"),
    ("image_input_tokens", ("image_input",), "input"),
    ("reasoning_tokens", ("reasoning",), "output"),
    ("audio_output_tokens", ("audio_output", "output_audio"), "output"),
    ("image_output_tokens", ("image_output",), "output"),
)
# (usage field, [(component, unit), ...] in order of preference)
UNIT_USAGE = (
    ("requests", (("request", "usd_per_request"),)),
    ("images", (("image_output", "usd_per_image"),)),
    ("web_searches", (("web_search", "usd_per_search"), ("web_search_medium_context", "usd_per_query"),
                      ("web_search_medium_context", "usd_per_search"))),
    ("seconds", (("input", "usd_per_second"), ("output", "usd_per_second"), ("audio_input", "usd_per_second"),
                 ("video_output", "usd_per_second"), ("video_input", "usd_per_second"),
                 ("input", "usd_per_minute"), ("audio_input", "usd_per_minute"))),
    ("characters", (("input", "usd_per_mchar"), ("output", "usd_per_mchar"))),
    ("pixels", (("image_output", "usd_per_mpixel"), ("image_input", "usd_per_mpixel"))),
)
# Units whose price is per this many of the usage quantity (the rest: per one)
PER_QUANTITY = {**{unit: MILLION for unit in PER_MILLION_UNITS}, "usd_per_minute": Decimal(60)}


class _Prices:
    """The components of one published record, and the choice among their variants."""

    def __init__(self, components, at: datetime, service_tier: str, region: str | None, prompt_tokens: int):
        self.components = [c for c in components if c.region == region]
        self.at, self.service_tier, self.prompt_tokens = at, service_tier, prompt_tokens

    def has(self, names: tuple[str, ...], unit: str) -> bool:
        return any(c.component in names and c.unit == unit for c in self.components)

    def pick(self, names: tuple[str, ...], unit: str) -> PriceComponent | None:
        candidates = [c for c in self.components if c.component in names and c.unit == unit]
        tiered = [c for c in candidates if c.service_tier == self.service_tier] or [
            c for c in candidates if c.service_tier == "standard"
        ]
        usable = [
            c for c in tiered
            if (c.min_context_tokens == 0 or self.prompt_tokens > c.min_context_tokens)
            and (c.window is None or c.window.contains(self.at))
        ]
        if not usable:
            return None
        # the largest context tier that applies; a matching window before the all-day price, and
        # a window of given weekdays (a weekend price) before an every-day one it overlaps
        return max(usable, key=lambda c: (c.min_context_tokens, c.window is not None,
                                          c.window is not None and c.window.weekdays is not None))


def request_cost(
    provider: str,
    model_id: str,
    usage: Usage,
    at: datetime | None = None,
    service_tier: str = "standard",
    region: str | None = None,
    store=None,
) -> RequestCost:
    """The cost of ``usage`` on ``provider``'s ``model_id`` with the prices live at ``at``
    (default now), in exact Decimal USD, with one line per billed component."""
    from pricing_pipeline.providers.registry import PROVIDER_NAMES

    if provider not in PROVIDER_NAMES:
        raise UnknownModel(f"unknown provider {provider!r} (known: {', '.join(PROVIDER_NAMES)})")
    if service_tier not in SERVICE_TIERS:
        raise ServiceTierUnavailable(f"unknown service tier {service_tier!r} (known: {', '.join(SERVICE_TIERS)})")
    if store is None:
        from pricing_pipeline.store import PricingStore, default_database_url

        store = PricingStore(default_database_url())
    at = (at or datetime.now(UTC)).astimezone(UTC)
    published = store.prices(provider=provider, model_id=model_id, at=at)
    if not published:
        raise _not_listed(store, provider, model_id, at)
    price = published[0]
    record = price.record
    if record.variable_pricing:
        raise VariablePricing(f"{provider}/{model_id} has variable pricing (billed by the upstream per request)")
    components = record.components()
    if service_tier != "standard" and not any(c.service_tier == service_tier for c in components):
        offered = sorted({c.service_tier for c in components})
        raise ServiceTierUnavailable(f"{provider}/{model_id} has no {service_tier} prices (offers: {', '.join(offered)})")
    prices = _Prices(components, at, service_tier, region, usage.input_tokens)

    lines: list[CostLine] = []

    def bill(quantity, names: tuple[str, ...], unit: str, what: str) -> None:
        if not quantity:
            return
        component = prices.pick(names, unit)
        if component is None:
            raise UnknownPrice(f"{provider}/{model_id} has no {what} price ({names[0]}, {unit}) for this request")
        if component.usd is None:
            raise UnknownPrice(f"{provider}/{model_id}: the {component.label()} price is unknown")
        quantity = Decimal(quantity)
        amount = quantity * component.usd / PER_QUANTITY.get(unit, 1)
        lines.append(CostLine(component.component, quantity, unit, component.usd, amount,
                              component.min_context_tokens, component.window, component.service_tier, price.valid_from))

    remaining = {"input": usage.input_tokens, "output": usage.output_tokens}
    for field, names, parent in TOKEN_PARTS:
        quantity = getattr(usage, field)
        if quantity and prices.has(names, USD_PER_MTOK):
            if quantity > remaining[parent]:
                raise CostError(f"usage {field} ({quantity}) exceeds {parent}_tokens ({remaining[parent]}), which include it")
            remaining[parent] -= quantity
            bill(quantity, names, USD_PER_MTOK, field.removesuffix("_tokens").replace("_", " "))
    bill(remaining["input"], ("input",), USD_PER_MTOK, "input")
    bill(remaining["output"], ("output",), USD_PER_MTOK, "output")
    for field, options in UNIT_USAGE:
        quantity = getattr(usage, field)
        if not quantity:
            continue
        for names_unit in options:
            if prices.has((names_unit[0],), names_unit[1]):
                bill(quantity, (names_unit[0],), names_unit[1], field.replace("_", " "))
                break
        else:
            raise UnknownPrice(f"{provider}/{model_id} has no price for {field.replace('_', ' ')}")
    lines.sort(key=lambda line: ("input", "cache", "output").index(line.component.split("_")[0])
               if line.component.split("_")[0] in ("input", "cache", "output") else 3)
    return RequestCost(provider, model_id, at, sum((line.usd for line in lines), Decimal(0)), tuple(lines))


def _not_listed(store, provider: str, model_id: str, at: datetime) -> CostError:
    history = store.history(provider, model_id)
    if not history:
        return UnknownModel(f"{provider} has never listed {model_id!r}")
    first, last = history[0].valid_from, history[-1].valid_to
    until = last.isoformat() if last else "now"
    return NotListedAt(f"{provider}/{model_id} was not listed at {at.isoformat()} (listed from {first.isoformat()} to {until})")
