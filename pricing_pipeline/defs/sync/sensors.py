"""The sync log reconciler: no sync log row stays ``running`` for a run that has ended.

Steps close their own row (the publish, the failure hook, a blocking check); a run that ends
without any step saying so (worker killed and failed by run monitoring, canceled, failed
before its first step, a partial selection from the UI) is closed here, from the run's status
and event log. It runs in the daemon for every launch path."""

from __future__ import annotations

import time

from dagster import DagsterInstance, DagsterRunStatus, SensorEvaluationContext, SkipReason

from pricing_pipeline.defs.instigators import running_sensor
from pricing_pipeline.defs.outcomes import outcome_from_event_log
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.settings import settings

RECONCILE_SECONDS = settings().reconcile_seconds


# Rows of runs this instance does not know are left alone for this long: the pricing
# database may be shared with another Dagster instance (a test, a second deployment).
UNKNOWN_RUN_GRACE_SECONDS = 6 * 3600


def reconcile_sync_log(instance: DagsterInstance, store, now: float | None = None) -> dict[str, str]:
    """Close every ``running`` sync log row whose run has ended, however it ended (failed,
    blocked, canceled, killed and failed by run monitoring, or succeeded without publishing
    because only part of the sync was selected). Idempotent; returns {run_id: status}."""
    now = time.time() if now is None else now
    closed: dict[str, str] = {}
    for row in store.running_syncs():
        run_id = row["run_id"]
        if not run_id:
            continue
        record = instance.get_run_record_by_id(run_id)
        if record is None:
            if now - row["started_at"].timestamp() < UNKNOWN_RUN_GRACE_SECONDS:
                continue
            status, error_type, message = "failure", None, "the run is not in the Dagster instance"
        else:
            run = record.dagster_run
            if not run.is_finished:
                continue
            if run.status == DagsterRunStatus.SUCCESS:
                status, error_type, message = "incomplete", None, "the run ended without publishing (only part of the sync was selected)"
            elif run.status == DagsterRunStatus.CANCELED:
                status, error_type, message = "canceled", None, "the run was canceled"
            else:
                outcome = outcome_from_event_log(instance, run_id)
                status, error_type, message = outcome.status, outcome.error_type, outcome.message
        store.fail_sync(row["provider"], run_id, error_type, message, status=status)
        closed[run_id] = status
    return closed


@running_sensor(
    "sync_log_reconciler",
    RECONCILE_SECONDS,
    "Closes the sync log rows of runs that ended without closing them (killed, canceled, "
    "failed before a step ran, partial selections).",
)
def sync_log_reconciler(context: SensorEvaluationContext, pricing_db: PricingDatabase):
    closed = reconcile_sync_log(context.instance, pricing_db.store)
    for run_id, status in closed.items():
        context.log.info(f"sync log of run {run_id} closed as {status}")
    return SkipReason(f"closed {len(closed)} sync log row(s)" if closed else "nothing to reconcile")
