"""The Prometheus exposition of a derived MetricsState: the families of METRICS.md, in its
order, in a registry that holds exactly that state (nothing of this process' own)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from pricing_pipeline.defs.metrics.derivation import MetricsState
from pricing_pipeline.defs.metrics.totals import BILL_OUTCOMES, CHANGE_KINDS, STATUSES, Histogram
from pricing_pipeline.defs.upstream_state import LAG_BUCKETS
from pricing_pipeline.defs.upstream_state import OUTCOMES as WATCH_OUTCOMES
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES

HEARTBEAT_METRIC = "pricing_metrics_publisher_heartbeat_timestamp"
FEEDS_METRIC = "pricing_feeds_written_timestamp_seconds"


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
        ("pricing_last_sync_endpoint_fetch_failures", "endpoint_fetch_failures",
         "Models whose per-endpoint prices could not be fetched or read in the provider's last successful sync "
         "(their endpoints kept the prices they had)."),
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
    families.append(
        _gauge(
            "pricing_held_models",
            "Models the price guard holds for a person (their published prices stay live), as the provider's "
            "latest publish or review left them.",
            {p: state.holds[p].held for p in PROVIDER_NAMES if p in state.holds},
        )
    )
    families.append(
        _gauge(
            "pricing_oldest_hold_age_seconds",
            "Age of the provider's oldest standing hold; 0 when nothing is held.",
            {
                p: max(state.computed_at - state.holds[p].oldest_since, 0.0) if state.holds[p].oldest_since else 0.0
                for p in PROVIDER_NAMES
                if p in state.holds
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
    bills = CounterMetricFamily(
        "pricing_bills_reconciled_total",
        "Bills reconciled against our prices (the provider's own charge per request), by outcome.",
        labels=["provider", "outcome"],
    )
    for provider in PROVIDER_NAMES:
        counted = state.bills[provider].totals if provider in state.bills else {}
        for outcome in BILL_OUTCOMES:
            bills.add_metric([provider, outcome], counted.get(outcome, 0.0))
    families.append(bills)
    families.append(
        _gauge(
            "pricing_bill_exact_ratio",
            "Share of the provider's bills created in the 24 h before its latest reconciliation that our price "
            "reproduces exactly.",
            {p: state.bills[p].exact_ratio for p in PROVIDER_NAMES
             if p in state.bills and state.bills[p].exact_ratio is not None},
        )
    )
    if state.feeds_written_at is not None:
        families.append(
            GaugeMetricFamily(
                FEEDS_METRIC,
                "Unix time the price feeds were last written (the newest successful price_feeds materialization).",
                value=state.feeds_written_at,
            )
        )
    families.extend(watch_families(state))
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


def watch_families(state: MetricsState) -> list:
    """The change watcher's (defs/watch): its polls, requests and skips, when upstream was last
    verified (by a poll or a sync's publish), and how long changes took to go live."""
    watch = {p: state.watch[p] for p in PROVIDER_NAMES if p in state.watch}
    polls = CounterMetricFamily("pricing_watch_polls_total", "The change watcher's polls of the provider's list, by outcome.",
                                labels=["provider", "outcome"])
    lag = HistogramMetricFamily("pricing_change_to_live_seconds",
                                "From the first poll that saw an upstream price change to the publish that carried it.",
                                labels=["provider"])
    for provider, watched in watch.items():
        for outcome in WATCH_OUTCOMES:
            polls.add_metric([provider, outcome], watched.polls.get(outcome, 0))
        histogram = Histogram(LAG_BUCKETS, list(watched.lag_counts), watched.lag_sum)
        lag.add_metric([provider], histogram.cumulative(), sum_value=histogram.total)
    verified = {}
    for provider in PROVIDER_NAMES:
        moments = [m for m in (watch[provider].verified_at if provider in watch else None,
                               state.last_publish[provider].timestamp if provider in state.last_publish else None)
                   if m is not None]
        if moments:
            verified[provider] = max(moments)
    families = [
        polls,
        _gauge("pricing_upstream_verified_timestamp_seconds",
               "Unix time upstream was last confirmed to be as published: a watcher poll or a sync's publish.", verified),
        lag,
        _counter("pricing_watch_requests_total",
                 "Upstream requests the change watcher made, or reserved for the sync runs it launched.",
                 {p: w.requests_total for p, w in watch.items()}),
        _counter("pricing_watch_skipped_total",
                 "Requests the change watcher did not make because the provider's hourly budget was spent.",
                 {p: w.skipped_total for p, w in watch.items()}),
    ]
    if state.watch_interval_seconds is not None:
        families.append(_gauge("pricing_watch_interval_seconds", "The change watcher's poll interval (exported while it is on).",
                               dict.fromkeys(PROVIDER_NAMES, state.watch_interval_seconds)))
        families.append(_gauge("pricing_watch_budget_requests_per_hour",
                               "The most upstream requests the change watcher makes per provider in any hour.",
                               state.watch_budget_per_hour or {}))
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
