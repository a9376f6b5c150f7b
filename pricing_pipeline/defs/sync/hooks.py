"""Close the sync log row of a failed run, whatever step failed. Attached to the sync assets
(not to a job), so every launch path runs it; runs that die without a step failing are
closed by the sync log reconciler (sensors.py)."""

from dagster import HookContext, failure_hook

from pricing_pipeline.defs.outcomes import classify_failure
from pricing_pipeline.defs.runs import PARTITION_TAG
from pricing_pipeline.defs.sync.resources import PricingDatabase


@failure_hook(required_resource_keys={"pricing_db"})
def record_failed_sync(context: HookContext) -> None:
    run = context.instance.get_run_by_id(context.run_id)
    provider = run.tags.get(PARTITION_TAG) if run else None
    if not provider:
        return
    outcome = classify_failure(context.op_exception)
    db: PricingDatabase = context.resources.pricing_db
    db.store.fail_sync(provider, context.run_id, outcome.error_type, outcome.message, status=outcome.status)
