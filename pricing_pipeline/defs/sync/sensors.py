"""The sync log reconciler: no sync log row stays ``running`` for a run that has ended.

Steps close their own row (the publish, the failure hook, a blocking check); a run that ends
without any step saying so (worker killed and failed by run monitoring, canceled, failed
before its first step, a partial selection from the UI) is closed here, from the run's status
and event log. It runs in the daemon for every launch path."""

from __future__ import annotations

import os

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.defs.runs import reconcile_sync_log

RECONCILE_SECONDS = int(os.environ.get("PRICING_RECONCILE_SECONDS", "30"))


@sensor(
    name="sync_log_reconciler",
    minimum_interval_seconds=RECONCILE_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Closes the sync log rows of runs that ended without closing them (killed, canceled, "
    "failed before a step ran, partial selections).",
)
def sync_log_reconciler(context: SensorEvaluationContext, pricing_db: PricingDatabase):
    closed = reconcile_sync_log(context.instance, pricing_db.store)
    for run_id, status in closed.items():
        context.log.info(f"sync log of run {run_id} closed as {status}")
    return SkipReason(f"closed {len(closed)} sync log row(s)" if closed else "nothing to reconcile")
