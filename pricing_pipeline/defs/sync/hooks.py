"""Close the sync log row of a failed run, whatever step failed. Called by the sync assets'
failure hook (definitions.py, on the assets, not on a job), so every launch path runs it;
runs that die without a step failing are closed by the sync log reconciler (sensors.py)."""

from dagster import HookContext

from pricing_pipeline.defs.outcomes import classify_failure
from pricing_pipeline.defs.runs import provider_of
from pricing_pipeline.defs.sync.resources import PricingDatabase


def close_failed_sync(context: HookContext) -> None:
    """Needs the ``pricing_db`` resource."""
    run = context.instance.get_run_by_id(context.run_id)
    provider = provider_of(run) if run else None
    if not provider:  # a refused run without a fetch is no sync: it has no sync log row
        return
    outcome = classify_failure(context.op_exception)
    db: PricingDatabase = context.resources.pricing_db
    db.store.fail_sync(provider, context.run_id, outcome.error_type, outcome.message, status=outcome.status)
