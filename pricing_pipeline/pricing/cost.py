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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pricing_pipeline.pricing.records import PER_MILLION_UNITS, SERVICE_TIERS, USD_PER_MTOK, PriceComponent, TimeWindow

MILLION = Decimal(1_000_000)


class CostError(ValueError):
    """Why a request's cost cannot be computed (never answered with 0)."""


class UnknownModel(CostError):
    pass


class NotListedAt(CostError):
    """The model was listed, but not at the instant asked for: ``first_listed`` and
    ``listed_until`` (None: still listed) say when it was."""

    def __init__(self, message: str, first_listed: datetime | None = None, listed_until: datetime | None = None):
        super().__init__(message)
        self.first_listed, self.listed_until = first_listed, listed_until


class UnknownPrice(CostError):
    pass


class VariablePricing(CostError):
    pass


class ServiceTierUnavailable(CostError):
    pass


class UnknownUpstream(CostError):
    """The model has no endpoint at the upstream provider asked for, or several and no base one
    (pricing/endpoints.py)."""


class InvalidUsage(CostError):
    """The usage itself is wrong: a negative count, or a part larger than the total holding it."""


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
        nonzero = []
        for f in _USAGE_FIELDS:
            value = getattr(self, f.name)
            if value < 0:
                raise InvalidUsage(f"usage {f.name} is negative")
            if value and f.name not in ("input_tokens", "output_tokens"):
                nonzero.append(f.name)
        # what bill() looks at beyond input and output (not a field: not in eq, repr or hash)
        object.__setattr__(self, "_parts", frozenset(nonzero))


_USAGE_FIELDS = fields(Usage)


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
    # The endpoint whose price was billed (pricing/endpoints.py); None: the headline price.
    upstream_provider: str | None = None
    upstream_tag: str | None = None

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
            "upstream_provider": self.upstream_provider,
            "upstream_tag": self.upstream_tag,
        }


