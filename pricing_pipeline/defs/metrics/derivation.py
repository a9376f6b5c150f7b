"""Every metric of monitoring/METRICS.md, derived from the facts of the Dagster instance.

The instance's run history is the source of truth. Its totals (counters, histograms, the last
publish and run of each provider) are kept in the instance with the cursors they were read up to
(totals.py), so a computation reads only what happened since the last one: its cost follows
the new runs, not the length of the history. What is not history (runs queued or in progress,
the daemons, the schedule's state, when the feeds were last written) is read afresh each time.
Two computations made one after the other never go down, which is what keeps the pushed
counters monotonic (publisher.py serializes pushes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import DagsterInstance

from pricing_pipeline.defs import upstream_state
from pricing_pipeline.defs.metrics import totals as stored
from pricing_pipeline.defs.metrics.run_facts import (
    OutcomeResolver,
    ScheduleInfo,
    SyncRun,
    active_run_ages,
    cron_interval_hours,
    daemons_heartbeating,
    feeds_written_at,
    number,
    paged_events,
    scheduler_enabled,
    sync_runs_finished_after,
    text,
)
from pricing_pipeline.defs.metrics.totals import (
    BILL_OUTCOMES,
    CHANGE_KINDS,
    Bills,
    Histogram,
    Holds,
    LastPublish,
    Totals,
)
from pricing_pipeline.defs.metrics.usage import RunUsage
from pricing_pipeline.defs.runs import BILLS_KEY, PUBLISHED_KEY, RAW_SNAPSHOT_KEY
from pricing_pipeline.defs.upstream_state import WatchState
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings


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
    holds: dict[str, Holds]
    bills: dict[str, Bills]
    interval_hours: float | None
    scheduler_enabled: bool | None
    computed_at: float
    active_run_age: dict[tuple[str, str], float] = field(default_factory=dict)  # (provider, state)
    daemons_heartbeating: int | None = None
    feeds_written_at: float | None = None  # the newest price_feeds materialization; None: never
    runs_read: int = 0  # in this computation
    events_read: int = 0
    event_log_reads: int = 0
    # the change watcher's state per provider (defs/upstream_state.py), and its configuration
    watch: dict[str, WatchState] = field(default_factory=dict)
    watch_interval_seconds: float | None = None  # None: the watcher is off
    watch_budget_per_hour: dict[str, int] | None = None


def collect_state(
    instance: DagsterInstance,
    schedule: ScheduleInfo | None = None,
    location_name: str | None = None,
    write_back: bool = True,
    now: float | None = None,
    incremental: bool = True,
) -> MetricsState:
    """The metrics now. ``write_back``: record outcomes read from event logs in the runs'
    tags and save the advanced totals; ``incremental=False`` recomputes from the whole history."""
    now = datetime.now(UTC).timestamp() if now is None else now
    resolver = OutcomeResolver(instance, write_back=write_back)
    totals = stored.load(instance, now) if incremental else Totals(full_at=now)
    runs_read = 0
    for run in sync_runs_finished_after(instance, totals.cursors, resolver):
        count_run(totals, run)
        runs_read += 1
    events_read = count_asset_events(instance, totals)
    if write_back and (runs_read or events_read or not incremental):
        stored.save(instance, totals)
    return MetricsState(
        active_run_age=active_run_ages(instance, now),
        daemons_heartbeating=daemons_heartbeating(instance, now),
        feeds_written_at=feeds_written_at(instance),
        runs_total=totals.runs_total,
        errors_total=totals.errors_total,
        scheduled_duration=totals.scheduled_duration,
        last_attempt=totals.last_attempt,
        usage={p: u for p, (_, u) in totals.usage.items()},
        last_publish=totals.last_publish,
        request_duration=totals.request_duration,
        database_duration=totals.database_duration,
        timeouts_total=totals.timeouts_total,
        update_errors_total=totals.update_errors_total,
        holds=totals.holds,
        bills=totals.bills,
        interval_hours=cron_interval_hours(schedule.cron, schedule.timezone) if schedule else None,
        scheduler_enabled=scheduler_enabled(instance, schedule, location_name) if schedule else None,
        computed_at=now,
        runs_read=runs_read,
        events_read=events_read,
        event_log_reads=resolver.event_log_reads,
        watch=upstream_state.load_all(instance, PROVIDER_NAMES),
        watch_interval_seconds=settings().watch_interval_seconds if settings().watch_enabled else None,
        watch_budget_per_hour={p: settings().watch_budget(p) for p in PROVIDER_NAMES} if settings().watch_enabled else None,
    )


def count_run(totals: Totals, run: SyncRun) -> None:
    totals.runs_total[(run.trigger, run.provider, run.status)] += 1
    if run.error_type is not None:
        totals.errors_total[(run.provider, run.error_type)] += 1
    if run.end_time is None:
        return
    totals.last_attempt[run.provider] = max(totals.last_attempt.get(run.provider, 0.0), run.end_time)
    if run.trigger == "scheduled" and run.start_time is not None:
        totals.scheduled_duration[run.provider].observe(max(run.end_time - run.start_time, 0.0))
    if run.usage is not None and run.end_time >= totals.usage.get(run.provider, (-1.0, None))[0]:
        totals.usage[run.provider] = (run.end_time, run.usage)


def count_asset_events(instance: DagsterInstance, totals: Totals) -> int:
    """Request and publish durations, the last publish, failed attempts: from the sync assets'
    materializations and observations stored after the cursors. Returns how many were read."""
    read = 0

    def events(fetch, asset_key, kind: str):
        nonlocal read
        cursor_key = f"{kind}:{asset_key.to_user_string()}"
        for record in paged_events(fetch, asset_key, totals.cursors.get(cursor_key)):
            read += 1
            totals.cursors[cursor_key] = record.storage_id
            if record.partition_key in PROVIDER_NAMES:
                yield record

    for record in events(instance.fetch_materializations, RAW_SNAPSHOT_KEY, "materialization"):
        seconds = number(record.asset_materialization.metadata, "request_seconds")
        if seconds is not None:
            totals.request_duration[record.partition_key].observe(seconds)
    for record in events(instance.fetch_materializations, PUBLISHED_KEY, "materialization"):
        metadata = record.asset_materialization.metadata
        seconds = number(metadata, "publish_seconds")
        if seconds is not None:
            totals.database_duration[record.partition_key].observe(seconds)
        totals.last_publish[record.partition_key] = LastPublish(
            timestamp=record.timestamp,
            models=number(metadata, "models"),
            changes={k: v for k in CHANGE_KINDS if (v := number(metadata, k)) is not None},
            quarantined=number(metadata, "quarantined"),
            unknown_pricing_keys=number(metadata, "unknown_pricing_keys"),
            endpoint_fetch_failures=number(metadata, "endpoint_fetch_failures"),
        )
        # held_after_publish since issue 31 (held before): the overview shows it after a review too
        held = number(metadata, "held_after_publish")
        oldest = number(metadata, "oldest_hold_after_publish")
        if held is None:
            held, oldest = number(metadata, "held"), number(metadata, "oldest_hold_since")
        totals.note_holds(record.partition_key, record.timestamp, held, oldest)
    for record in events(instance.fetch_materializations, BILLS_KEY, "materialization"):
        # each reconciliation run reports the pricing database's totals (defs/bills): counted
        # there, not here, so a run that died after writing its rows is counted by the next one
        metadata = record.asset_materialization.metadata
        totals.note_bills(record.partition_key, record.timestamp,
                          {o: v for o in BILL_OUTCOMES if (v := number(metadata, f"total_{o}")) is not None},
                          number(metadata, "exact_ratio_24h"))
    for asset_key in (RAW_SNAPSHOT_KEY, PUBLISHED_KEY):
        for record in events(instance.fetch_observations, asset_key, "observation"):
            metadata = record.asset_observation.metadata
            # a person's accept / reject of held models (price_review_job)
            totals.note_holds(record.partition_key, record.timestamp, number(metadata, "held"), number(metadata, "oldest_hold_since"))
            error_type = text(record.asset_observation.metadata, "error_type")
            if error_type == "timeout":
                totals.timeouts_total[record.partition_key] += 1
            elif error_type == "database":
                totals.update_errors_total[record.partition_key] += 1
    return read
