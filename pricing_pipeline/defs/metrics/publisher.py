"""Compute the metrics from the instance and push them to the Pushgateway.

Two kinds of push, both carrying the complete computed state:
- sensors (heartbeat, run outcomes) PUT the whole group ``job=<job>``: whatever the group held
  (nothing, after a Pushgateway restart) is replaced by the values the run history gives now,
  including the publisher heartbeat;
- the sync job's hook POSTs: it replaces every metric family it sends but leaves the heartbeat
  alone, so the heartbeat stays the witness of the sensors (the daemon) being alive.

Pushes are serialized by a lock (one per Pushgateway group, a file lock under the system temp
dir shared by every process on the host: code server, run workers, CLI) held from the start of
the computation to the end of the push. Each computation therefore starts after the previous
push ended and sees at least the history that push was computed from, so the sequence of
pushed values never goes down. Without the lock, a run worker computing just before a sensor
and pushing just after it would briefly roll counters back, which Prometheus reads as a reset.

A failed push (Pushgateway down, timeout) is logged and otherwise ignored: the next push sends
the complete state again and catches up.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from dagster import DagsterInstance, DefaultScheduleStatus
from prometheus_client import push_to_gateway, pushadd_to_gateway

from pricing_pipeline.defs.metrics.derivation import MetricsState, collect_state
from pricing_pipeline.defs.metrics.exposition import state_registry
from pricing_pipeline.defs.metrics.resources import PUBLISHING_OFF, MetricsPublisher
from pricing_pipeline.defs.metrics.run_facts import ScheduleInfo
from pricing_pipeline.defs.sync.schedules import price_sync_schedule
from pricing_pipeline.providers._http import public_url

logger = logging.getLogger(__name__)

# A run-status sensor is called once per finished run; several runs finishing in one tick need
# one push, and an unreachable Pushgateway one log line per tick (ticks are >= 30 s apart).
QUIET_AFTER_FAILURE_SECONDS = 20.0


@dataclass(frozen=True)
class PushResult:
    pushed: bool
    message: str
    state: MetricsState | None = None
    seconds: float = 0.0


@dataclass
class _History:
    """What this process last pushed (used only to skip redundant pushes, never for values)."""

    ok_computed_at: float | None = None
    failed_at: float | None = None  # time.monotonic()


_history: dict[tuple[str, str], _History] = {}
_history_lock = threading.Lock()


def reset_history() -> None:
    """Forget what this process pushed (as a restarted process would)."""
    with _history_lock:
        _history.clear()


def _history_for(publisher: MetricsPublisher) -> _History:
    with _history_lock:
        return _history.setdefault((publisher.pushgateway_url, publisher.job), _History())


def sync_schedule_info() -> ScheduleInfo:
    return ScheduleInfo(
        name=price_sync_schedule.name,
        cron=str(price_sync_schedule.cron_schedule),
        timezone=price_sync_schedule.execution_timezone or "UTC",
        default_running=price_sync_schedule.default_status == DefaultScheduleStatus.RUNNING,
    )


@contextmanager
def push_lock(publisher: MetricsPublisher, timeout_seconds: float):
    """Yields True once this process holds the group's lock, False if it could not get it in
    time."""
    key = f"{publisher.pushgateway_url}|{publisher.job}".encode()
    path = os.path.join(tempfile.gettempdir(), f"pricing-metrics-{hashlib.sha256(key).hexdigest()[:16]}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def publish_metrics(
    instance: DagsterInstance,
    publisher: MetricsPublisher,
    *,
    heartbeat: bool,
    log: logging.Logger | None = None,
    location_name: str | None = None,
    lock_timeout_seconds: float | None = None,
) -> PushResult:
    """Compute the state from ``instance`` and push it. Never raises."""
    log = log or logger
    if not publisher.enabled:
        return PushResult(False, PUBLISHING_OFF)
    started = time.monotonic()
    target = public_url(publisher.pushgateway_url)
    # The sensors' record of their own pushes (the hook's POSTs, in a run, do not count).
    history = _history_for(publisher) if heartbeat else _History()
    try:
        lock_timeout = publisher.lock_timeout_seconds if lock_timeout_seconds is None else lock_timeout_seconds
        with push_lock(publisher, lock_timeout) as locked:
            if not locked:
                message = f"metrics not pushed to {target}: another push held the lock for {lock_timeout:.0f}s"
                log.warning(message)
                return PushResult(False, message, seconds=time.monotonic() - started)
            computed_at = time.time()
            state = collect_state(instance, schedule=sync_schedule_info(), location_name=location_name, now=computed_at)
            registry = state_registry(state, heartbeat_timestamp=computed_at if heartbeat else None)
            push = push_to_gateway if heartbeat else pushadd_to_gateway
            try:
                push(publisher.pushgateway_url, job=publisher.job, registry=registry, timeout=publisher.timeout_seconds)
            except Exception as exc:  # noqa: BLE001 - any failure to push is reported the same way
                history.failed_at = time.monotonic()
                message = f"metrics push to {target} failed ({type(exc).__name__}: {_short(exc)}); the next push catches up"
                log.warning(message)
                return PushResult(False, message, state, time.monotonic() - started)
            history.ok_computed_at = computed_at
            history.failed_at = None
    except Exception as exc:  # noqa: BLE001 - e.g. the instance's storage was unreachable
        history.failed_at = time.monotonic()
        message = f"metrics not computed ({type(exc).__name__}: {_short(exc)}); the next push catches up"
        log.warning(message)
        return PushResult(False, message, seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    return PushResult(
        True,
        f"pushed the metrics of {state.runs_read} runs to {target} in {seconds:.2f}s",
        state,
        seconds,
    )


def publish_for_finished_run(
    instance: DagsterInstance,
    publisher: MetricsPublisher,
    run_end_time: float | None,
    *,
    log: logging.Logger | None = None,
    location_name: str | None = None,
) -> PushResult:
    """A run-status sensor's push for one finished run. Skipped when this process already
    pushed a state computed after the run ended (another run of the same tick), or a push
    failed moments ago (logged then; the heartbeat retries)."""
    history = _history_for(publisher)
    if history.ok_computed_at is not None and run_end_time is not None and history.ok_computed_at >= run_end_time:
        return PushResult(False, "already pushed a state including this run")
    if history.failed_at is not None and time.monotonic() - history.failed_at < QUIET_AFTER_FAILURE_SECONDS:
        return PushResult(False, "the last push failed moments ago; not retried in this tick")
    return publish_metrics(instance, publisher, heartbeat=True, log=log, location_name=location_name)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text[:limit]