@dataclass(frozen=True)
class RequestCost:
    provider: str
    model_id: str
    at: datetime
    total_usd: Decimal
    lines: tuple[CostLine, ...]
    upstream_provider: str | None = None
    upstream_tag: str | None = None

    def to_json(self) -> dict:
        return {
            "provider": self.provider,
            "model_id": self.model_id,
            "at": self.at.isoformat(),
            "total_usd": format(self.total_usd, "f"),
            "upstream_provider": self.upstream_provider,
            "upstream_tag": self.upstream_tag,
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


class IndexedComponents:
    """A record's components indexed for the selection: per (region, component, unit), the
    candidates in identity order, all and by service tier. Immutable; the price book shares
    one between models with the same components, and each (region, service tier) asked for
    keeps its billing plan (``plan``): which parts of a usage the model prices, and their
    candidates, worked out once instead of on every request."""

    __slots__ = ("service_tiers", "_index", "_plans")

    def __init__(self, components):
        ordered = sorted(components, key=PriceComponent.identity)
        self.service_tiers = frozenset(c.service_tier for c in ordered)
        grouped: dict[tuple, list[PriceComponent]] = {}
        for c in ordered:
            grouped.setdefault((c.region, c.component, c.unit), []).append(c)
        self._index = {key: (tuple(group), _by_tier(group)) for key, group in grouped.items()}
        self._plans: dict[tuple, _Plan] = {}

    def has(self, region: str | None, names: tuple[str, ...], unit: str) -> bool:
        return any((region, name, unit) in self._index for name in names)

    def candidates(self, region: str | None, names: tuple[str, ...], unit: str, service_tier: str) -> tuple:
        """The variants of ``names`` priced in ``unit`` in the region, in ``service_tier`` (the
        standard ones when the tier prices none of them)."""
        if len(names) == 1:
            entry = self._index.get((region, names[0], unit))
            if entry is None:
                return ()
            by_tier = entry[1]
            return by_tier.get(service_tier) or by_tier.get("standard", ())
        merged = sorted((c for name in names for c in self._index.get((region, name, unit), ((), {}))[0]),
                        key=PriceComponent.identity)
        return tuple(c for c in merged if c.service_tier == service_tier) or tuple(
            c for c in merged if c.service_tier == "standard")

    def plan(self, region: str | None, service_tier: str) -> _Plan:
        plan = self._plans.get((region, service_tier))
        if plan is None:  # a race builds two equal plans; either may stay
            plan = self._plans[(region, service_tier)] = _Plan(self, region, service_tier)
        return plan


class _Plan:
    """What ``bill`` selects from, per (region, service tier), in the order it bills:
    ``parts``: (usage field, its parent is the input, the choice, what) for each token part
    the model prices in the region (TOKEN_PARTS); ``input``, ``output``: their choices;
    ``units``: per per-unit usage field, its (choice, unit, what), or None when the model
    prices it in no unit (UNIT_USAGE). A choice is (names, candidates, the one candidate when
    no prompt size or instant can change it, else None)."""

    __slots__ = ("parts", "input", "output", "units")

    def __init__(self, prices: IndexedComponents, region: str | None, service_tier: str):
        def choice(names: tuple[str, ...], unit: str) -> tuple:
            candidates = prices.candidates(region, names, unit, service_tier)
            fixed = candidates[0] if len(candidates) == 1 and not candidates[0].min_context_tokens and \
                candidates[0].window is None else None
            return names, candidates, fixed

        self.parts = tuple(
            (field, parent == "input", choice(names, USD_PER_MTOK), field.removesuffix("_tokens").replace("_", " "))
            for field, names, parent in TOKEN_PARTS if prices.has(region, names, USD_PER_MTOK))
        self.input, self.output = choice(("input",), USD_PER_MTOK), choice(("output",), USD_PER_MTOK)
        units = {}
        for field, options in UNIT_USAGE:
            units[field] = next(((choice((name,), unit), unit, field.replace("_", " "))
                                 for name, unit in options if prices.has(region, (name,), unit)), None)
        self.units = units


def _by_tier(group: list[PriceComponent]) -> dict[str, tuple[PriceComponent, ...]]:
    return {tier: tuple(c for c in group if c.service_tier == tier) for tier in {c.service_tier for c in group}}


class ListedPrices:
    """The prices of one published record, live over ``[valid_from, valid_to)``.
    ``request_cost`` builds one per request from the database; the price book once per publish."""

    __slots__ = ("components", "variable_pricing", "valid_from", "valid_to", "upstream_provider", "upstream_tag")

    def __init__(self, components: IndexedComponents, variable_pricing: bool, valid_from: datetime,
                 valid_to: datetime | None = None, upstream_provider: str | None = None,
                 upstream_tag: str | None = None):
        self.components, self.variable_pricing = components, variable_pricing
        self.valid_from, self.valid_to = valid_from, valid_to
        # set on an endpoint's prices: the lines say which endpoint was billed
        self.upstream_provider, self.upstream_tag = upstream_provider, upstream_tag


def pick(candidates: tuple, prompt_tokens: int, at: datetime) -> PriceComponent | None:
    """The variant that applies: the largest context tier below the prompt's size, a matching
    time-of-day window before the all-day price, and a window of given weekdays (a weekend
    price) before an every-day one it overlaps (the first in identity order on a tie)."""
    best = best_key = None
    for c in candidates:
        if (c.min_context_tokens == 0 or prompt_tokens > c.min_context_tokens) and (
            c.window is None or c.window.contains(at)
        ):
            key = (c.min_context_tokens, c.window is not None, c.window is not None and c.window.weekdays is not None)
            if best is None or key > best_key:
                best, best_key = c, key
    return best


def check_request(provider: str, service_tier: str, providers) -> None:
    """What is wrong with a request before any price is read."""
    if provider not in providers:
        raise UnknownModel(f"unknown provider {provider!r} (known: {', '.join(providers)})")
    if service_tier not in SERVICE_TIERS:
        raise ServiceTierUnavailable(f"unknown service tier {service_tier!r} (known: {', '.join(SERVICE_TIERS)})")


def bill(
    provider: str, model_id: str, listed: ListedPrices, usage: Usage, at: datetime,
    service_tier: str = "standard", region: str | None = None,
) -> RequestCost:
    """The selection and billing rules, over the prices live at ``at`` (``listed``): the one
    routine behind ``request_cost`` and the price book."""
    if listed.variable_pricing:
        raise VariablePricing(f"{provider}/{model_id} has variable pricing (billed by the upstream per request)")
    prices = listed.components
    if service_tier != "standard" and service_tier not in prices.service_tiers:
        offered = sorted(prices.service_tiers)
        raise ServiceTierUnavailable(f"{provider}/{model_id} has no {service_tier} prices (offers: {', '.join(offered)})")
    plan = prices.plan(region, service_tier)
    prompt_tokens, valid_from = usage.input_tokens, listed.valid_from
    upstream_provider, upstream_tag = listed.upstream_provider, listed.upstream_tag
    lines: list[CostLine] = []

    remaining_input, remaining_output, parts = usage.input_tokens, usage.output_tokens, usage._parts
    if parts:
        for field, in_input, choice, what in plan.parts:
            quantity = getattr(usage, field)
            if quantity:
                remaining = remaining_input if in_input else remaining_output
                if quantity > remaining:
                    parent = "input" if in_input else "output"
                    raise InvalidUsage(
                        f"usage {field} ({quantity}) exceeds {parent}_tokens ({remaining}), which include it")
                if in_input:
                    remaining_input -= quantity
                else:
                    remaining_output -= quantity
                _add(lines, quantity, choice, USD_PER_MTOK, what, prompt_tokens, at, valid_from, provider, model_id,
                     upstream_provider, upstream_tag)
    if remaining_input:
        _add(lines, remaining_input, plan.input, USD_PER_MTOK, "input", prompt_tokens, at, valid_from, provider,
             model_id, upstream_provider, upstream_tag)
    if remaining_output:
        _add(lines, remaining_output, plan.output, USD_PER_MTOK, "output", prompt_tokens, at, valid_from, provider,
             model_id, upstream_provider, upstream_tag)
    if parts:
        for field, priced in plan.units.items():
            if field not in parts:
                continue
            if priced is None:
                raise UnknownPrice(f"{provider}/{model_id} has no price for {field.replace('_', ' ')}")
            choice, unit, what = priced
            _add(lines, getattr(usage, field), choice, unit, what, prompt_tokens, at, valid_from, provider, model_id,
                 upstream_provider, upstream_tag)
    total = Decimal(0)
    for line in lines:
        total += line.usd
    if parts and len(lines) > 1:  # without parts, the lines are input then output: in order already
        lines.sort(key=_line_order)
    return _new_request_cost(provider, model_id, at, total, tuple(lines), upstream_provider, upstream_tag)


def _add(lines: list, quantity, choice: tuple, unit: str, what: str, prompt_tokens: int, at: datetime,
         valid_from: datetime, provider: str, model_id: str, upstream_provider, upstream_tag) -> None:
    """Bill ``quantity`` at the variant of ``choice`` that applies (``pick``), as one line."""
    names, candidates, component = choice
    if component is None:
        component = pick(candidates, prompt_tokens, at)
        if component is None:
            raise UnknownPrice(f"{provider}/{model_id} has no {what} price ({names[0]}, {unit}) for this request")
    usd = component.usd
    if usd is None:
        raise UnknownPrice(f"{provider}/{model_id}: the {component.label()} price is unknown")
    quantity = Decimal(quantity)
    lines.append(_new_line(component.component, quantity, unit, usd, quantity * usd / PER_QUANTITY.get(unit, 1),
                           component.min_context_tokens, component.window, component.service_tier, valid_from,
                           upstream_provider, upstream_tag))


# The hot path builds its frozen dataclasses in one step (equal to calling the class: the same
# fields, equality, hash and repr), not one object.__setattr__ per field.
_new_object, _set_attribute = object.__new__, object.__setattr__


def _new_line(component, quantity, unit, unit_price_usd, usd, tier, window_utc, service_tier, valid_from,
              upstream_provider, upstream_tag) -> CostLine:
    line = _new_object(CostLine)
    _set_attribute(line, "__dict__", {
        "component": component, "quantity": quantity, "unit": unit, "unit_price_usd": unit_price_usd, "usd": usd,
        "tier": tier, "window_utc": window_utc, "service_tier": service_tier, "valid_from": valid_from,
        "upstream_provider": upstream_provider, "upstream_tag": upstream_tag})
    return line


def _new_request_cost(provider, model_id, at, total_usd, lines, upstream_provider, upstream_tag) -> RequestCost:
    cost = _new_object(RequestCost)
    _set_attribute(cost, "__dict__", {
        "provider": provider, "model_id": model_id, "at": at, "total_usd": total_usd, "lines": lines,
        "upstream_provider": upstream_provider, "upstream_tag": upstream_tag})
    return cost


_LINE_ORDER: dict[str, int] = {}


def _line_order(line: CostLine) -> int:
    """Input, cache, output, then the rest (by the component's first word)."""
    order = _LINE_ORDER.get(line.component)
    if order is None:
        head = line.component.split("_")[0]
        order = _LINE_ORDER[line.component] = ("input", "cache", "output").index(head) if head in (
            "input", "cache", "output") else 3
    return order


def not_listed(
    provider: str, model_id: str, at: datetime, first_listed: datetime | None, listed_until: datetime | None
) -> CostError:
    """Why no price was live at ``at``: never listed (``first_listed`` None), or listed from
    ``first_listed`` until ``listed_until`` (None: still listed)."""
    if first_listed is None:
        return UnknownModel(f"{provider} has never listed {model_id!r}")
    until = listed_until.isoformat() if listed_until else "now"
    return NotListedAt(
        f"{provider}/{model_id} was not listed at {at.isoformat()} (listed from {first_listed.isoformat()} to {until})",
        first_listed, listed_until,
    )


T = TypeVar("T")


def choose_endpoint(
    provider: str, model_id: str, wanted: str, endpoints: Iterable[tuple[str, str | None, T]],
    same_prices: Callable[[T, T], bool] = lambda a, b: False,
) -> tuple[str, str | None, T]:
    """The endpoint that served a request (pricing/endpoints.py), from ``(tag, provider name,
    value)`` of the model's endpoints: the one whose tag is ``wanted``, else the provider's only
    endpoint, else its base endpoint (a tag without ``/``), else any of them when they all bill
    the same (``same_prices``). Raises :class:`UnknownUpstream` naming what there is."""
    endpoints = list(endpoints)
    key = wanted.strip().casefold()
    for endpoint in endpoints:
        if endpoint[0].casefold() == key:
            return endpoint
    candidates = [e for e in endpoints if (e[1] or "").casefold() == key]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        known = sorted({f"{name} ({tag})" if name else tag for tag, name, _ in endpoints})
        offered = ", ".join(known) if known else "none listed"
        raise UnknownUpstream(f"{provider}/{model_id} has no endpoint at {wanted!r} (its endpoints: {offered})")
    base = [e for e in candidates if "/" not in e[0]]
    if len(base) == 1:
        return base[0]
    if all(same_prices(candidates[0][2], other[2]) for other in candidates[1:]):
        return min(candidates, key=lambda e: e[0])
    tags = ", ".join(sorted(e[0] for e in candidates))
    raise UnknownUpstream(
        f"{provider}/{model_id} has several {wanted!r} endpoints and no base one: give the tag ({tags})"
    )
