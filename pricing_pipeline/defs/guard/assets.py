"""Cross-source consistency: the same model's price in every source we publish, compared.

An unpartitioned asset downstream of every provider's published prices. Its check warns
(it never blocks: a catalog lagging behind a provider is information, not an incident) and
lists the disagreements beyond the tolerance for the operator. Matching rules:
:mod:`pricing_pipeline.pricing.matching`.
"""

from collections import Counter

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.sync.assets import GROUP, published_prices
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing.matching import CrossSourceReport, Disagreement, cross_source_report
from pricing_pipeline.pricing.units import decimal_str
from pricing_pipeline.settings import settings

MAX_LISTED = 50
CHECK_NAME = "cross_source_agreement"


@asset(
    group_name=GROUP,
    deps=[published_prices],
    kinds={"python"},
    check_specs=[
        AssetCheckSpec(
            CHECK_NAME,
            asset="cross_source_prices",
            description="Sources that price the same model agree within the tolerance (warning only).",
        )
    ],
    description="The same model's published price in every source (provider APIs, models.dev, LiteLLM), "
    "matched and compared.",
)
def cross_source_prices(context: AssetExecutionContext, pricing_db: PricingDatabase):
    tolerance = settings().cross_source_tolerance
    report = cross_source_report((p.record for p in pricing_db.store.prices()), tolerance)
    summary = summary_metadata(report)
    table = MetadataValue.md(disagreements_markdown(report.disagreements))
    yield MaterializeResult(
        metadata={**summary, "disagreements_table": table, "sources_table": MetadataValue.md(sources_markdown(report))},
        check_results=[
            AssetCheckResult(
                check_name=CHECK_NAME,
                passed=not report.disagreements,
                severity=AssetCheckSeverity.WARN,
                description=None
                if not report.disagreements
                else f"{len(report.disagreeing_models)} of {len(report.matched)} matched models disagree by more "
                f"than {decimal_str((tolerance * 100).normalize())}% between sources",
                metadata={**summary, "disagreements_table": table},
            )
        ],
    )


def summary_metadata(report: CrossSourceReport) -> dict:
    return {
        "records": report.records,
        "sources": ", ".join(report.sources),
        "matched_models": len(report.matched),
        "matched_by_normalized_id": sum(m.rule == "normalized" for m in report.matched),
        "matched_with_provider_api": len(report.matched_with_provider_api),
        "disagreeing_models": len(report.disagreeing_models),
        "disagreeing_with_provider_api": len(report.disagreeing_with_provider_api()),
        "disagreements": len(report.disagreements),
        "tolerance_percent": float(report.tolerance * 100),
    }


def disagreements_markdown(rows: list[Disagreement], limit: int = MAX_LISTED) -> str:
    if not rows:
        return "All matched sources agree."
    ordered = sorted(rows, key=lambda d: (-d.relative_difference, d.provider, d.model_id, d.component))
    lines = [
        "| provider | model | price | reference | other source | difference |",
        "|---|---|---|---|---|---|",
    ]
    for d in ordered[:limit]:
        diff = (d.other - d.reference) / d.reference * 100 if d.reference else None
        lines.append(
            f"| {d.provider} | {markdown.code(d.model_id)} | {d.component} $/1M "
            f"| {decimal_str(d.reference)} ({_source(d.reference_source, d.reference_model_id)}) "
            f"| {decimal_str(d.other)} ({_source(d.other_source, d.other_model_id)}) "
            f"| {'new' if diff is None else f'{diff:+.0f}%'} |"
        )
    if len(ordered) > limit:
        lines.append(f"\n… and {len(ordered) - limit} more ({len(ordered)} in all), largest differences first.")
    return "\n".join(lines)


def sources_markdown(report: CrossSourceReport) -> str:
    """Disagreements per pair of sources: which catalog drifts from which API."""
    pairs = Counter((d.reference_source, d.other_source) for d in report.disagreements)
    if not pairs:
        return "No disagreements."
    lines = ["| reference | other | disagreeing prices |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {n} |" for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def _source(source: str, model_id: str) -> str:
    return f"{source} {markdown.code(model_id)}"

