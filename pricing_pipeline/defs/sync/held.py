"""What the UI shows about held models, current after every publish and every review.

- ``held_prices``: an observable asset, one click from the catalog, whose latest observation
  is the table of every held model (provider, model, rule, published vs proposed, since when)
  with, per model, a ready-made accept and reject: a link to ``price_review_job``'s launchpad
  with the provider's partition and the config filled in (the model, the proposal shown),
  leaving ``by`` and ``reason`` to type. Observed by each publish and each review, and by its
  own Observe button.
- A review run (accept / reject) reports the guard checks' results for its provider from the
  holds that remain, so no check stays "held" for a model a person has decided.
"""

import json
from datetime import datetime
from urllib.parse import quote

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetObservation,
    AssetSpec,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.runs import HELD_KEY, PARTITION_TAG, PUBLISHED_KEY, REVIEW_JOB_NAME
from pricing_pipeline.defs.sync.guard import check_name
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing.guard import RULES
from pricing_pipeline.store.rows import record_from_json

GROUP = "pricing"
LOCATION_NAME = "pricing_pipeline"  # workspace.yaml, pyproject.toml [tool.dagster] / [tool.dg]
REPOSITORY = "__repository__"  # Dagster's name for a code location's one Definitions
MAX_SHOWN = 100
DESCRIPTION = (
    "Every model the price guard holds for a person, with rule, published vs proposed prices and since when; "
    "per model an accept and a reject link open price_review_job's launchpad with the provider and the model "
    "filled in (type by and reason, then Launch Run). Observed after each publish and each review (and by Observe); "
    "the latest observation's held table is the current list. pricing-pipeline held lists the same."
)


def launchpad_url(provider: str, decision: str, model_id: str, proposal: str) -> str:
    """price_review_job's launchpad for one held model, the config filled in but for who and why.
    ``expected_proposals`` is the proposal shown here: if upstream has replaced it by the time
    of the launch, the run refuses instead of deciding a proposal nobody saw."""
    config = "\n".join([
        "ops:",
        "  review_held_prices:",
        "    config:",
        f"      decision: {decision}",
        f"      models: [{json.dumps(model_id)}]",
        '      by: ""        # your name',
        '      reason: ""    # why (kept in the change log)',
        f"      expected_proposals: {{{json.dumps(model_id)}: {json.dumps(proposal)}}}",
    ])
    query = (
        f"config={quote(config, safe='')}"
        f"&tags[0][key]={quote(PARTITION_TAG, safe='')}&tags[0][value]={quote(provider, safe='')}"
    )
    return f"/locations/{REPOSITORY}@{LOCATION_NAME}/jobs/{REVIEW_JOB_NAME}/playground/setup?{query}"


def prices(record_json: dict | None) -> str:
    if record_json is None:
        return "—"
    record = record_from_json(record_json)
    if record.variable_pricing:
        return "variable"
    shown = [f"{c.label()} {c.usd if c.usd is not None else 'unknown'}" for c in record.components()[:3]]
    more = len(record.components()) - len(shown)
    return markdown.text(", ".join(shown) + (f" (+{more})" if more > 0 else ""))


def held_table(rows: list[dict]) -> str:
    if not rows:
        return "Nothing is held."
    lines = [
        "| provider | model | rule | reason | published | proposed | held since | decide |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows[:MAX_SHOWN]:
        since: datetime = row["held_since"]
        links = " · ".join(
            f"[{decision}]({launchpad_url(row['provider'], decision, row['model_id'], row['proposal'])})"
            for decision in ("accept", "reject")
        )
        lines.append(
            f"| {row['provider']} | {markdown.code(row['model_id'])} | {markdown.text(row['rules'])} "
            f"| {markdown.text(row['reason'])} | {prices(row['published'])} | {prices(row['proposed'])} "
            f"| {since:%Y-%m-%d %H:%M} UTC | {links} |"
        )
    if len(rows) > MAX_SHOWN:
        lines.append(f"\n… and {len(rows) - MAX_SHOWN} more (pricing-pipeline held).")
    return "\n".join(lines)


def held_metadata(pricing_db: PricingDatabase, run_id: str) -> dict:
    rows = pricing_db.store.held()
    providers = sorted({row["provider"] for row in rows})
    summary = (
        f"{len(rows)} model(s) held: " + ", ".join(f"{p} {sum(r['provider'] == p for r in rows)}" for p in providers)
        if rows else "Nothing is held."
    )
    return {
        "summary": summary,
        "held_models": len(rows),
        "held": MetadataValue.md(held_table(rows)),
        "run_id": run_id,
    }


def held_observation(pricing_db: PricingDatabase, run_id: str) -> AssetObservation:
    """The current held list, as a publish or a review reports it."""
    return AssetObservation(asset_key=HELD_KEY, metadata=held_metadata(pricing_db, run_id))


# Observable, as price_freshness (the same beta decorator, pricing_pipeline/__init__.py): the
# catalog lists it, its page shows the latest observation, Observe refreshes it.
@multi_observable_source_asset(specs=[AssetSpec(HELD_KEY, group_name=GROUP, kinds={"sql"}, description=DESCRIPTION)])
def held_prices(context: AssetExecutionContext, pricing_db: PricingDatabase):
    yield ObserveResult(asset_key=HELD_KEY, metadata=held_metadata(pricing_db, context.run.run_id))


def guard_checks_after_review(pricing_db: PricingDatabase, provider: str, run_id: str, decided: str) -> list[AssetCheckEvaluation]:
    """One result per guard rule on the provider's partition, from the holds that remain
    after a review: a rule still holding models warns and lists them, the others pass."""
    rows = pricing_db.store.held(provider)
    evaluations = []
    for rule in RULES:
        held = [row for row in rows if rule in row["rules"].split(",")]
        if held:
            named = ", ".join(row["model_id"] for row in held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
            description = f"{provider}: {len(held)} model(s) still held by {rule} ({named}) after {decided}."
        else:
            description = f"{provider}: nothing held by {rule} after {decided}."
        evaluations.append(
            AssetCheckEvaluation(
                asset_key=PUBLISHED_KEY,
                check_name=check_name(rule),
                passed=not held,
                severity=AssetCheckSeverity.WARN,
                description=f"{description} (run {run_id[:8]})",
                partition=provider,
                metadata={
                    "provider": provider,
                    "run_id": run_id,
                    "held_models": len(held),
                    **({"held": MetadataValue.md(held_table(held))} if held else {}),
                },
            )
        )
    return evaluations
