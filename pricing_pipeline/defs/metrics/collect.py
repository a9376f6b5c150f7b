"""Every metric of monitoring/METRICS.md, derived from the Dagster instance.

The instance's run history is the source of truth: each computation reads it afresh and
nothing is accumulated in memory, so a restart of the daemon, the code server, a run worker or
the Pushgateway, a retried step or a re-evaluated sensor tick can neither reset nor double
count anything. Two computations made one after the other never go down (the run history only
grows), which is what keeps the pushed counters monotonic (publisher.py serializes pushes).

What is read, all bounded, paginated queries:
- finished sync runs, however launched (one run-storage query per 1,000 runs): provider, trigger,
  outcome, start/end time, and two facts the run records about itself in run tags
  (``pricing/run_outcome`` and ``pricing/run_usage``, written by the assets' hooks);
- materializations and observations of ``raw_price_snapshot`` and ``published_prices``
  (asset-key-indexed event-log queries): request and publish durations, the last publish,
  failed attempts (timeouts, rolled-back publishes);
- the sync schedule's state in the instance (one schedule-storage query).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
from dagster._core.storage.tags import (
    PARENT_RUN_ID_TAG,
    RETRY_NUMBER_TAG,
    SCHEDULE_NAME_TAG,
)
from dagster._utils.schedules import cron_string_iterator
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from pricing_pipeline.defs.runs import (
    PARTITION_TAG,
    PUBLISHED_KEY,
    RAW_SNAPSHOT_KEY,
    RUN_OUTCOME_TAG,
    RUN_USAGE_TAG,
    RunOutcome,
    decode_outcome,
    encode_outcome,
    outcome_from_event_log,
    provider_of,
    stamped,
)
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES


STATUSES = ("success", "failure", "blocked", "canceled")
TRIGGERS = ("scheduled", "manual")
CHANGE_KINDS = ("added", "changed", "removed")
ACTIVE_STATES = {
    "queued": (DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED),
    "in_progress": (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING),
}
# A daemon heartbeats every ~20 s (one row per daemon type, holding its daemon id): a row
# younger than this belongs to a daemon that is alive.
DAEMON_HEARTBEAT_FRESH_SECONDS = 90
FINISHED_STATUSES = {
    DagsterRunStatus.SUCCESS: "success",
    DagsterRunStatus.FAILURE: "failure",
    DagsterRunStatus.CANCELED: "canceled",
}

SYNC_DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1200, 1800)
REQUEST_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DATABASE_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

PAGE_SIZE = 1000


# --- facts a run records about itself (run tags, written by hooks.py) ------------------------
#
# Tags are stamped with the run id: a re-execution may copy its parent's tags, and must not
# inherit the parent's outcome or resource use.


@dataclass(frozen=True)
class RunUsage:
    cpu_seconds: float
    peak_rss_bytes: int


def encode_usage(run_id: str, usage: RunUsage) -> str:
    return json.dumps(
        {"run_id": run_id, "cpu_seconds": round(usage.cpu_seconds, 3), "peak_rss_bytes": int(usage.peak_rss_bytes)},
        sort_keys=True,
    )


def decode_usage(tags: Mapping[str, str], run_id: str) -> RunUsage | None:
    data = stamped(tags.get(RUN_USAGE_TAG), run_id)
    try:
        return None if data is None else RunUsage(float(data["cpu_seconds"]), int(data["peak_rss_bytes"]))
    except (KeyError, TypeError, ValueError):
        return None


# --- runs --------------------------------------------------------------------------------------


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
    exception, with sync.hooks.classify_failure); for a failed run without that record (the
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
    """Every finished sync run (any launch path, see sync/runs.py) of a registered provider."""
    resolver = resolver or OutcomeResolver(instance)
    runs: list[SyncRun] = []
    for record in _paged_run_records(instance):
        run = record.dagster_run
        provider = provider_of(run)
        if provider is None:
            continue
        status = FINISHED_STATUSES[run.status]
        outcome = resolver.outcome(run.run_id, run.tags) if status == "failure" else None
        runs.append(
            SyncRun(
                run_id=run.run_id,
                provider=provider,
                trigger=trigger_of(run.tags),
                status=outcome.status if outcome else status,
                error_type=outcome.error_type if outcome else None,
                start_time=record.start_time,
                end_time=record.end_time,
                usage=decode_usage(run.tags, run.run_id),
            )
        )
    return runs


def _paged_run_records(instance: DagsterInstance):
    filters = RunsFilter(tags={PARTITION_TAG: list(PROVIDER_NAMES)}, statuses=list(FINISHED_STATUSES))
    cursor = None
    while True:
        page = instance.get_run_records(filters=filters, limit=PAGE_SIZE, cursor=cursor)
        yield from page
        if len(page) < PAGE_SIZE:
            return
        cursor = page[-1].dagster_run.run_id


# --- asset events ------------------------------------------------------------------------------


def _paged_events(fetch: Callable, asset_key: AssetKey) -> Iterator:
    cursor = None
    while True:
        result = fetch(AssetRecordsFilter(asset_key=asset_key), limit=PAGE_SIZE, cursor=cursor, ascending=True)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def _number(metadata: Mapping, key: str) -> float | None:
    value = getattr(metadata.get(key), "value", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _text(metadata: Mapping, key: str) -> str | None:
    value = getattr(metadata.get(key), "value", None)
    return value if isinstance(value, str) else None


# --- the state ---------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    cron: str
    timezone: str
    default_running: bool


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

    def value(self, name: str, **labels: str) -> float | None:
        """The exported value of one series (tests, debugging)."""
        for family in state_families(self, heartbeat_timestamp=None):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None


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
    for record in _paged_events(instance.fetch_materializations, RAW_SNAPSHOT_KEY):
        events_read += 1
        seconds = _number(record.asset_materialization.metadata, "request_seconds")
        if record.partition_key in PROVIDER_NAMES and seconds is not None:
            request_duration[record.partition_key].observe(seconds)

    database_duration = {p: Histogram(DATABASE_DURATION_BUCKETS) for p in PROVIDER_NAMES}
    last_publish: dict[str, LastPublish] = {}
    for record in _paged_events(instance.fetch_materializations, PUBLISHED_KEY):  # ascending
        events_read += 1
        provider = record.partition_key
        if provider not in PROVIDER_NAMES:
            continue
        metadata = record.asset_materialization.metadata
        seconds = _number(metadata, "publish_seconds")
        if seconds is not None:
            database_duration[provider].observe(seconds)
        last_publish[provider] = LastPublish(
            timestamp=record.timestamp,
            models=_number(metadata, "models"),
            changes={k: v for k in CHANGE_KINDS if (v := _number(metadata, k)) is not None},
            quarantined=_number(metadata, "quarantined"),
            unknown_pricing_keys=_number(metadata, "unknown_pricing_keys"),
        )

    timeouts_total = {p: 0 for p in PROVIDER_NAMES}
    update_errors_total = {p: 0 for p in PROVIDER_NAMES}
    for asset_key in (RAW_SNAPSHOT_KEY, PUBLISHED_KEY):
        for record in _paged_events(instance.fetch_observations, asset_key):
            events_read += 1
            provider = record.partition_key
            if provider not in PROVIDER_NAMES:
                continue
            error_type = _text(record.asset_observation.metadata, "error_type")
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


def active_run_ages(instance: DagsterInstance, now: float) -> dict[tuple[str, str], float]:
    """Seconds since the oldest queued / in-progress sync run of each provider was created /
    started; 0 when there is none. A run whose worker died without run monitoring noticing
    stays in progress, and holds back every later run of its provider (one run per provider)."""
    ages = {(p, state): 0.0 for p in PROVIDER_NAMES for state in ACTIVE_STATES}
    statuses = [status for group in ACTIVE_STATES.values() for status in group]
    records = instance.get_run_records(RunsFilter(tags={PARTITION_TAG: list(PROVIDER_NAMES)}, statuses=statuses))
    for record in records:
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


# --- the schedule ------------------------------------------------------------------------------

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


# --- exposition --------------------------------------------------------------------------------

HEARTBEAT_METRIC = "pricing_metrics_publisher_heartbeat_timestamp"


def state_families(state: MetricsState, heartbeat_timestamp: float | None) -> list:
    """The metric families of METRICS.md, in its order. Counters and histograms carry every
    bounded label combination from the start (at 0); "last ..." gauges only exist once there
    is a last one."""
    families = []
    for trigger, name, doc in (
        ("scheduled", "pricing_scheduled_sync_runs_total", "Finished sync runs started by the schedule, by outcome."),
        ("manual", "pricing_manual_sync_runs_total", "Finished sync runs started by hand (UI, CLI, backfills), by outcome."),
    ):
        family = CounterMetricFamily(name, doc, labels=["provider", "status"])
        for provider in PROVIDER_NAMES:
            for status in STATUSES:
                family.add_metric([provider, status], state.runs_total[(trigger, provider, status)])
        families.append(family)

    families.append(
        _histograms(
            "pricing_scheduled_sync_duration_seconds",
            "Wall-clock duration of finished schedule-triggered sync runs.",
            state.scheduled_duration,
        )
    )
    families.append(
        _gauge(
            "pricing_last_sync_timestamp",
            "Unix time of the provider's last successful publish.",
            {p: state.last_publish[p].timestamp for p in PROVIDER_NAMES if p in state.last_publish},
        )
    )
    families.append(
        _gauge(
            "pricing_last_sync_attempt_timestamp",
            "Unix time the provider's last finished sync run (any outcome) ended.",
            {p: state.last_attempt[p] for p in PROVIDER_NAMES if p in state.last_attempt},
        )
    )
    families.append(
        _gauge(
            "pricing_last_sync_models",
            "Models in the provider's last successful sync.",
            {
                p: state.last_publish[p].models
                for p in PROVIDER_NAMES
                if p in state.last_publish and state.last_publish[p].models is not None
            },
        )
    )
    for name, attribute, help_text in (
        ("pricing_last_sync_quarantined_models", "quarantined",
         "Models whose upstream entries could not be read in the provider's last successful sync "
         "(they kept their published prices)."),
        ("pricing_last_sync_unknown_pricing_keys", "unknown_pricing_keys",
         "Distinct pricing keys the provider sent in its last successful sync that no adapter rule reads."),
    ):
        families.append(
            _gauge(
                name,
                help_text,
                {
                    p: getattr(state.last_publish[p], attribute)
                    for p in PROVIDER_NAMES
                    if p in state.last_publish and getattr(state.last_publish[p], attribute) is not None
                },
            )
        )
    changes = GaugeMetricFamily(
        "pricing_last_sync_model_changes",
        "Models added / changed / removed by the provider's last successful sync.",
        labels=["provider", "kind"],
    )
    for provider in PROVIDER_NAMES:
        if provider in state.last_publish:
            for kind in CHANGE_KINDS:
                if kind in state.last_publish[provider].changes:
                    changes.add_metric([provider, kind], state.last_publish[provider].changes[kind])
    families.append(changes)
    if state.interval_hours is not None:
        families.append(
            GaugeMetricFamily(
                "pricing_sync_interval_seconds",
                "Interval of the sync schedule, from its cron expression.",
                value=state.interval_hours * 3600,
            )
        )
    if state.scheduler_enabled is not None:
        families.append(
            GaugeMetricFamily(
                "pricing_scheduler_enabled",
                "1 when the sync schedule is running in the Dagster instance, 0 when it is stopped.",
                value=1.0 if state.scheduler_enabled else 0.0,
            )
        )
    errors = CounterMetricFamily(
        "pricing_provider_errors_total",
        "Failed sync runs by the error class that failed them.",
        labels=["provider", "error_type"],
    )
    for provider in PROVIDER_NAMES:
        for error_type in ERROR_TYPES:
            errors.add_metric([provider, error_type], state.errors_total[(provider, error_type)])
    families.append(errors)
    families.append(
        _counter(
            "pricing_provider_timeouts_total",
            "Upstream requests that timed out (each failed attempt, retries included).",
            state.timeouts_total,
        )
    )
    families.append(
        _histograms(
            "pricing_provider_request_duration_seconds",
            "Duration of successful upstream model-list requests.",
            state.request_duration,
        )
    )
    families.append(
        _counter(
            "pricing_models_update_errors_total",
            "Publishes that failed in the pricing database (the transaction rolled back).",
            state.update_errors_total,
        )
    )
    families.append(
        _histograms(
            "pricing_database_query_duration_seconds",
            "Duration of the publish transaction in the pricing database.",
            state.database_duration,
        )
    )
    families.append(
        _gauge(
            "pricing_sync_cpu_seconds",
            "CPU seconds (user + system) used by the provider's last finished sync run.",
            {p: state.usage[p].cpu_seconds for p in PROVIDER_NAMES if p in state.usage},
        )
    )
    families.append(
        _gauge(
            "pricing_sync_peak_rss_bytes",
            "Peak resident memory of the provider's last finished sync run.",
            {p: float(state.usage[p].peak_rss_bytes) for p in PROVIDER_NAMES if p in state.usage},
        )
    )
    active = GaugeMetricFamily(
        "pricing_sync_oldest_active_run_age_seconds",
        "Age of the provider's oldest queued (since created) or in-progress (since started) sync run; 0 when none.",
        labels=["provider", "state"],
    )
    for (provider, run_state), age in sorted(state.active_run_age.items()):
        active.add_metric([provider, run_state], age)
    families.append(active)
    if state.daemons_heartbeating is not None:
        families.append(
            GaugeMetricFamily(
                "pricing_dagster_daemons_heartbeating",
                "dagster-daemon processes with a heartbeat in the last 90 s (exactly 1 is healthy).",
                value=state.daemons_heartbeating,
            )
        )
    if heartbeat_timestamp is not None:
        families.append(
            GaugeMetricFamily(
                HEARTBEAT_METRIC,
                "Unix time of the publisher's last successful push.",
                value=heartbeat_timestamp,
            )
        )
    return families


def _gauge(name: str, doc: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["provider"])
    for provider, value in values.items():
        family.add_metric([provider], value)
    return family


def _counter(name: str, doc: str, values: Mapping[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["provider"])
    for provider, value in values.items():
        family.add_metric([provider], value)
    return family


def _histograms(name: str, doc: str, histograms: Mapping[str, Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["provider"])
    for provider, histogram in histograms.items():
        family.add_metric([provider], histogram.cumulative(), sum_value=histogram.total)
    return family


class _StateCollector(Collector):
    def __init__(self, families: Iterable):
        self._families = list(families)

    def collect(self):
        return iter(self._families)


def state_registry(state: MetricsState, heartbeat_timestamp: float | None = None) -> CollectorRegistry:
    """A registry holding exactly the computed state (nothing of this process' own)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StateCollector(state_families(state, heartbeat_timestamp)))
    return registry
