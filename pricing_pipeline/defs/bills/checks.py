"""``bills_match_prices``: the bills that disagree with our price since it last changed.

Evaluated with every reconciliation (the asset's own check, per provider partition). A
(model, upstream provider) is listed when some of its bills priced with the price live now
(``price_valid_from`` equal to the record's live ``valid_from``) came out ``off`` or
``within_1pct``. A sync that changes that price starts a new ``valid_from``, so the next
reconciliation's check no longer counts the bills of the old one. Warns, never blocks: the
prices stay as they are; the runbook says what to do (docs/runbooks/bills-disagree.md).
"""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from pricing_pipeline.defs import markdown
from pricing_pipeline.pricing.units import decimal_str
from pricing_pipeline.store.bills import Disagreement

CHECK_NAME = "bills_match_prices"
MAX_LISTED = 25

BILLS_CHECK_SPEC = AssetCheckSpec(
    CHECK_NAME,
    asset="bill_reconciliation",
    description="No model and upstream provider has bills that disagree with our price since that price last "
    "changed (warning only).",
)


def disagreements_markdown(rows: list[Disagreement], limit: int = MAX_LISTED) -> str:
    lines = [
        "| model | upstream provider | priced record | price since | bills off | within 1% | largest difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in rows[:limit]:
        lines.append(
            f"| {markdown.code(d.model_id)} | {markdown.text(d.upstream_provider or '(headline)')} "
            f"| {markdown.code(d.priced_model_id)} | {d.price_valid_from:%Y-%m-%d %H:%M} UTC | {d.off} "
            f"| {d.within_1pct} | {decimal_str(d.largest_difference_usd)} USD |"
        )
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more ({len(rows)} in all), largest differences first.")
    return "\n".join(lines)


def bills_match_prices(provider: str, rows: list[Disagreement]) -> AssetCheckResult:
    bills = sum(d.bills for d in rows)
    metadata = {"disagreeing_routes": len(rows), "disagreeing_bills": bills}
    if rows:
        metadata["disagreements"] = MetadataValue.md(disagreements_markdown(rows))
    return AssetCheckResult(
        check_name=CHECK_NAME,
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        description=None if not rows else (
            f"{provider}: {bills} bill(s) of {len(rows)} model/upstream route(s) disagree with the price live now; "
            "the provider probably changed a price we have not synced yet (docs/runbooks/bills-disagree.md)"
        ),
        metadata=metadata,
    )
