"""Re-publishing a provider's stored snapshot on purpose: ``price_republish_job``.

The sync assets refuse to publish without a fetch in the same run (assets.py). When a person
does want the last fetched snapshot published again (a publish that failed on the database,
a fix of an adapter rule to apply without waiting for the next sync), this job does it as a
named, audited action:

- it reads the body the provider's latest fetch archived (``raw_price_snapshot``'s
  ``raw_snapshot_id``), parses it with today's adapter, and refuses it if a blocking snapshot
  check fails (checks.py);
- it publishes through the same guard review as a sync (held models stay held);
- every change it writes carries ``accepted_by`` / ``accept_reason`` ("re-published stored
  snapshot ...") in the change log, its sync log row reads ``republished``, and the run is
  tagged ``pricing/decided_by``;
- it reports an observation, never a materialization: freshness ("last published") and the
  metrics still date the provider's prices from its last fetch.

From the UI: Jobs → price_republish_job → pick the provider, then
``ops: {republish_stored_snapshot: {config: {by: "jane.doe", reason: "..."}}}``.
"""

from datetime import datetime, timezone

from dagster import (
    AssetObservation,
    AssetRecordsFilter,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from pricing_pipeline.defs.runs import DECIDED_BY_TAG, PUBLISHED_KEY, RAW_SNAPSHOT_KEY, REPUBLISH_JOB_NAME
from pricing_pipeline.defs.sync.checks import SNAPSHOT_CHECKS, SnapshotInputs
from pricing_pipeline.defs.sync.held import held_observation
from pricing_pipeline.defs.sync.partitions import provider_partitions
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing.guard_settings import GuardOverride
from pricing_pipeline.pricing.holds import reviewer
from pricing_pipeline.providers.errors import UpstreamError
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.settings import settings
from pricing_pipeline.store import holds
from pricing_pipeline.store.write import Acceptance

REPUBLISHED = "republished"  # its sync log status: never a sync's outcome


class Republish(Config):
    by: str = Field(description="Who re-publishes (recorded in the change log and the run's tags).")
    reason: str = Field(description="Why (recorded in the change log).")


def latest_fetch(instance, provider: str) -> tuple[int, datetime]:
    """The archived body of the provider's latest fetch, and when it was fetched."""
    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=RAW_SNAPSHOT_KEY, asset_partitions=[provider]), limit=1, ascending=False
    )
    metadata = result.records[0].asset_materialization.metadata if result.records else {}
    if "raw_snapshot_id" not in metadata:
        raise Failure(f"{provider}: refused: no fetched snapshot is stored; sync the provider instead")
    fetched_at = datetime.fromtimestamp(result.records[0].timestamp, tz=timezone.utc)
    return int(metadata["raw_snapshot_id"].value), fetched_at


@op(description="Publish the provider's latest fetched snapshot again, audited; freshness does not move.")
def republish_stored_snapshot(context: OpExecutionContext, config: Republish, pricing_db: PricingDatabase) -> None:
    provider, run_id = context.partition_key, context.run_id
    by, reason = config.by.strip(), config.reason.strip()
    if not by or not reason:
        raise Failure("a re-publish must say who (by) and why (reason)")
    context.instance.add_run_tags(run_id, {DECIDED_BY_TAG: by[:200]})
    snapshot_id, fetched_at = latest_fetch(context.instance, provider)
    try:
        snapshot = get_adapter(provider).parse_body(pricing_db.store.raw_snapshot_body(snapshot_id))
    except UpstreamError as error:
        raise Failure(f"{provider}: refused: the stored snapshot does not parse: {error}") from error
    inputs = SnapshotInputs(provider, snapshot, pricing_db, GuardOverride())
    for check in SNAPSHOT_CHECKS:
        result = check.evaluate(inputs)
        if check.blocking and not result["passed"] and result["severity"].value == "ERROR":
            raise Failure(f"{provider}: refused: the stored snapshot fails {check.name}: {result['description']}")
    note = f"re-published stored snapshot #{snapshot_id} fetched {fetched_at:%Y-%m-%d %H:%M} UTC: {reason}"
    acceptance = Acceptance(accepted_by=by, reason=note)
    published = pricing_db.store.publish(
        provider,
        snapshot.records,
        run_id=run_id,
        acceptances={record.model_id: acceptance for record in snapshot.records},
        quarantined=snapshot.quarantined,
        review=reviewer(snapshot.records, settings().guard_thresholds, None, get_adapter(provider).reference_catalog,
                        holds.canonical),
    )
    pricing_db.store.fail_sync(provider, run_id, None, note, status=REPUBLISHED, models_fetched=len(snapshot.records))
    context.log.info(f"{provider}: {note} (by {by}); {len(published.diff.changes)} change(s)")
    held, oldest = pricing_db.store.hold_summary(provider)
    context.log_event(
        AssetObservation(
            asset_key=PUBLISHED_KEY,
            partition=provider,
            description=f"{provider}: {note} (by {by}). Not a sync: freshness still dates from {fetched_at:%Y-%m-%d %H:%M} UTC.",
            metadata={
                "provider": provider,
                "republished_by": by,
                "raw_snapshot_id": snapshot_id,
                "published_changes": len(published.diff.changes),
                "held": held,
                **({"oldest_hold_since": MetadataValue.timestamp(oldest.timestamp())} if oldest else {}),
            },
        )
    )
    context.log_event(held_observation(pricing_db, run_id))


@job(
    name=REPUBLISH_JOB_NAME,
    partitions_def=provider_partitions,
    executor_def=in_process_executor,
    description="Re-publish a provider's latest fetched snapshot on purpose (by, reason); never moves freshness.",
)
def price_republish_job():
    republish_stored_snapshot()
