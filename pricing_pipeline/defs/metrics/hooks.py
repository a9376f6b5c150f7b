"""Hooks on every step of the sync assets, whatever job runs them: record what only the run
itself knows, then push.

After each step the run records, in its own run tags, its CPU time and peak memory so far
(the last step's numbers are the run's) and, when a step failed, the outcome of the failure
classified from the step's exception (outcomes.classify_failure: blocked by a price check,
or the error type). These are facts of the run, kept in the instance's run storage like every
other source the metrics are derived from.

When the publish succeeded or a step failed, the hook also pushes the metrics (without the
heartbeat, see publisher.py): the last publish, request/publish durations and failed attempts
are in Prometheus before the run-status sensor's next tick. The hook never fails or holds up
the run for long: everything is caught and logged, the push has a short timeout and gives up
the push lock after a short wait (the sensors catch up).
"""

from __future__ import annotations

from dagster import HookContext, success_hook

from pricing_pipeline.defs.metrics import usage
from pricing_pipeline.defs.metrics.publisher import publish_metrics
from pricing_pipeline.defs.outcomes import (
    RUN_OUTCOME_TAG,
    classify_failure,
    decode_outcome,
    encode_outcome,
    more_severe,
)
from pricing_pipeline.defs.runs import RUN_USAGE_TAG

PUBLISH_STEP = "published_prices"
HOOK_LOCK_TIMEOUT_SECONDS = 2.0


def _after_step(context: HookContext, failed: bool) -> None:
    publisher = context.resources.metrics
    if not publisher.enabled:
        return
    run_id = context.run_id
    try:
        measured = usage.since(publisher.usage_baseline)
        tags = {RUN_USAGE_TAG: usage.encode_usage(run_id, measured)}
        if failed:
            run = context.instance.get_run_by_id(run_id)
            recorded = decode_outcome(run.tags, run_id) if run else None
            outcome = more_severe(recorded, classify_failure(context.op_exception))
            if outcome != recorded:
                tags[RUN_OUTCOME_TAG] = encode_outcome(run_id, outcome)
        context.instance.add_run_tags(run_id, tags)
    except Exception as exc:  # noqa: BLE001 - metrics never fail a sync
        context.log.warning(f"metrics: could not record the run's usage/outcome ({type(exc).__name__}: {exc})")
    if failed or context.step_key == PUBLISH_STEP:
        try:
            run = context.instance.get_run_by_id(run_id)
            location = run.remote_job_origin.location_name if run and run.remote_job_origin else None
        except Exception:  # noqa: BLE001 - only narrows the schedule-state lookup
            location = None
        publish_metrics(
            context.instance,
            publisher,
            heartbeat=False,
            log=context.log,
            location_name=location,
            lock_timeout_seconds=HOOK_LOCK_TIMEOUT_SECONDS,
        )


@success_hook(required_resource_keys={"metrics"})
def metrics_after_step(context: HookContext) -> None:
    """Record the run's resource use; push after the publish."""
    _after_step(context, failed=False)


def metrics_after_failed_step(context: HookContext) -> None:
    """Record the run's resource use and how the step failed; push. Called by the sync assets'
    one failure hook (definitions.py); needs the ``metrics`` resource."""
    _after_step(context, failed=True)
