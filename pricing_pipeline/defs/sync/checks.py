"""Blocking checks on the normalized prices: a failing check stops the publish, so the
previous prices stay live. (The per-provider freshness checks are in freshness.py.)"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    MetadataValue,
    multi_asset_check,
)

from pricing_pipeline.defs.outcomes import RUN_OUTCOME_TAG, RunOutcome, decode_outcome, encode_outcome
from pricing_pipeline.defs.runs import NORMALIZED_KEY
from pricing_pipeline.defs.sync.assets import normalized_prices
from pricing_pipeline.defs.sync.run_metadata import reasons_markdown
from pricing_pipeline.defs.sync.override import GUARD_RESOURCE_DEFS, PriceGuardOverride
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing import guard
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.guard_settings import GuardOverride
from pricing_pipeline.pricing.records import NormalizedSnapshot, PriceComponent, PriceRecord, PriceTier
from pricing_pipeline.settings import settings

MAX_LISTED = 25


def record_blocked(context: AssetCheckExecutionContext, pricing_db: PricingDatabase, *results: AssetCheckResult) -> None:
    """A blocking check that fails stops the publish: the check itself closes the provider's
    sync log row as blocked (no hook runs on check steps, and every launch path runs the
    checks)."""
    failed = [r for r in results if not r.passed and r.severity == AssetCheckSeverity.ERROR]
    if failed:
        names = ", ".join(r.check_name for r in failed if r.check_name) or ", ".join(
            key.name for key in context.selected_asset_check_keys
        )
        reasons = "; ".join(r.description for r in failed if r.description)
        message = f"blocked by {names}" + (f": {reasons}" if reasons else "")
        run = context.run
        pricing_db.store.fail_sync(context.partition_key, run.run_id, "check_blocked", message, status="blocked")
        # The run's outcome, as the assets' failure hooks record theirs (defs/outcomes.py).
        if decode_outcome(run.tags, run.run_id) is None:
            outcome = RunOutcome("blocked", "check_blocked")
            context.instance.add_run_tags(run.run_id, {RUN_OUTCOME_TAG: encode_outcome(run.run_id, outcome)})


def offenders_result(offenders: dict[str, str], checked: int, **metadata) -> dict:
    """Pass when nothing offends; otherwise list the offending models (capped) with a count."""
    table = reasons_markdown(dict(sorted(offenders.items())), "model", "problem", limit=MAX_LISTED)
    provider = metadata.get("provider", "")
    return {
        "passed": not offenders,
        "severity": AssetCheckSeverity.ERROR,
        "description": None if not offenders else f"{provider}: {len(offenders)} model(s) malformed: nothing is published.",
        "metadata": {
            "models_checked": checked,
            "offending_models": len(offenders),
            **({"offenders": MetadataValue.md(table)} if offenders else {}),
            **metadata,
        },
    }


@dataclass(frozen=True)
class SnapshotInputs:
    """What the snapshot checks read: loaded once for all of them."""

    provider: str
    snapshot: NormalizedSnapshot
    pricing_db: PricingDatabase
    override: GuardOverride


def records_with_a_problem(problem_of: Callable[[PriceRecord, str], str | None]):
    """A check listing every record of the snapshot with a problem (by model id)."""

    def evaluate(inputs: SnapshotInputs) -> dict:
        offenders: dict[str, str] = {}
        for record in inputs.snapshot.records:
            problem = problem_of(record, inputs.provider)
            if problem:
                offenders[record.model_id or "<empty id>"] = problem
        return offenders_result(offenders, len(inputs.snapshot.records), provider=inputs.provider)

    return evaluate


def schema_problem(record: PriceRecord, provider: str) -> str | None:
    if not isinstance(record, PriceRecord):
        return f"not a PriceRecord: {type(record).__name__}"
    if record.provider != provider:
        return f"record of provider {record.provider!r}"
    if not record.model_id or not record.model_id.strip():
        return "empty model id"
    for name, value in record.prices().items():
        if value is not None and not isinstance(value, Decimal):
            return f"{name} is {type(value).__name__}, not Decimal"
    for component in record.extra_components:
        if not isinstance(component, PriceComponent):
            return f"not a PriceComponent: {type(component).__name__}"
        if component.usd is not None and not isinstance(component.usd, Decimal):
            return f"{component.label()} is {type(component.usd).__name__}, not Decimal"
    if record.variable_pricing and record.components():
        return "variable pricing with a fixed price"
    thresholds = [tier.min_context_tokens for tier in record.tiers]
    if any(not isinstance(tier, PriceTier) for tier in record.tiers):
        return "malformed tier"
    if thresholds != sorted(set(thresholds)) or any(t <= 0 for t in thresholds):
        return f"tier thresholds not positive and increasing: {thresholds}"
    return None


def negative_or_infinite_price(record: PriceRecord, provider: str) -> str | None:
    for component in record.components():
        value = component.usd
        if isinstance(value, Decimal) and (not value.is_finite() or value < 0):
            return f"{component.label()} = {value}"
    return None


def model_count(inputs: SnapshotInputs) -> dict:
    # The floor compares with the models live before the latest publish, not with the live
    # table: an accepted junk snapshot must not raise the floor for the real one after it.
    provider, override = inputs.provider, inputs.override
    # the models of the list: their endpoints are fetched apart and kept when that fails
    published = sum(not is_endpoint_id(m) for m in inputs.pricing_db.store.baseline_model_ids(provider))
    fetched = inputs.snapshot.models_listed  # quarantined models are listed upstream: not removals
    # An empty list is never a snapshot, not even on a first sync: it is an upstream fault.
    minimum = max(1, math.ceil(published * settings().min_model_count_ratio))
    enough = fetched >= minimum
    accepted = not enough and override.accept_all and override.problem() is None
    if enough:
        description = None
    elif accepted:
        description = f"{provider}: {fetched} models fetched, {published} published: accepted by {override.accepted_by}: {override.reason}"
    else:
        description = f"{provider}: {fetched} models fetched, {published} published (minimum {minimum})"
    return {
        "passed": enough or accepted,
        "severity": AssetCheckSeverity.ERROR,
        "description": description,
        "metadata": {
            "provider": provider,
            "models_fetched": fetched,
            "models_published": published,
            "minimum": minimum,
            "accepted": accepted,
        },
    }


def quarantine(inputs: SnapshotInputs) -> dict:
    snapshot, provider = inputs.snapshot, inputs.provider
    quarantined = snapshot.quarantined
    ratio = snapshot.quarantine_ratio
    max_ratio = settings().max_quarantine_ratio
    blocking = ratio > max_ratio
    metadata = {
        "provider": provider,
        "models_seen": snapshot.models_seen,
        "quarantined_models": len(quarantined),
        "quarantined_ratio": float(round(ratio, 4)),
        "max_quarantine_ratio": float(max_ratio),
    }
    if quarantined:
        metadata["quarantined"] = MetadataValue.md(
            reasons_markdown(dict(sorted(quarantined.items())), "model", "reason", limit=MAX_LISTED)
        )
    return {
        "passed": not quarantined,
        "severity": AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
        "description": (
            None if not quarantined
            else f"{provider}: {len(quarantined)} of {snapshot.models_seen} models unreadable "
            + ("(above the limit): nothing is published." if blocking else "; they keep their published prices.")
        ),
        "metadata": metadata,
    }


def catalog_replaced(inputs: SnapshotInputs) -> dict:
    """Most established models gone and many unknown ones added: another catalog, not a day's
    change. Cannot be judged per model, so it blocks (accept_all publishes it anyway)."""
    provider, override, snapshot = inputs.provider, inputs.override, inputs.snapshot
    store = inputs.pricing_db.store
    baseline = frozenset(store.baseline_model_ids(provider)) - set(snapshot.quarantined)
    live_ids = store.live_model_ids(provider)
    problem = guard.catalog_replaced(
        dict.fromkeys(live_ids), [r.model_id for r in snapshot.records], settings().guard_thresholds, baseline
    )
    accepted = problem is not None and override.accept_all and override.problem() is None
    return {
        "passed": problem is None or accepted,
        "severity": AssetCheckSeverity.ERROR,
        "description": None if problem is None else (
            f"{provider}: {problem}: "
            + (f"accepted by {override.accepted_by}: {override.reason}" if accepted else "nothing is published.")
        ),
        "metadata": {"provider": provider, "models_established": len(baseline), "accepted": accepted},
    }


def unknown_keys(inputs: SnapshotInputs) -> dict:
    unknown = inputs.snapshot.unknown_keys
    metadata: dict = {"provider": inputs.provider, "unknown_pricing_keys": len(unknown)}
    if unknown:
        metadata["keys"] = MetadataValue.md(reasons_markdown(dict(sorted(unknown.items())), "key", "models"))
    return {
        "passed": not unknown,
        "severity": AssetCheckSeverity.WARN,
        "description": (
            f"{inputs.provider}: {len(unknown)} pricing key(s) not read: {', '.join(sorted(unknown)[:10])}"
            if unknown else None
        ),
        "metadata": metadata,
    }


@dataclass(frozen=True)
class SnapshotCheck:
    name: str
    description: str
    blocking: bool
    evaluate: Callable[[SnapshotInputs], dict]  # AssetCheckResult's arguments


SNAPSHOT_CHECKS = (
    SnapshotCheck(
        "normalized_prices_schema",
        "Every record belongs to this provider, has a model id, Decimal prices and well-formed tiers.",
        True,
        records_with_a_problem(schema_problem),
    ),
    SnapshotCheck(
        "normalized_prices_finite_non_negative",
        "Every price is a finite, non-negative number.",
        True,
        records_with_a_problem(negative_or_infinite_price),
    ),
    SnapshotCheck(
        "normalized_prices_model_count",
        "The snapshot has at least half as many models as are published: a partial response must not look "
        "like mass removal. A real mass removal is accepted with the price guard override's accept_all "
        "(and its mandatory reason).",
        True,
        model_count,
    ),
    SnapshotCheck(
        "normalized_prices_quarantine",
        "Models whose upstream entries could not be read are quarantined: they keep their published prices "
        "(neither changed nor removed) and are listed here with the reason (a warning). More than "
        "PRICING_MAX_QUARANTINE_RATIO (10%) of the snapshot quarantined blocks the publish.",
        True,
        quarantine,
    ),
    SnapshotCheck(
        "normalized_prices_catalog_replaced",
        "Not another catalog: a snapshot with most established models gone and as many unknown ones added is "
        "blocked as a whole (a wrong endpoint or another provider's list); per-model holds cannot judge it.",
        True,
        catalog_replaced,
    ),
    SnapshotCheck(
        "normalized_prices_unknown_keys",
        "Pricing keys the provider sent that no adapter rule reads (schema drift): listed with the number of "
        "models carrying each. A warning; the prices we do read are published.",
        False,
        unknown_keys,
    ),
)


@multi_asset_check(
    name="normalized_prices_checks",
    specs=[
        AssetCheckSpec(
            check.name,
            asset=normalized_prices,
            description=check.description,
            blocking=check.blocking,
            partitions_def=provider_partitions,
        )
        for check in SNAPSHOT_CHECKS
    ],
    ins={"normalized_prices": AssetIn(key=normalized_prices.key)},
    # Not subsettable: the six checks are one execution set, so Dagster's UI marks them
    # "cannot execute without materializing the asset" instead of offering "Execute all",
    # which in 1.13 launches them with no partition (the asset page's button ignores the
    # checks' partitions) and crashed on loading the snapshot. They run with the asset.
    can_subset=False,
    resource_defs=GUARD_RESOURCE_DEFS,
    description="The snapshot checks, in one step: a step each bought nothing but loading the snapshot "
    "again and a process's worth of events per check.",
)
def normalized_prices_checks(
    context: AssetCheckExecutionContext,
    normalized_prices: NormalizedSnapshot,
    pricing_db: PricingDatabase,
    price_guard_override: PriceGuardOverride,
):
    selected = {key.name for key in context.selected_asset_check_keys}
    inputs = SnapshotInputs(context.partition_key, normalized_prices, pricing_db, price_guard_override.decision())
    results = [
        AssetCheckResult(
            check_name=check.name, asset_key=NORMALIZED_KEY, **attributed(check.evaluate(inputs), inputs.provider, context.run.run_id)
        )
        for check in SNAPSHOT_CHECKS
        if check.name in selected
    ]
    record_blocked(context, pricing_db, *results)
    yield from results


def attributed(result: dict, provider: str, run_id: str) -> dict:
    """Every result names its provider and run, in its description and its metadata: the UI
    shows a check's latest result next to other providers' (docs/operating.md, check states)."""
    description = result.get("description") or (
        f"{provider}: passed." if result["passed"] else f"{provider}: failed; the metadata lists why."
    )
    return {
        **result,
        "description": f"{description} (run {run_id[:8]})",
        "metadata": {"provider": provider, **result["metadata"], "run_id": run_id},
    }
