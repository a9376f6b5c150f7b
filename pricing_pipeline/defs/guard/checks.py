"""The price guard as blocking asset checks on ``normalized_prices``, one per rule of
:mod:`pricing_pipeline.pricing.guard`.

All rules run in one step (one read of the published prices, one load of the snapshot) and
report one check result each. A failing check blocks ``published_prices``: nothing of the
provider's snapshot is written and the previous prices stay live; the check's metadata
lists the offending models (capped) with a count. Offenders accepted through the
``price_guard_override`` resource pass, and the metadata says who accepted them and why.
"""



from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    MetadataValue,
    multi_asset_check,
)

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.sync.assets import normalized_prices
from pricing_pipeline.defs.sync.checks import record_blocked
from pricing_pipeline.defs.sync.override import GUARD_RESOURCE_DEFS, OVERRIDE_RESOURCE_KEY, PriceGuardOverride
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing.guard import RULES, GuardOverride, Offenders
from pricing_pipeline.pricing.records import NormalizedSnapshot
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.settings import settings

MAX_LISTED = 25
CHECK_PREFIX = "price_guard_"


def check_name(rule: str) -> str:
    return CHECK_PREFIX + rule


GUARD_CHECK_SPECS = [
    AssetCheckSpec(
        check_name(name),
        asset=normalized_prices,
        description=spec.description,
        blocking=True,
        partitions_def=provider_partitions,
    )
    for name, spec in RULES.items()
]


@multi_asset_check(
    name="price_guard",
    specs=GUARD_CHECK_SPECS,
    ins={"normalized_prices": AssetIn(key=normalized_prices.key)},
    can_subset=True,
    resource_defs=GUARD_RESOURCE_DEFS,
    description="The price guard: no suspicious price reaches the gateway without an operator accepting it.",
)
def price_guard(
    context: AssetCheckExecutionContext,
    normalized_prices: NormalizedSnapshot,
    pricing_db: PricingDatabase,
    price_guard_override: PriceGuardOverride,
):
    provider = context.partition_key
    thresholds = settings().guard_thresholds
    published = pricing_db.store.published_against(provider, normalized_prices.records)
    # quarantined models are listed upstream: not removals
    baseline = frozenset(pricing_db.store.baseline_model_ids(provider)) - set(normalized_prices.quarantined)
    override = price_guard_override.decision()
    selected = {key.name for key in context.selected_asset_check_keys}
    reference_catalog = get_adapter(provider).reference_catalog
    results = []
    for name, spec in RULES.items():
        if check_name(name) not in selected:
            continue
        offenders = spec.evaluate(published, normalized_prices.records, thresholds, baseline)
        results.append(guard_result(
            name,
            offenders,
            override,
            checked=len(normalized_prices.records),
            thresholds={t: str(getattr(thresholds, t)) for t in spec.thresholds},
            severity=(
                AssetCheckSeverity.WARN
                if reference_catalog and not spec.judges_changes
                else AssetCheckSeverity.ERROR
            ),
            provider=provider,
        ))
    record_blocked(context, pricing_db, *results)
    yield from results


def guard_result(
    rule: str,
    offenders: Offenders,
    override: GuardOverride,
    checked: int,
    thresholds: dict[str, str],
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    provider: str | None = None,
) -> AssetCheckResult:
    problem = override.problem()
    who = f"{provider}: " if provider else ""
    accepted = {m for m in offenders if override.accepts(m)}
    blocking = {m for m in offenders if m not in accepted}
    passed = not blocking and problem is None
    if problem:
        description = f"{who}override rejected: {problem}. Nothing is published."
    elif blocking and severity == AssetCheckSeverity.WARN:
        description = who + (
            f"{len(blocking)} implausible price(s) in this reference catalog ({rule}); published with this "
            "warning: they are upstream catalog errors, not prices we resell."
        )
    elif blocking:
        description = who + (
            f"{len(blocking)} model(s) blocked by {rule}; nothing is published. If the prices are right, "
            f"re-launch this provider's run with resources.{OVERRIDE_RESOURCE_KEY}.config: accept_models "
            "(or accept_all), reason and accepted_by."
        )
    elif accepted:
        description = f"{who}{len(accepted)} flagged model(s) accepted by {override.accepted_by}: {override.reason}"
    else:
        description = None
    metadata = {
        **({"provider": provider} if provider else {}),
        "models_checked": checked,
        "offending_models": len(offenders),
        "blocking_models": len(blocking),
        "accepted_models": len(accepted),
        **{f"threshold_{name}": value for name, value in thresholds.items()},
    }
    if offenders:
        metadata["offenders"] = MetadataValue.md(offenders_markdown(offenders, accepted))
    if accepted:
        metadata["accepted_by"] = override.accepted_by
        metadata["accept_reason"] = override.reason
    return AssetCheckResult(
        check_name=check_name(rule),
        asset_key=normalized_prices.key,
        passed=passed,
        severity=severity,
        description=description,
        metadata=metadata,
    )


def offenders_markdown(offenders: Offenders, accepted: set[str], limit: int = MAX_LISTED) -> str:
    """Blocking offenders first, then accepted ones; capped at ``limit`` rows."""
    rows = sorted(offenders.items(), key=lambda item: (item[0] in accepted, item[0]))
    lines = ["| model | problem | status |", "|---|---|---|"]
    for model_id, reason in rows[:limit]:
        status = "accepted" if model_id in accepted else "**blocking**"
        lines.append(f"| {markdown.code(model_id)} | {markdown.text(reason)} | {status} |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more ({len(rows)} in all).")
    return "\n".join(lines)
