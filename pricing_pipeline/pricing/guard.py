"""The price guard: rules that keep a wrong price from being published.

Pure functions over the provider's published prices and a fresh snapshot (no Dagster, no
SQL). Each rule returns its offenders, ``{model_id: reason}``; :mod:`pricing.holds` decides
per model what publishes and what is held for a person, and ``defs/sync/guard.py`` reports
one check per rule. :func:`catalog_replaced` is the one snapshot-level judgement.

The guard judges *changes*: a model whose prices equal the published ones is never an
offender (it was published, so it already passed the guard or was accepted by an operator).
What is judged:

* ``price_jump``: a model whose price component (input, output, cache read/write, request,
  image, or a context tier's component) moves by more than ``max_jump_ratio`` (10x) up or
  down against the published price. How a unit mistake or a x1000 typo shows on a known
  model. Components that are unknown (None) or zero on either side are the next rule's.
* ``zero_transition``: a component that was paid becomes zero, or was zero (free) becomes
  paid. Unknown (None) is not zero: a price that disappears upstream (models.dev dropping a
  ``cost``) is recorded as unknown and is not an offender.
* ``price_bounds``: a token price (USD per 1M tokens, tiers included) above
  ``max_token_price`` ($1,000) or non-zero below ``min_token_price`` ($0.0001), or a
  per-request / per-image price above ``max_unit_price`` ($50), on a new model or on a
  component that changed. How unit mistakes show on a model we have no history for: a
  per-token price written into a per-1M field is ~1e6 too high, the reverse ~1e6 too low.
* ``mass_change``: more than ``max_added_ratio`` (30%) of the established models added, or
  ``max_removed_ratio`` (20%) removed, in one snapshot (and more than
  ``min_mass_change_models``, 10): junk additions or a truncated catalog; the additions or
  removals are held as a group (sizing: see ``GuardThresholds``). The established
  models are those live before the latest publish, so an accepted junk snapshot never holds
  back the real one after it. Models and endpoints (``pricing/endpoints.py``) are judged
  apart: a provider's first endpoint lists are no mass addition of models.
* ``unmarked_free``: a model (or endpoint) new to the catalog whose every price is zero,
  without the upstream's own free marker (OpenRouter's ``:free`` ids). Real lists carry
  almost none (3 of 414 OpenRouter models on 2026-08-19, none of them text), so one is far more
  likely a broken entry than a gift: held, never published as free.
* ``new_model_structure``: cheap consistency signals on models not published before,
  where the other rules have no baseline. Each threshold sits well outside what the real
  recordings contain (models.dev 06-09 and 06-10, LiteLLM, OpenRouter, DeepInfra: zero hits)
  and well inside the x1000 a unit mix-up between two components produces:

  - output (non-zero) below input / ``max_input_output_ratio`` (50); the real maximum is
    16x (Llama Guard: input $0.48, output $0.03). Zero output is not flagged: embedding
    models have none.
  - output above input x ``max_output_input_ratio`` (500); the real maximum is 200x
    (audio and image-output models: Gemini image $0.3 in, $30 out).
  - cache read above input x ``max_cache_read_input_ratio`` (10); a cache hit is a
    discount, the real maximum is 3x (three models.dev entries).
  - a context tier below its base price / ``max_tier_drop_ratio`` (10) or above it x
    ``max_tier_rise_ratio`` (500); real tiers run from base/1.24 to base x133.

Thresholds and the operator's override live in :mod:`pricing.guard_settings`; the rules that
count a catalog's ids (``mass_change``, ``catalog_replaced``) in :mod:`pricing.guard_catalog`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pricing_pipeline.pricing.endpoints import marked_free
from pricing_pipeline.pricing.guard_catalog import Offenders, catalog_replaced, mass_change  # noqa: F401 (catalog_replaced: the guard's API)
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.records import PER_MILLION_UNITS, TOKEN_PRICE_FIELDS, USD_PER_MTOK, PriceRecord
from pricing_pipeline.pricing.units import PRICE_BOUNDS, decimal_str

LABELS = {
    "input_usd_per_mtok": "input",
    "output_usd_per_mtok": "output",
    "cache_read_usd_per_mtok": "cache_read",
    "cache_write_usd_per_mtok": "cache_write_5m",
}
# Service tiers that are discounts on the standard price: above it on a new model is a
# contradiction (priority is a surcharge and may be above).
DISCOUNT_TIERS = ("batch", "flex")


# --- the components of a record ---------------------------------------------------------


@dataclass(frozen=True)
class Component:
    label: str  # "input", "web_search", "input [batch] >200000 tokens", "output 16:30-00:30 UTC", ...
    value: Decimal | None
    per_token: bool  # priced per million (tokens, characters, pixels); else USD per unit
    unit: str = USD_PER_MTOK


def components(record: PriceRecord) -> dict[str, Component]:
    """Every price of a record (every component and variant), by label. Variable pricing
    has none."""
    if record.variable_pricing:
        return {}
    return {
        c.label(): Component(c.label(), c.usd, c.unit in PER_MILLION_UNITS, c.unit) for c in record.components()
    }


def _positive(value: Decimal | None) -> Decimal | None:
    """The value if it is a positive price, else None (the rules' ratios need one)."""
    return value if value is not None and value > 0 else None


def _fmt(value: Decimal | None) -> str:
    return "unknown" if value is None else decimal_str(value)


def _unit(component: Component) -> str:
    return "$/1M" if component.per_token else "$"


def _ratio(high: Decimal, low: Decimal) -> str:
    ratio = high / low
    return f"x{ratio:.0f}" if ratio >= 10 else f"x{ratio:.2g}"


# --- rules ------------------------------------------------------------------------------


def _changed(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord]
) -> Iterator[tuple[PriceRecord, PriceRecord]]:
    for record in snapshot:
        before = published.get(record.model_id)
        if before is not None and not _same_prices(before, record):
            yield before, record


