"""Sensors that push the metrics: a heartbeat about once a minute and one push per finished
sync run (success, failure, cancellation). Run-status sensors run in the daemon, so they also
see runs whose worker died (run monitoring fails them). Both compute everything from the
instance (derivation.py), so a tick evaluated twice pushes the same values twice."""

from __future__ import annotations

import os

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_status_sensor,
)

from pricing_pipeline.defs.instigators import running_sensor
from pricing_pipeline.defs.metrics.publisher import publish_for_finished_run, publish_metrics
from pricing_pipeline.defs.metrics.resources import PUBLISHING_OFF, MetricsPublisher
from pricing_pipeline.defs.metrics.run_facts import pool_connections
from pricing_pipeline.defs.runs import is_sync_run
from pricing_pipeline.settings import settings

HEARTBEAT_SECONDS = settings().metrics_heartbeat_seconds
# With no Pushgateway the metrics sensors have nothing to do: they start stopped instead of
# reading "Running, 0 runs requested", and their page says why. Read when the code location
# loads (the daemon's and the webserver's), like the resource's URL.
PUBLISHING = bool(os.environ.get("PRICING_PUSHGATEWAY_URL", "").strip())
OFF_NOTE = (
    " Starts stopped while PRICING_PUSHGATEWAY_URL is unset (metrics publishing off: nothing to push); "
    "set it and reload the code location, and it starts running."
)
RUN_STATUS_SENSOR_SECONDS = settings().metrics_run_sensor_seconds


def _location_name(context) -> str | None:
    origin = getattr(context, "code_location_origin", None)
    return origin.location_name if origin else None


def _heartbeat(context: SensorEvaluationContext, metrics: MetricsPublisher):
    pool_connections(context.instance)  # this evaluation's own instance
    result = publish_metrics(context.instance, metrics, heartbeat=True, log=context.log, location_name=_location_name(context))
    return SkipReason(result.message)


def _on_run_finished(context: RunStatusSensorContext, metrics: MetricsPublisher) -> SkipReason | None:
    """None when publishing is on: the sensor goes on with the other runs that finished in this
    tick, and Dagster notes "Sensor ... acted on run status" in each run's log. A SkipReason when
    it is off, so no run's log claims an action: the tick reads skipped with the reason and the
    cursor moves past this run only (Dagster ends the tick at the first non-None return; the
    next run waits for the next tick, harmless with nothing to do). ``metrics.enabled`` is
    fixed for a tick, so a tick never mixes the two (Dagster fails a tick that does)."""
    if not metrics.enabled:
        return SkipReason(PUBLISHING_OFF)
    run = context.dagster_run
    if not is_sync_run(run):
        return None
    record = context.instance.get_run_record_by_id(run.run_id)
    publish_for_finished_run(
        context.instance,
        metrics,
        record.end_time if record else None,
        log=context.log,
        location_name=_location_name(context),
    )
    return None


def _sensors(publishing: bool) -> list:
    """The metrics sensors, started running when publishing is on (``publishing``)."""
    heartbeat = running_sensor(
        "pricing_metrics_heartbeat",
        HEARTBEAT_SECONDS,
        "Pushes every pricing metric, recomputed from the run history, and the publisher "
        "heartbeat to the Pushgateway (PRICING_PUSHGATEWAY_URL) about once a minute." + OFF_NOTE,
        running=publishing,
    )(_heartbeat)
    # monitor_all_code_locations, not monitored_jobs=[price_sync_job]: sync runs also come from
    # the implicit asset job (catalog, backfills, GraphQL); _on_run_finished keeps the sync runs.
    run_sensor_args = {
        "monitor_all_code_locations": True,
        "minimum_interval_seconds": RUN_STATUS_SENSOR_SECONDS,
        "default_status": DefaultSensorStatus.RUNNING if publishing else DefaultSensorStatus.STOPPED,
    }

    def push_when_a_sync_run(status: DagsterRunStatus, outcome: str, what: str):
        @run_status_sensor(
            name=f"pricing_metrics_on_sync_{outcome}",
            run_status=status,
            description=f"Pushes the pricing metrics when a sync run {what}." + OFF_NOTE,
            **run_sensor_args,
        )
        def push(context: RunStatusSensorContext, metrics: MetricsPublisher):
            return _on_run_finished(context, metrics)

        return push

    return [
        heartbeat,
        push_when_a_sync_run(DagsterRunStatus.SUCCESS, "success", "succeeds"),
        push_when_a_sync_run(DagsterRunStatus.FAILURE, "failure", "fails or is blocked"),
        push_when_a_sync_run(DagsterRunStatus.CANCELED, "canceled", "is canceled"),
    ]


def metrics_sensors() -> list:
    """The sensors as the code location serves them, publishing read from the environment now:
    when the definitions are built (the daemon's and the webserver's load), not when this module
    was first imported by whatever imported it first."""
    return _sensors(bool(os.environ.get("PRICING_PUSHGATEWAY_URL", "").strip()))


# As first imported (tests call them directly): the same sensors.
pricing_metrics_heartbeat, pricing_metrics_on_sync_success, pricing_metrics_on_sync_failure, \
    pricing_metrics_on_sync_canceled = METRICS_SENSORS = _sensors(PUBLISHING)
