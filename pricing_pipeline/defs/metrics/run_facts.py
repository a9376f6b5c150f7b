"""Facts the Dagster instance holds about sync runs, read with bounded, paginated queries.

- finished sync runs, however launched (one run-storage query per 1,000 runs): provider,
  trigger, outcome, start/end time and the resource use the run recorded in its tags;
- materializations and observations of the sync assets (asset-key-indexed event-log queries);
- queued / in-progress runs, and the daemons' heartbeats;
- the sync schedule's state (one schedule-storage query).

Nothing here turns facts into metrics (derivation.py) or formats them (exposition.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.event_api import RunStatusChangeRecordsFilter
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG, SCHEDULE_NAME_TAG
from dagster._utils.schedules import cron_string_iterator

from pricing_pipeline.defs.metrics.usage import RunUsage, decode_usage
from pricing_pipeline.defs.outcomes import (
    RUN_OUTCOME_TAG,
    RunOutcome,
    decode_outcome,
    encode_outcome,
    outcome_from_event_log,
)
from pricing_pipeline.defs.runs import FEEDS_KEY, provider_of
from pricing_pipeline.providers.registry import PROVIDER_NAMES

FINISHED_STATUSES = {
    DagsterRunStatus.SUCCESS: "success",
    DagsterRunStatus.FAILURE: "failure",
    DagsterRunStatus.CANCELED: "canceled",
}
RUN_END_EVENTS = {
    DagsterEventType.RUN_SUCCESS: "success",
    DagsterEventType.RUN_FAILURE: "failure",
    DagsterEventType.RUN_CANCELED: "canceled",
}
ACTIVE_STATES = {
    "queued": (DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED),
    "in_progress": (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING),
}
# A daemon heartbeats every ~20 s (one row per daemon type, holding its daemon id): a row
# younger than this belongs to a daemon that is alive.
DAEMON_HEARTBEAT_FRESH_SECONDS = 90
PAGE_SIZE = 1000


# --- finished runs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRun:
    run_id: str
    provider: str
    trigger: str  # scheduled | manual
    status: str  # success | failure | blocked | canceled
    error_type: str | None
    start_time: float | None
    end_time: float | None
    usage: RunUsage | None


def trigger_of(tags: Mapping[str, str]) -> str:
    """Scheduled: launched by a schedule (Dagster sets dagster/schedule_name), including the
    run-retry daemon's automatic retries of such a run (dagster/retry_number). A re-execution
    started by hand copies the parent's tags but is manual. Everything else (UI, CLI,
    backfills, sensors) is manual."""
    if SCHEDULE_NAME_TAG not in tags:
        return "manual"
    if PARENT_RUN_ID_TAG in tags and RETRY_NUMBER_TAG not in tags:
        return "manual"
    return "scheduled"


class OutcomeResolver:
    """The outcome of a failed run. Normally recorded by the failure hook (from the step's
    exception, with outcomes.classify_failure); for a failed run without that record (the
    run worker died, a resource failed before any step ran, a run from before the hook
    existed) it is read from the run's event log once and written back as the same tag, so
    the next computation, in any process, finds it."""

    def __init__(self, instance: DagsterInstance, write_back: bool = True):
        self.instance = instance
        self.write_back = write_back
        self.event_log_reads = 0

    def outcome(self, run_id: str, tags: Mapping[str, str]) -> RunOutcome:
        recorded = decode_outcome(tags, run_id)
        if recorded is not None:
            return recorded
        outcome = self._from_event_log(run_id)
        if self.write_back:
            try:
                self.instance.add_run_tags(run_id, {RUN_OUTCOME_TAG: encode_outcome(run_id, outcome)})
            except Exception:  # noqa: BLE001, S110 - a cache; recomputed next time
                pass
        return outcome

    def _from_event_log(self, run_id: str) -> RunOutcome:
        self.event_log_reads += 1
        outcome = outcome_from_event_log(self.instance, run_id)
        return RunOutcome(outcome.status, outcome.error_type)


def sync_runs(instance: DagsterInstance, resolver: OutcomeResolver | None = None) -> list[SyncRun]:
    """Every finished sync run (any launch path, see defs/runs.py) of a registered provider:
    the runs ended after no cursor at all."""
    return list(sync_runs_finished_after(instance, {}, resolver or OutcomeResolver(instance)))


def sync_runs_finished_after(
    instance: DagsterInstance, cursors: dict[str, int], resolver: OutcomeResolver
) -> Iterator[SyncRun]:
    """Sync runs whose end event (success, failure, cancellation: one per run) was stored after
    ``cursors[status]``, advancing the cursors as it goes, so each run is read exactly once."""
    for event_type, status in RUN_END_EVENTS.items():
        yield from _runs_ended(instance, event_type, status, cursors, resolver)


def _runs_ended(instance: DagsterInstance, event_type, status: str, cursors: dict[str, int], resolver) -> Iterator[SyncRun]:
    while True:
        events = instance.fetch_run_status_changes(
            # Every job's end events (in-memory instances take no job filter); _sync_run keeps the syncs.
            RunStatusChangeRecordsFilter(event_type, after_storage_id=cursors.get(status)),
            limit=PAGE_SIZE,
            ascending=True,
        ).records
        if not events:
            return
        records = {r.dagster_run.run_id: r for r in instance.get_run_records(RunsFilter(run_ids=[e.run_id for e in events]))}
        for event in events:
            record = records.get(event.run_id)
            if record is not None and not record.dagster_run.is_finished:
                # The end event is stored before the run's status: read it next time.
                return
            # Counted under the end event of its final status only (a run with two end events,
            # e.g. failed while being canceled, counts once); deleted runs are skipped.
            if record is not None and FINISHED_STATUSES.get(record.dagster_run.status) == status:
                run = _sync_run(record, resolver)
                if run is not None:
                    yield run
            cursors[status] = event.storage_id
        if len(events) < PAGE_SIZE:
            return


def _sync_run(record, resolver: OutcomeResolver) -> SyncRun | None:
    run = record.dagster_run
    provider = provider_of(run)
    if provider is None or run.status not in FINISHED_STATUSES:
        return None
    status = FINISHED_STATUSES[run.status]
    outcome = resolver.outcome(run.run_id, run.tags) if status == "failure" else None
    return SyncRun(
        run_id=run.run_id,
        provider=provider,
        trigger=trigger_of(run.tags),
        status=outcome.status if outcome else status,
        error_type=outcome.error_type if outcome else None,
        start_time=record.start_time,
        end_time=record.end_time,
        usage=decode_usage(run.tags, run.run_id),
    )


# --- asset events ------------------------------------------------------------------------------


def paged_events(fetch: Callable, asset_key: AssetKey, after_storage_id: int | None = None) -> Iterator:
    """Materializations / observations of an asset, oldest first, after a storage id."""
    cursor = None
    while True:
        result = fetch(
            AssetRecordsFilter(asset_key=asset_key, after_storage_id=after_storage_id),
            limit=PAGE_SIZE,
            cursor=cursor,
            ascending=True,
        )
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def number(metadata: Mapping, key: str) -> float | None:
    value = getattr(metadata.get(key), "value", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def text(metadata: Mapping, key: str) -> str | None:
    value = getattr(metadata.get(key), "value", None)
    return value if isinstance(value, str) else None


def pool_connections(instance: DagsterInstance) -> None:
    """Make ``instance`` keep one database connection per storage. Dagster's PostgreSQL storages
    open a new connection per query outside the webserver, and a heartbeat makes about twenty
    queries: half its time went to connecting. For an instance of one evaluation only (a
    sensor's, disposed with it): it replaces the storages' engines."""
    instance.optimize_for_webserver(statement_timeout=60_000, pool_recycle=3600, max_overflow=2)


# --- active runs and daemons ---------------------------------------------------------------------


def active_run_ages(instance: DagsterInstance, now: float) -> dict[tuple[str, str], float]:
    """Seconds since the oldest queued / in-progress sync run of each provider was created /
    started; 0 when there is none. A run whose worker died without run monitoring noticing
    stays in progress, and holds back every later run of its provider (one run per provider)."""
    ages = {(p, state): 0.0 for p in PROVIDER_NAMES for state in ACTIVE_STATES}
    statuses = [status for group in ACTIVE_STATES.values() for status in group]
    # By status only (indexed; few runs are active at a time), the provider read from each run:
    # a filter on the partition tag as well made PostgreSQL match every run's tag first (136 ms
    # at 50k runs in history, growing with it).
    for record in instance.get_run_records(RunsFilter(statuses=statuses)):
        provider = provider_of(record.dagster_run)
        if provider is None:
            continue
        state = next(s for s, group in ACTIVE_STATES.items() if record.dagster_run.status in group)
        since = record.start_time if state == "in_progress" and record.start_time else record.create_timestamp.timestamp()
        ages[(provider, state)] = max(ages[(provider, state)], max(now - since, 0.0))
    return ages


def daemons_heartbeating(instance: DagsterInstance, now: float) -> int:
    """Distinct dagster-daemon processes with a fresh heartbeat. Each daemon type keeps one
    heartbeat row that every daemon process overwrites with its own id, so two processes show
    up as a mix of ids across the rows (Dagster itself only logs it)."""
    try:
        heartbeats = instance.get_daemon_heartbeats().values()
    except Exception:  # noqa: BLE001 - an instance without daemon storage has no daemons
        return 0
    return len({hb.daemon_id for hb in heartbeats if now - hb.timestamp <= DAEMON_HEARTBEAT_FRESH_SECONDS})


def feeds_written_at(instance: DagsterInstance) -> float | None:
    """Unix time of the newest ``price_feeds`` materialization: when both feed files were last
    written (a failed feeds run records none and leaves the old files). None: never written."""
    event = instance.get_latest_materialization_event(FEEDS_KEY)
    return event.timestamp if event is not None else None


# --- the schedule ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    cron: str
    timezone: str
    default_running: bool


# A fixed start, so the interval of an irregular cron does not wobble from push to push.
_CRON_REFERENCE = datetime(2026, 1, 5, tzinfo=UTC).timestamp()


def cron_interval_hours(cron: str, execution_timezone: str = "UTC", samples: int = 24) -> float:
    """Mean time between ticks over ``samples`` ticks: 6 for "0 */6 * * *"."""
    ticks = cron_string_iterator(_CRON_REFERENCE, cron, execution_timezone)
    first = next(ticks).timestamp()
    last = first
    for _ in range(samples):
        last = next(ticks).timestamp()
    return round((last - first) / samples / 3600, 6)


def scheduler_enabled(instance: DagsterInstance, schedule: ScheduleInfo, location_name: str | None = None) -> bool:
    """Whether the schedule runs in this instance. Its state is stored once someone starts or
    stops it (UI, CLI) or the daemon first ticks it; until then its default status applies.
    A code location name, when known, picks that location's state."""
    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
        if state.name == schedule.name
    ]
    if location_name:
        here = [s for s in states if s.origin.repository_origin.code_location_origin.location_name == location_name]
        states = here or states
    if not states:
        return schedule.default_running

    def running(status: InstigatorStatus) -> bool:
        if status in (InstigatorStatus.DECLARED_IN_CODE, InstigatorStatus.AUTOMATICALLY_RUNNING):
            return schedule.default_running
        return status == InstigatorStatus.RUNNING

    return any(running(state.status) for state in states)
