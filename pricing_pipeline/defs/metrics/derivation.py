"""Every metric of monitoring/METRICS.md, derived from the facts of the Dagster instance.

The instance's run history is the source of truth: each computation reads it afresh and
nothing is accumulated in memory, so a restart of the daemon, the code server, a run worker or
the Pushgateway, a retried step or a re-evaluated sensor tick can neither reset nor double
count anything. Two computations made one after the other never go down (the run history only
grows), which is what keeps the pushed counters monotonic (publisher.py serializes pushes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import DagsterInstance
from prometheus_client.utils import floatToGoString

from pricing_pipeline.defs.metrics.run_facts import (
    OutcomeResolver,
    ScheduleInfo,
    active_run_ages,
    cron_interval_hours,
    daemons_heartbeating,
    number,
    paged_events,
    scheduler_enabled,
    sync_runs,
    text,
)
from pricing_pipeline.defs.metrics.usage import RunUsage
from pricing_pipeline.defs.runs import PUBLISHED_KEY, RAW_SNAPSHOT_KEY
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES

STATUSES = ("success", "failure", "blocked", "canceled")
TRIGGERS = ("scheduled", "manual")
CHANGE_KINDS = ("added", "changed", "removed")

SYNC_DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1200, 1800)
REQUEST_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DATABASE_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bucket, not cumulative; last is +Inf
    total: float = 0.0

    def __post_init__(self):
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip((*self.buckets, math.inf), self.counts):
            running += n
            out.append((floatToGoString(bound), running))
        return out


@dataclass(frozen=True)
class LastPublish:
    timestamp: float
    models: float | None
    changes: dict[str, float]
    quarantined: float | None = None
    unknown_pricing_keys: float | None = None


@dataclass
class MetricsState:
    runs_total: dict[tuple[str, str, str], int]  # (trigger, provider, status)
    errors_total: dict[tuple[str, str], int]  # (provider, error_type)
    scheduled_duration: dict[str, Histogram]
    last_attempt: dict[str, float]
    usage: dict[str, RunUsage]
    last_publish: dict[str, LastPublish]
    request_duration: dict[str, Histogram]
    database_duration: dict[str, Histogram]
    timeouts_total: dict[str, int]
    update_errors_total: dict[str, int]
    interval_hours: float | None
    scheduler_enabled: bool | None
    computed_at: float
    active_run_age: dict[tuple[str, str], float] = field(default_factory=dict)  # (provider, state)
    daemons_heartbeating: int | None = None
    runs_read: int = 0
    events_read: int = 0
    event_log_reads: int = 0


def collect_state(
    instance: DagsterInstance,
    schedule: ScheduleInfo | None = None,
    location_name: str | None = None,
    write_back: bool = True,
    now: float | None = None,
) -> MetricsState:
    now = datetime.now(UTC).timestamp() if now is None else now
    resolver = OutcomeResolver(instance, write_back=write_back)
    runs = sync_runs(instance, resolver)

    runs_total = {(t, p, s): 0 for t in TRIGGERS for p in PROVIDER_NAMES for s in STATUSES}
    errors_total = {(p, e): 0 for p in PROVIDER_NAMES for e in ERROR_TYPES}
    scheduled_duration = {p: Histogram(SYNC_DURATION_BUCKETS) for p in PROVIDER_NAMES}
    last_attempt: dict[str, float] = {}
    usage: dict[str, tuple[float, RunUsage]] = {}
    for run in runs:
        runs_total[(run.trigger, run.provider, run.status)] += 1
        if run.error_type is not None:
            errors_total[(run.provider, run.error_type)] += 1
        if run.end_time is None:
            continue
        last_attempt[run.provider] = max(last_attempt.get(run.provider, 0.0), run.end_time)
        if run.trigger == "scheduled" and run.start_time is not None:
            scheduled_duration[run.provider].observe(max(run.end_time - run.start_time, 0.0))
        if run.usage is not None and run.end_time >= usage.get(run.provider, (-1.0, None))[0]:
            usage[run.provider] = (run.end_time, run.usage)

    events_read = 0
    request_duration = {p: Histogram(REQUEST_DURATION_BUCKETS) for p in PROVIDER_NAMES}
    for record in paged_events(instance.fetch_materializations, RAW_SNAPSHOT_KEY):
        events_read += 1
        seconds = number(record.asset_materialization.metadata, "request_seconds")
        if record.partition_key in PROVIDER_NAMES and seconds is not None:
            request_duration[record.partition_key].observe(seconds)

    database_duration = {p: Histogram(DATABASE_DURATION_BUCKETS) for p in PROVIDER_NAMES}
    last_publish: dict[str, LastPublish] = {}
    for record in paged_events(instance.fetch_materializations, PUBLISHED_KEY):  # ascending
        events_read += 1
        provider = record.partition_key
        if provider not in PROVIDER_NAMES:
            continue
        metadata = record.asset_materialization.metadata
        seconds = number(metadata, "publish_seconds")
        if seconds is not None:
            database_duration[provider].observe(seconds)
        last_publish[provider] = LastPublish(
            timestamp=record.timestamp,
            models=number(metadata, "models"),
            changes={k: v for k in CHANGE_KINDS if (v := number(metadata, k)) is not None},
            quarantined=number(metadata, "quarantined"),
            unknown_pricing_keys=number(metadata, "unknown_pricing_keys"),
        )

    timeouts_total = {p: 0 for p in PROVIDER_NAMES}
    update_errors_total = {p: 0 for p in PROVIDER_NAMES}
    for asset_key in (RAW_SNAPSHOT_KEY, PUBLISHED_KEY):
        for record in paged_events(instance.fetch_observations, asset_key):
            events_read += 1
            provider = record.partition_key
            if provider not in PROVIDER_NAMES:
                continue
            error_type = text(record.asset_observation.metadata, "error_type")
            if error_type == "timeout":
                timeouts_total[provider] += 1
            elif error_type == "database":
                update_errors_total[provider] += 1

    return MetricsState(
        active_run_age=active_run_ages(instance, now),
        daemons_heartbeating=daemons_heartbeating(instance, now),
        runs_total=runs_total,
        errors_total=errors_total,
        scheduled_duration=scheduled_duration,
        last_attempt=last_attempt,
        usage={p: u for p, (_, u) in usage.items()},
        last_publish=last_publish,
        request_duration=request_duration,
        database_duration=database_duration,
        timeouts_total=timeouts_total,
        update_errors_total=update_errors_total,
        interval_hours=cron_interval_hours(schedule.cron, schedule.timezone) if schedule else None,
        scheduler_enabled=scheduler_enabled(instance, schedule, location_name) if schedule else None,
        computed_at=now,
        runs_read=len(runs),
        events_read=events_read,
        event_log_reads=resolver.event_log_reads,
    )
