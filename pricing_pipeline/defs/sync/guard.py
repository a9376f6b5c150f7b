"""The price guard inside the publish: one check per rule of
:mod:`pricing_pipeline.pricing.guard` on ``published_prices``, evaluated by the publish step
itself from the very decision it published with (pricing/holds.py).

The guard decides per model: a flagged model is *held* (its published prices stay, a new
model waits), everything else publishes. A check that holds models is a warning (the run
succeeds), listing each held model with the rule, published and proposed prices and since
when; a person accepts or rejects with ``pricing-pipeline accept|reject`` or the
``price_review_job``. What cannot be judged per model (a replaced catalog, too few models,
too many unreadable) blocks the snapshot before the publish (checks.py).
"""

from __future__ import annotations

from datetime import datetime

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.runs import PUBLISHED_KEY
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.pricing.guard import RULES
from pricing_pipeline.pricing.guard_settings import GuardOverride, GuardThresholds
from pricing_pipeline.pricing.holds import Hold, Verdict
from pricing_pipeline.pricing.model_ids import display_id
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.pricing.units import decimal_str
from pricing_pipeline.providers.registry import ADAPTERS

MAX_LISTED = 25
CHECK_PREFIX = "price_guard_"
REVIEW_HINT = (
    "A person decides: `pricing-pipeline held`, then `pricing-pipeline accept|reject --provider P --model M --by NAME "
    "--reason TEXT` (or launch price_review_job). Until then the published prices stay live."
)


def check_name(rule: str) -> str:
    return CHECK_PREFIX + rule


REFERENCE_CATALOGS = [name for name, adapter in ADAPTERS.items() if adapter.upstream.reference_catalog]


def check_description(spec) -> str:
    text = spec.description + " Flagged models are held for a person (a warning); the rest publishes."
    if not spec.judges_changes:
        text += (
            f" On a reference catalog ({', '.join(REFERENCE_CATALOGS)}) nothing is held: every listed price is "
            "judged each sync, and the result warns while an implausible one stays listed."
        )
    return text


GUARD_CHECK_SPECS = [
    AssetCheckSpec(
        check_name(name),
        asset=PUBLISHED_KEY,
        description=check_description(spec),
        partitions_def=provider_partitions,
    )
    for name, spec in RULES.items()
]


def guard_results(
    provider: str,
    run_id: str,
    verdict: Verdict,
    held_since: dict[str, datetime],
    override: GuardOverride,
    checked: int,
    thresholds: GuardThresholds,
) -> list[AssetCheckResult]:
    """One result per rule, from the verdict the publish applied."""
    results = []
    for rule, spec in RULES.items():
        offenders = verdict.results.get(rule, {})
        held = {m: h for m, h in verdict.held.items() if rule in h.rules}
        silenced = {m: h for m, h in verdict.silenced.items() if rule in h.rules}
        accepted = {m: h for m, h in verdict.accepted.items() if rule in h.rules}
        warned = verdict.warned.get(rule, {})
        if held:
            description = (
                f"{provider}: {len(held)} model(s) held by {rule} ({named(held)}); the rest of the snapshot is "
                "published. " + REVIEW_HINT
            )
        elif warned:
            description = (
                f"{provider}: {len(warned)} implausible price(s) in this reference catalog ({rule}); published with "
                "this warning: they are upstream catalog errors, not prices we resell."
            )
        elif accepted:
            description = f"{provider}: {len(accepted)} flagged model(s) accepted by {override.accepted_by}: {override.reason}"
        else:
            description = f"{provider}: passed."
        # Named in the text too: the UI shows the latest result of any provider first.
        description = f"{description} (run {run_id[:8]})"
        metadata = {
            "provider": provider,
            "run_id": run_id,
            "models_checked": checked,
            "flagged_models": len(offenders),
            "held_models": len(held),
            "rejected_proposals": len(silenced),
            "accepted_models": len(accepted),
            **{f"threshold_{t}": str(getattr(thresholds, t)) for t in spec.thresholds},
        }
        if held or silenced or accepted:
            metadata["held"] = MetadataValue.md(holds_markdown({**held, **silenced, **accepted}, held_since, verdict))
        elif warned:
            metadata["warnings"] = MetadataValue.md(markdown.table(dict(sorted(warned.items())), "model", "problem", MAX_LISTED))
        if accepted:
            metadata["accepted_by"] = override.accepted_by
            metadata["accept_reason"] = override.reason
        results.append(
            AssetCheckResult(
                check_name=check_name(rule),
                asset_key=PUBLISHED_KEY,
                passed=not held and not warned,
                severity=AssetCheckSeverity.WARN,
                description=description,
                metadata=metadata,
            )
        )
    return results


def named(models: dict, shown: int = 3) -> str:
    """The first few model ids (shortened; the UI shows descriptions as plain text), and how
    many more."""
    ids = sorted(models)
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(display_id(m, 80) for m in ids[:shown]) + more


def holds_markdown(rows: dict[str, Hold], held_since: dict[str, datetime], verdict: Verdict, limit: int = MAX_LISTED) -> str:
    """Held models first, then rejected proposals still sent, then accepted ones; capped."""

    def status(model_id: str) -> str:
        if model_id in verdict.held:
            return "**held**"
        return "rejected earlier" if model_id in verdict.silenced else "accepted"

    order = sorted(rows, key=lambda m: (status(m) != "**held**", m))
    lines = ["| model | problem | published | proposed | held since | status |", "|---|---|---|---|---|---|"]
    for model_id in order[:limit]:
        hold = rows[model_id]
        since = held_since.get(model_id)
        lines.append(
            f"| {markdown.code(model_id)} | {markdown.text(hold.reason)} | {_prices(hold.published)} "
            f"| {_prices(hold.proposed)} | {since.isoformat(timespec='minutes') if since else ''} | {status(model_id)} |"
        )
    if len(order) > limit:
        lines.append(f"\n… and {len(order) - limit} more ({len(order)} in all).")
    return "\n".join(lines)


def _prices(record: PriceRecord | None) -> str:
    if record is None:
        return "—"
    if record.variable_pricing:
        return "variable"
    shown = [f"{c.label()} {decimal_str(c.usd) if c.usd is not None else 'unknown'}" for c in record.components()[:4]]
    more = len(record.components()) - len(shown)
    return markdown.text(", ".join(shown) + (f" (+{more})" if more > 0 else ""))

