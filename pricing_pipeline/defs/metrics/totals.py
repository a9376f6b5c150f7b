"""What the run history adds up to, kept in the Dagster instance with the cursors it was read up to.

Counters, histograms and "last ..." values only grow with the history, so each computation
reads only what was stored after the cursors (run end events, asset materializations and
observations, by storage id) and saves the new totals with the new cursors in the instance's
key-value store, the same storage Dagster keeps its sensor cursors in. A restarted daemon,
code server or run worker carries on from there; nothing is counted twice because an event is
read only after the last cursor saved with the totals that counted it. Once a day (and whenever
the stored totals do not match the code: a provider or an error type added, buckets changed) the
totals are recomputed from the whole history instead.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from dagster import DagsterInstance
from prometheus_client.utils import floatToGoString

from pricing_pipeline.defs.metrics.usage import RunUsage
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES

STATUSES = ("success", "failure", "blocked", "canceled")
TRIGGERS = ("scheduled", "manual")
CHANGE_KINDS = ("added", "changed", "removed")
# The outcomes of a reconciled bill (gateway/reconcile.py)
BILL_OUTCOMES = ("exact", "within_1pct", "off", "error")

SYNC_DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1200, 1800)
REQUEST_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DATABASE_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

STORAGE_KEY = "pricing_pipeline/metrics_totals"
FULL_RECOMPUTE_SECONDS = 24 * 3600
VERSION = 3  # 2: the price guard's holds per provider; 3: the bill reconciliations


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bucket, not cumulative; last is +Inf
    total: float = 0.0

    def __post_init__(self):
        self.buckets = tuple(self.buckets)
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
class Holds:
    """A provider's models held by the price guard, as its latest publish or review left them."""

    timestamp: float  # of the event that said so
    held: float
    oldest_since: float | None = None  # unix time the oldest standing hold began


@dataclass(frozen=True)
class LastPublish:
    timestamp: float
    models: float | None
    changes: dict[str, float]
    quarantined: float | None = None
    unknown_pricing_keys: float | None = None
    endpoint_fetch_failures: float | None = None


@dataclass(frozen=True)
class Bills:
    """A provider's reconciled bills, as its bill_reconciliation materializations read them
    from the pricing database: every reconciliation so far by outcome (the largest total any
    materialization reported: the table only grows, so a materialization stored out of order
    cannot roll a counter back), and the newest one's exact share of the last 24 h of bills."""

    totals: dict[str, float]
    timestamp: float  # of the newest materialization
    exact_ratio: float | None = None


def _histograms(buckets: tuple[float, ...]) -> dict[str, Histogram]:
    return {p: Histogram(buckets) for p in PROVIDER_NAMES}


