"""A person's decision on the models the price guard held: ``price_review_job``.

One run per decision, on the provider's partition (so dagster.yaml's one-run-per-provider
limit queues it behind a running sync, and the store's provider lock serializes it with any
publish). Accept publishes the proposals stored with the holds, without a re-fetch, audited in
the change log (``accepted_by``, ``accept_reason``, the run id); reject keeps the published
prices and silences the proposal until upstream changes it. From the UI: Jobs →
price_review_job → choose the provider partition, then in the launchpad::

    ops:
      review_held_prices:
        config:
          decision: accept          # or reject
          models: ["openai/gpt-5"]  # or all: true
          by: "jane.doe"
          reason: "OpenAI's pricing page lists the new price (2026-11-20)"

``pricing-pipeline accept|reject`` submits the same run, and each row of the ``held_prices``
asset links to this launchpad with the partition and config filled in (held.py).
"""

from dagster import AssetObservation, Config, Failure, MetadataValue, OpExecutionContext, in_process_executor, job, op
from pydantic import Field

from pricing_pipeline.defs.runs import DECIDED_BY_TAG, PUBLISHED_KEY, REVIEW_JOB_NAME
from pricing_pipeline.defs.sync.freshness import FRESHNESS_KEY, freshness_evaluation, freshness_overview
from pricing_pipeline.defs.sync.held import guard_checks_after_review, held_observation
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.store.review import DECISIONS, ReviewError


class HoldDecision(Config):
    decision: str = Field(description="accept (publish the held proposals) or reject (keep the published prices).")
    models: list[str] = Field(default=[], description="Held model ids to decide (a mass-change group is decided whole).")
    all: bool = Field(default=False, description="Decide every model held for this provider.")
    by: str = Field(description="Who decides (recorded in the change log).")
    reason: str = Field(description="Why (recorded in the change log).")
    expected_proposals: dict[str, str] = Field(
        default={},
        description="Model id -> the proposal (price fingerprint) the person saw, filled in by held_prices' accept / "
        "reject links and by the CLI: if upstream has replaced that proposal since, the run refuses instead of "
        "deciding one nobody saw. Leave it {} to decide whatever is held now.",
    )


@op(description="Accept or reject the price guard's held proposals of one provider.")
def review_held_prices(context: OpExecutionContext, config: HoldDecision, pricing_db: PricingDatabase) -> None:
    provider = context.partition_key
    if config.decision not in DECISIONS:
        raise Failure(f"decision must be one of {', '.join(DECISIONS)}, not {config.decision!r}")
    models = [m.strip() for m in config.models if m.strip()]
    context.instance.add_run_tags(context.run_id, {DECIDED_BY_TAG: config.by.strip()[:200]})
    if config.all == bool(models):
        raise Failure("name the held models (models: [...]) or decide them all (all: true), not both or neither")
    try:
        result = pricing_db.store.decide_holds(
            provider, config.decision, None if config.all else models, config.by.strip(), config.reason.strip(),
            context.run_id, config.expected_proposals,
        )
    except ReviewError as error:
        raise Failure(description=str(error), metadata={"provider": provider}) from error
    held, oldest = pricing_db.store.hold_summary(provider)
    verb = "accepted" if result.decision == "accept" else "rejected"
    context.log.info(f"{provider}: {verb} {len(result.models)} held model(s) ({config.by}: {config.reason})")
    # What the metrics read of the provider's holds (defs/metrics): on the published asset's partition.
    context.log_event(
        AssetObservation(
            asset_key=PUBLISHED_KEY,
            partition=provider,
            metadata={
                "provider": provider,
                "review": verb,
                "models": ", ".join(result.models)[:2000],
                "published_changes": len(result.changes),
                "held": held,
                **({"oldest_hold_since": MetadataValue.timestamp(oldest.timestamp())} if oldest else {}),
            },
        )
    )
    # What the UI shows about holds, current at once: the guard checks of this provider from
    # the holds that remain, the held list, and the provider's freshness (its decision, its
    # held count), instead of at the next sync or freshness tick.
    decided = f"{verb} by {config.by.strip()}"
    for event in guard_checks_after_review(pricing_db, provider, context.run_id, decided):
        context.log_event(event)
    context.log_event(held_observation(pricing_db, context.run_id))
    context.log_event(freshness_evaluation(context.instance, pricing_db, provider, context.run_id))
    context.log_event(
        AssetObservation(asset_key=FRESHNESS_KEY, metadata=freshness_overview(context.instance, pricing_db, context.run_id))
    )


@job(
    name=REVIEW_JOB_NAME,
    partitions_def=provider_partitions,
    executor_def=in_process_executor,
    description="Accept or reject models the price guard held (pricing-pipeline accept | reject).",
)
def price_review_job():
    review_held_prices()
