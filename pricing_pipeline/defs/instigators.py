"""How every schedule and sensor here is declared: running from the start (a deployment needs
no clicks), schedules on UTC crons with one run per tick (keyed by the tick, so a daemon that
evaluates a tick twice launches nothing twice)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, DefaultSensorStatus, RunRequest, ScheduleEvaluationContext, schedule, sensor


def tick_key(context: ScheduleEvaluationContext) -> str:
    return context.scheduled_execution_time.strftime("%Y%m%dT%H%M")


def utc_schedule(cron: str, job, description: str, name: str | None = None):
    """The ``@schedule`` decorator as every schedule here uses it."""
    return schedule(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=description,
    )


def one_run_per_tick(name: str, cron: str, job, description: str):
    """A schedule requesting one run of ``job`` per tick."""

    @utc_schedule(cron, job, description, name=name)
    def request_run(context: ScheduleEvaluationContext):
        return RunRequest(run_key=tick_key(context))

    return request_run


def running_sensor(name: str, interval_seconds: int, description: str, running: bool = True):
    """The ``@sensor`` decorator as every sensor here uses it (``running=False``: a sensor
    whose work is off in this deployment starts stopped, and its description says why)."""
    return sensor(
        name=name,
        minimum_interval_seconds=interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=description,
    )