def _same_prices(before: PriceRecord, after: PriceRecord) -> bool:
    # The store maps an unchanged model to the snapshot's own record (published_against):
    # no price key to build for the 99% of a big catalog that did not move.
    return before is after or before.price_key() == after.price_key()


def _changed_components(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord]
) -> Iterator[tuple[str, list[tuple[str, Component, Component]]]]:
    """Per changed model: (label, before, after) of every component priced before and after."""
    for before, after in _changed(published, snapshot):
        new = components(after)
        yield after.model_id, [(label, b, new[label]) for label, b in components(before).items() if label in new]


def _new(published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord]) -> Iterator[PriceRecord]:
    return (record for record in snapshot if record.model_id not in published)


def _collect(offenders: Offenders, model_id: str, problems: list[str]) -> None:
    if problems:
        offenders[model_id] = "; ".join(problems)


def _judge_changed_components(
    published: Mapping[str, PriceRecord],
    snapshot: Iterable[PriceRecord],
    judge: Callable[[str, Component, Component], str | None],
) -> Offenders:
    """Offenders: changed models with a component (priced before and after) the judge objects to."""
    offenders: Offenders = {}
    for model_id, pairs in _changed_components(published, snapshot):
        _collect(offenders, model_id, [problem for label, b, a in pairs if (problem := judge(label, b, a))])
    return offenders


def price_jumps(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], thresholds: GuardThresholds
) -> Offenders:
    """Components that moved by more than ``max_jump_ratio`` up or down."""

    def jump(label: str, b: Component, a: Component) -> str | None:
        if not _positive(b.value) or not _positive(a.value):
            return None  # unknown, zero (the next rule's) or negative (the sync checks')
        high, low = max(a.value, b.value), min(a.value, b.value)
        if high <= low * thresholds.max_jump_ratio:
            return None
        direction = "up" if a.value > b.value else "down"
        return f"{label} {_fmt(b.value)} → {_fmt(a.value)} {_unit(a)} ({direction} {_ratio(high, low)})"

    return _judge_changed_components(published, snapshot, jump)