@dataclass
class Totals:
    full_at: float
    # run end events by status, asset events by "materialization:<key>" / "observation:<key>"
    cursors: dict[str, int] = field(default_factory=dict)
    runs_total: dict[tuple[str, str, str], int] = field(
        default_factory=lambda: {(t, p, s): 0 for t in TRIGGERS for p in PROVIDER_NAMES for s in STATUSES}
    )  # (trigger, provider, status)
    errors_total: dict[tuple[str, str], int] = field(
        default_factory=lambda: {(p, e): 0 for p in PROVIDER_NAMES for e in ERROR_TYPES}
    )  # (provider, error_type)
    scheduled_duration: dict[str, Histogram] = field(default_factory=lambda: _histograms(SYNC_DURATION_BUCKETS))
    request_duration: dict[str, Histogram] = field(default_factory=lambda: _histograms(REQUEST_DURATION_BUCKETS))
    database_duration: dict[str, Histogram] = field(default_factory=lambda: _histograms(DATABASE_DURATION_BUCKETS))
    last_attempt: dict[str, float] = field(default_factory=dict)
    usage: dict[str, tuple[float, RunUsage]] = field(default_factory=dict)  # the last run's: (end time, usage)
    last_publish: dict[str, LastPublish] = field(default_factory=dict)
    timeouts_total: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PROVIDER_NAMES})
    update_errors_total: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PROVIDER_NAMES})
    holds: dict[str, Holds] = field(default_factory=dict)
    bills: dict[str, Bills] = field(default_factory=dict)

    def note_bills(self, provider: str, timestamp: float, totals: dict[str, float], exact_ratio: float | None) -> None:
        before = self.bills.get(provider)
        merged = {o: max(totals.get(o, 0.0), before.totals.get(o, 0.0) if before else 0.0) for o in BILL_OUTCOMES}
        if before is not None and before.timestamp > timestamp:
            timestamp, exact_ratio = before.timestamp, before.exact_ratio
        self.bills[provider] = Bills(merged, timestamp, exact_ratio)

    def note_holds(self, provider: str, timestamp: float, held: float | None, oldest_since: float | None) -> None:
        """A publish's or a review's count of held models, unless a later event said otherwise."""
        if held is not None and (provider not in self.holds or self.holds[provider].timestamp <= timestamp):
            self.holds[provider] = Holds(timestamp, held, oldest_since)

    def to_json(self) -> str:
        return json.dumps({
            "version": VERSION,
            "shape": _shape(),
            "full_at": self.full_at,
            "cursors": self.cursors,
            "runs_total": [[*k, v] for k, v in self.runs_total.items()],
            "errors_total": [[*k, v] for k, v in self.errors_total.items()],
            "scheduled_duration": {p: asdict(h) for p, h in self.scheduled_duration.items()},
            "request_duration": {p: asdict(h) for p, h in self.request_duration.items()},
            "database_duration": {p: asdict(h) for p, h in self.database_duration.items()},
            "last_attempt": self.last_attempt,
            "usage": {p: [end, asdict(u)] for p, (end, u) in self.usage.items()},
            "last_publish": {p: asdict(lp) for p, lp in self.last_publish.items()},
            "timeouts_total": self.timeouts_total,
            "update_errors_total": self.update_errors_total,
            "holds": {p: asdict(h) for p, h in self.holds.items()},
            "bills": {p: asdict(b) for p, b in self.bills.items()},
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Totals | None:
        """The stored totals, or None when they are unreadable or were kept for other code."""
        try:
            data = json.loads(text)
            if data.get("version") != VERSION or data.get("shape") != _shape():
                return None
            return cls(
                full_at=float(data["full_at"]),
                cursors={k: int(v) for k, v in data["cursors"].items()},
                runs_total={(t, p, s): int(v) for t, p, s, v in data["runs_total"]},
                errors_total={(p, e): int(v) for p, e, v in data["errors_total"]},
                scheduled_duration={p: Histogram(**h) for p, h in data["scheduled_duration"].items()},
                request_duration={p: Histogram(**h) for p, h in data["request_duration"].items()},
                database_duration={p: Histogram(**h) for p, h in data["database_duration"].items()},
                last_attempt={p: float(v) for p, v in data["last_attempt"].items()},
                usage={p: (float(end), RunUsage(**u)) for p, (end, u) in data["usage"].items()},
                last_publish={p: LastPublish(**lp) for p, lp in data["last_publish"].items()},
                timeouts_total={p: int(v) for p, v in data["timeouts_total"].items()},
                update_errors_total={p: int(v) for p, v in data["update_errors_total"].items()},
                holds={p: Holds(**h) for p, h in data["holds"].items()},
                bills={p: Bills(**b) for p, b in data["bills"].items()},
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def _shape() -> dict:
    """What the stored totals are counted over: when it changes, they are recomputed."""
    return {
        "providers": list(PROVIDER_NAMES),
        "error_types": list(ERROR_TYPES),
        "statuses": list(STATUSES),
        "bill_outcomes": list(BILL_OUTCOMES),
        "buckets": [list(SYNC_DURATION_BUCKETS), list(REQUEST_DURATION_BUCKETS), list(DATABASE_DURATION_BUCKETS)],
    }


def load(instance: DagsterInstance, now: float) -> Totals:
    """The stored totals; fresh (empty, cursors at the start) when there are none, they do not
    match the code, or their last full recomputation is a day old."""
    stored = instance.run_storage.get_cursor_values({STORAGE_KEY}).get(STORAGE_KEY)
    totals = Totals.from_json(stored) if stored else None
    if totals is None or now - totals.full_at > FULL_RECOMPUTE_SECONDS:
        return Totals(full_at=now)
    return totals


def save(instance: DagsterInstance, totals: Totals) -> bool:
    """Store the totals unless another process has stored totals read further (computations
    on one host are serialized by the push lock; this covers the rest): saved totals never go
    back."""
    stored = instance.run_storage.get_cursor_values({STORAGE_KEY}).get(STORAGE_KEY)
    current = Totals.from_json(stored) if stored else None
    if current is not None and current.full_at >= totals.full_at and any(
        v > totals.cursors.get(k, 0) for k, v in current.cursors.items()
    ):
        return False
    instance.run_storage.set_cursor_values({STORAGE_KEY: totals.to_json()})
    return True
