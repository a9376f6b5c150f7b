"""``bill_reconciliation``: the one guard that checks our prices against the provider's own
ledger. Per provider partition, every bill a gateway stored in ``billed_requests`` since the
last run (the bills without a reconciliation) is billed with our prices live when it was
created, at the endpoint that served it, and compared with what the provider charged
(gateway/reconcile.py); one ``bill_reconciliations`` row per bill. Runs after each successful
sync of the provider and hourly (jobs.py)."""


from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.bills.checks import BILLS_CHECK_SPEC, bills_match_prices
from pricing_pipeline.defs.bills.reconciliation import Mismatch, RunSummary, ledger_facts, reconcile_pending
from pricing_pipeline.defs.runs import BILLS_KEY
from pricing_pipeline.defs.sync.assets import GROUP, published_prices
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.gateway.reconcile import OUTCOMES
from pricing_pipeline.pricing.units import decimal_str
from pricing_pipeline.store import bills as stored


@asset(
    key=BILLS_KEY,
    group_name=GROUP,
    partitions_def=provider_partitions,
    deps=[published_prices],
    kinds={"python"},
    check_specs=[BILLS_CHECK_SPEC],
    description="The provider's bills (billed_requests, appended by a gateway) reconciled against our prices at the "
    "endpoint that served each request: exact, within 1%, off, or error.",
)
def bill_reconciliation(context: AssetExecutionContext, pricing_db: PricingDatabase):
    provider = context.partition_key
    store = pricing_db.store
    summary = reconcile_pending(store, provider, run_id=context.run.run_id, log=context.log)
    facts = ledger_facts(store, provider, datetime.now(UTC))
    yield MaterializeResult(
        metadata={**summary_metadata(summary), **facts,
                  "worst_mismatches": MetadataValue.md(mismatches_markdown(summary.worst))},
        check_results=[bills_match_prices(provider, stored.disagreements(store, provider))],
    )


def summary_metadata(summary: RunSummary) -> dict:
    metadata = {
        "reconciled": summary.reconciled,
        **{outcome: summary.counts[outcome] for outcome in OUTCOMES},
        "fees_usd": decimal_str(summary.fees_usd),
        "before_history": summary.before_history,
    }
    if summary.exact_share is not None:
        metadata["exact_share"] = round(summary.exact_share, 6)
    if summary.load_seconds is not None:
        metadata["price_book_load_seconds"] = round(summary.load_seconds, 3)
    return metadata


def mismatches_markdown(rows: list[Mismatch]) -> str:
    if not rows:
        return "Every bill of this run matched our price exactly (or there was none)."
    lines = ["| request | model | upstream provider | outcome | ours (USD) | billed (USD) | difference | error |",
             "|---|---|---|---|---|---|---|---|"]
    for m in rows:
        lines.append(
            f"| {markdown.code(m.request_id, 60)} | {markdown.code(m.model_id)} "
            f"| {markdown.text(m.upstream_provider or '(headline)')} | {m.outcome} "
            f"| {decimal_str(m.ours_usd) or ''} | {decimal_str(m.billed_usd) or ''} "
            f"| {decimal_str(m.difference_usd) or ''} | {markdown.text(m.error or '', 160)} |"
        )
    return "\n".join(lines)