def zero_transitions(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], thresholds: GuardThresholds
) -> Offenders:
    """A paid component that becomes zero, or a free (zero) one that becomes paid."""

    def transition(label: str, b: Component, a: Component) -> str | None:
        if a.value is None or b.value is None:
            return None
        if b.value > 0 and a.value == 0:
            return f"{label} {_fmt(b.value)} → 0 {_unit(a)} (paid → free)"
        if b.value == 0 and a.value > 0:
            return f"{label} 0 → {_fmt(a.value)} {_unit(a)} (free → paid)"
        return None

    return _judge_changed_components(published, snapshot, transition)


def bounds_problem(component: Component, thresholds: GuardThresholds) -> str | None:
    """A price outside the plausible range of its unit (units.PRICE_BOUNDS; the thresholds'
    token bounds for USD per 1M tokens and their unit maximum for per-request, per-image,
    per-search ... prices, so their env overrides still apply)."""
    value = component.value
    if not _positive(value):  # unknown, free, or negative (the sync checks reject those)
        return None
    low, high = PRICE_BOUNDS.get(component.unit, (None, thresholds.max_unit_price))
    if component.unit == USD_PER_MTOK:
        low, high = thresholds.min_token_price, thresholds.max_token_price
    elif low is None:
        high = thresholds.max_unit_price
    per = "$/1M" if component.per_token else "$ per unit"
    if value > high:
        return f"{component.label} {_fmt(value)} {per} above {_fmt(high)}"
    if low is not None and value < low:
        return f"{component.label} {_fmt(value)} {per} below {_fmt(low)}"
    return None


def out_of_bounds(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], thresholds: GuardThresholds
) -> Offenders:
    """Implausible prices on new models and on components that changed."""
    offenders: Offenders = {}
    for record in snapshot:
        before = published.get(record.model_id)
        if before is not None and _same_prices(before, record):
            continue
        old = components(before) if before is not None else {}
        problems = []
        for label, component in components(record).items():
            previous = old.get(label)
            if previous is not None and previous.value == component.value:
                continue  # unchanged: published before
            problem = bounds_problem(component, thresholds)
            if problem:
                problems.append(problem)
        _collect(offenders, record.model_id, problems)
    return offenders


def structure_problems(record: PriceRecord, thresholds: GuardThresholds) -> list[str]:
    """The new-model consistency signals of one record (see the module docstring)."""
    problems = []
    i, o, cr = (
        _positive(record.input_usd_per_mtok),
        _positive(record.output_usd_per_mtok),
        _positive(record.cache_read_usd_per_mtok),
    )
    if i and o and o * thresholds.max_input_output_ratio < i:
        problems.append(f"output {_fmt(o)} below input {_fmt(i)} / {_fmt(thresholds.max_input_output_ratio)}")
    if i and o and o > i * thresholds.max_output_input_ratio:
        problems.append(f"output {_fmt(o)} above input {_fmt(i)} x {_fmt(thresholds.max_output_input_ratio)}")
    if i and cr and cr > i * thresholds.max_cache_read_input_ratio:
        problems.append(
            f"cache read {_fmt(cr)} above input {_fmt(i)} x {_fmt(thresholds.max_cache_read_input_ratio)}"
        )
    def same_but_tier(c):
        return (c.component, c.unit, c.min_context_tokens, c.window, c.region)

    standard = {same_but_tier(c): c.usd for c in record.components() if c.service_tier == "standard"}
    for c in record.components():
        if c.service_tier in DISCOUNT_TIERS:
            base, value = _positive(standard.get(same_but_tier(c))), _positive(c.usd)
            if base and value and value > base:
                problems.append(f"{c.label()} {_fmt(value)} above its standard price {_fmt(base)}")
    for tier in record.tiers:
        for name in TOKEN_PRICE_FIELDS:
            base, value = _positive(getattr(record, name)), _positive(getattr(tier, name))
            if not base or not value:
                continue
            label = f"{LABELS[name]} >{tier.min_context_tokens} tokens"
            if value * thresholds.max_tier_drop_ratio < base:
                problems.append(
                    f"{label} {_fmt(value)} below base {_fmt(base)} / {_fmt(thresholds.max_tier_drop_ratio)}"
                )
            elif value > base * thresholds.max_tier_rise_ratio:
                problems.append(
                    f"{label} {_fmt(value)} above base {_fmt(base)} x {_fmt(thresholds.max_tier_rise_ratio)}"
                )
    return problems


