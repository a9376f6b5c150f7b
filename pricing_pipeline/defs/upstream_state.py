"""What the change watcher (defs/watch) of one provider remembers between ticks, kept in the
Dagster instance. Beside defs/runs.py, not in defs/watch: the freshness check (defs/sync) and
the metrics read when upstream was last verified, and neither imports the watcher.

In the instance's key-value store (where Dagster keeps its own sensor cursors, and the metrics
their totals: defs/metrics/totals.py), one key per provider, so the metrics, the freshness
check and the CLI read it in any process. Saved after every request, not at the end of a tick:
a tick that dies half-way has still counted the requests it made against the hourly budget.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from dagster import DagsterInstance

KEY_PREFIX = "pricing_pipeline/watch/"
OUTCOMES = ("unchanged", "changed", "error")
# pricing_change_to_live_seconds: a change is live within the interval (300 s) plus a run
LAG_BUCKETS = (30.0, 60.0, 120.0, 180.0, 300.0, 420.0, 600.0, 900.0, 1800.0, 3600.0, 10800.0, 21600.0)


@dataclass
class PendingChange:
    """A change the watcher saw and asked a run for, until a publish carries it."""

    key: str  # the run key
    seen_at: float  # the first poll that saw it
    kind: str  # "list" | "endpoints"
    list_fingerprint: str | None = None  # for a list change: the content that publishes it
    models: list[str] = field(default_factory=list)  # the models whose endpoints the run fetches
    attempt: int = 1  # runs asked for it so far


@dataclass
class WatchState:
    provider: str
    # the validators of the last list body read, and its content
    etag: str | None = None
    last_modified: str | None = None
    validated_fingerprint: str | None = None
    verified_at: float | None = None  # the last poll that found upstream equal to what is published
    polls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    requests_total: int = 0
    skipped_total: int = 0
    budget_spent: list[float] = field(default_factory=list)
    budget_list_spent: list[float] = field(default_factory=list)
    pending: PendingChange | None = None
    lag_counts: list[int] = field(default_factory=lambda: [0] * (len(LAG_BUCKETS) + 1))
    lag_sum: float = 0.0
    last_poll_at: float | None = None
    last_outcome: str | None = None
    last_message: str | None = None

    def conditional_headers(self) -> dict[str, str]:
        if self.validated_fingerprint is None:  # nothing to compare a 304 with
            return {}
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def observe_lag(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        index = next((i for i, bound in enumerate(LAG_BUCKETS) if seconds <= bound), len(LAG_BUCKETS))
        self.lag_counts[index] += 1
        self.lag_sum += seconds

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, provider: str, text: str | None) -> WatchState:
        """The stored state; a fresh one when there is none or it cannot be read (a state kept
        by other code: the watcher starts over, which costs one full-body poll)."""
        if not text:
            return cls(provider)
        try:
            data = json.loads(text)
            pending = data.pop("pending", None)
            state = cls(**{**data, "provider": provider})
            state.pending = PendingChange(**pending) if pending else None
            state.polls = {o: int(state.polls.get(o, 0)) for o in OUTCOMES}
            if len(state.lag_counts) != len(LAG_BUCKETS) + 1:
                state.lag_counts, state.lag_sum = [0] * (len(LAG_BUCKETS) + 1), 0.0
            return state
        except (ValueError, TypeError, AttributeError):
            return cls(provider)


def storage_key(provider: str) -> str:
    return KEY_PREFIX + provider


def load(instance: DagsterInstance, provider: str) -> WatchState:
    key = storage_key(provider)
    return WatchState.from_json(provider, instance.run_storage.get_cursor_values({key}).get(key))


def load_all(instance: DagsterInstance, providers) -> dict[str, WatchState]:
    keys = {storage_key(p) for p in providers}
    stored = instance.run_storage.get_cursor_values(keys)
    return {p: WatchState.from_json(p, stored.get(storage_key(p))) for p in providers}


def save(instance: DagsterInstance, state: WatchState) -> None:
    instance.run_storage.set_cursor_values({storage_key(state.provider): state.to_json()})


def verified_at(instance: DagsterInstance, provider: str) -> datetime | None:
    """When the watcher last found ``provider``'s upstream as published (None: never)."""
    moment = load(instance, provider).verified_at
    return None if moment is None else datetime.fromtimestamp(moment, tz=timezone.utc)


# A watcher's run names the models whose endpoints it fetches in a run tag; a long list would
# not fit PostgreSQL's run-tag index (about 2.7 kB: the run is stored without its tags, run key
# included), so it is kept here under the run key and the tag refers to it.
SCOPE_PREFIX = "pricing_pipeline/watch_scope/"
SCOPE_REFERENCE = "stored:"
MAX_SCOPE_TAG_CHARS = 1000


def scope_tag(instance: DagsterInstance, run_key: str, models: list[str]) -> str:
    """The run tag's value for ``models``: the JSON list, or a reference to it stored here."""
    text = json.dumps(sorted(models))
    if len(text) <= MAX_SCOPE_TAG_CHARS:
        return text
    instance.run_storage.set_cursor_values({SCOPE_PREFIX + run_key: text})
    return SCOPE_REFERENCE + run_key


def scope_models(instance: DagsterInstance, tag: str) -> list:
    """The models a scope tag names (raises ValueError when it cannot be read)."""
    if tag.startswith(SCOPE_REFERENCE):
        key = SCOPE_PREFIX + tag.removeprefix(SCOPE_REFERENCE)
        tag = instance.run_storage.get_cursor_values({key}).get(key)
        if tag is None:
            raise ValueError("the stored scope is gone")
    return json.loads(tag)