def unmarked_free(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], thresholds: GuardThresholds
) -> Offenders:
    """New models (or endpoints) priced zero throughout, which the upstream does not mark free."""
    offenders: Offenders = {}
    for record in _new(published, snapshot):
        if record.variable_pricing or marked_free(record.model_id):
            continue
        prices = [c for c in record.components() if c.usd is not None]
        if prices and all(c.usd == 0 for c in prices) and any(c.unit == USD_PER_MTOK for c in prices):
            offenders[record.model_id] = "every price is zero and the upstream does not mark the model free"
    return offenders


def new_model_structure(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], thresholds: GuardThresholds
) -> Offenders:
    """Structural signals on models that are not published yet."""
    offenders: Offenders = {}
    for record in _new(published, snapshot):
        if not record.variable_pricing:
            _collect(offenders, record.model_id, structure_problems(record, thresholds))
    return offenders


Rule = Callable[..., Offenders]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    rule: Rule
    description: str
    thresholds: tuple[str, ...]  # GuardThresholds fields the rule uses
    # True: judges a move against the published price. False: judges a price on its own
    # (plausibility), which for reference catalogs only warns (see ProviderAdapter).
    judges_changes: bool = False
    # True: the rule also takes the baseline model ids (mass_change).
    needs_baseline: bool = False
    # True: only for prices we resell; a reference catalog's zero prices (coding plans, free
    # tiers) are its own business (unmarked_free).
    resold_only: bool = False

    def evaluate(self, published, snapshot, thresholds, baseline: frozenset[str] | None = None) -> Offenders:
        if self.needs_baseline:
            return self.rule(published, snapshot, thresholds, baseline)
        return self.rule(published, snapshot, thresholds)


RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        RuleSpec(
            "price_jump",
            price_jumps,
            "A price component moved by more than the jump ratio (up or down) against the published price.",
            ("max_jump_ratio",),
            judges_changes=True,
        ),
        RuleSpec(
            "zero_transition",
            zero_transitions,
            "A paid price became zero, or a free (zero) price became paid. Unknown is not zero.",
            (),
            judges_changes=True,
        ),
        RuleSpec(
            "price_bounds",
            out_of_bounds,
            "A new or changed price outside plausible bounds for its unit (how unit mistakes show).",
            ("max_token_price", "min_token_price", "max_unit_price"),
        ),
        RuleSpec(
            "unmarked_free",
            unmarked_free,
            "A new model or endpoint priced zero throughout, which the upstream does not mark free (OpenRouter's "
            ":free ids): held, never published as free.",
            (),
            resold_only=True,
        ),
        RuleSpec(
            "new_model_structure",
            new_model_structure,
            "A new model whose prices contradict each other (output far below input, cache read above "
            "input, a context tier far from its base price, ...).",
            (
                "max_input_output_ratio",
                "max_output_input_ratio",
                "max_cache_read_input_ratio",
                "max_tier_drop_ratio",
                "max_tier_rise_ratio",
            ),
        ),
        RuleSpec(
            "mass_change",
            mass_change,
            "More than 30% of the established models added, or 20% removed, in one snapshot: the additions "
            "(or removals) are held as a group, the rest publishes; one accept releases the group.",
            ("max_added_ratio", "max_removed_ratio", "min_mass_change_models"),
            judges_changes=True,
            needs_baseline=True,
        ),
    )
}


def evaluate(
    published: Mapping[str, PriceRecord],
    snapshot: Iterable[PriceRecord],
    thresholds: GuardThresholds | None = None,
    reference_catalog: bool = False,
) -> dict[str, Offenders]:
    """Every rule's offenders: ``{rule name: {model_id: reason}}`` (a reference catalog's: not
    the rules for resold prices only)."""
    thresholds = thresholds or GuardThresholds()
    snapshot = list(snapshot)
    return {
        name: {} if reference_catalog and spec.resold_only else spec.evaluate(published, snapshot, thresholds)
        for name, spec in RULES.items()
    }


def offending_models(results: Mapping[str, Offenders]) -> set[str]:
    return {model_id for offenders in results.values() for model_id in offenders}
