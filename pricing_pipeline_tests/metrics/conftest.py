"""Fixtures of the metrics tests: a real Pushgateway on a free 127.0.0.1 port, a persistent
Dagster instance in a temp DAGSTER_HOME, and sync definitions publishing to that Pushgateway."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

PUSHGATEWAY = shutil.which("prometheus-pushgateway")
PROMTOOL = shutil.which("promtool")
JOB = "pricing_pipeline"
UPSTREAM_TIMEOUT_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class Pushgateway:
    """The real Pushgateway binary, started and stopped by the test."""

    def __init__(self, tmp: Path, persistence: bool = False):
        if PUSHGATEWAY is None:
            if os.environ.get("CI"):
                raise RuntimeError("prometheus-pushgateway is not installed")
            pytest.skip("prometheus-pushgateway is not installed")
        self.port = free_port()
        self.persistence_file = tmp / "pushgateway.data" if persistence else None
        self.log = tmp / "pushgateway.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Pushgateway:
        args = [
            PUSHGATEWAY,
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--persistence.file={self.persistence_file or ''}",
            "--persistence.interval=1s",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pushgateway did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # the Pushgateway writes its persistence file on SIGTERM
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def exposition(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            return response.read().decode()

    def samples(self) -> list[Sample]:
        """Our group's samples, without the Pushgateway's own push_time/push_failure_time."""
        out = []
        for family in text_string_to_metric_families(self.exposition()):
            for s in family.samples:
                if s.labels.get("job") == JOB and not s.name.startswith("push_"):
                    labels = {k: v for k, v in s.labels.items() if k not in ("job", "instance")}
                    out.append(Sample(s.name, labels, s.value))
        return out

    def values(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in self.samples()}

    def value(self, name: str, **labels: str) -> float | None:
        return self.values().get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def pushgateway(tmp_path) -> Iterator[Pushgateway]:
    gateway = Pushgateway(tmp_path).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def instance(tmp_path):
    """A persistent instance (SQLite storage in a temp DAGSTER_HOME), as `dagster dev` has."""
    from dagster._core.test_utils import instance_for_test

    home = tmp_path / "dagster_home"
    home.mkdir()
    with instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def publisher(pushgateway):
    from pricing_pipeline.defs.metrics import publisher as publisher_module
    from pricing_pipeline.defs.metrics.resources import MetricsPublisher

    publisher_module.reset_history()
    yield MetricsPublisher(pushgateway_url=pushgateway.url)
    publisher_module.reset_history()


@pytest.fixture
def metrics_defs(sqlite_url, publisher):
    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    return build_definitions(
        {
            "pricing_db": PricingDatabase(url=sqlite_url),
            # Local replay server: a second is plenty, and keeps the timeout tests short.
            "upstream": UpstreamApi(timeout_seconds=UPSTREAM_TIMEOUT_SECONDS, connect_timeout_seconds=1),
            "metrics": publisher,
        }
    )


@pytest.fixture
def sync(metrics_defs, instance):
    """Run the sync job for one provider on the persistent instance."""
    from pricing_pipeline.defs.runs import SYNC_JOB_NAME

    job = metrics_defs.resolve_job_def(SYNC_JOB_NAME)

    def run(provider: str, tags: dict | None = None, **kwargs):
        return job.execute_in_process(
            partition_key=provider, instance=instance, raise_on_error=False, tags=tags or {}, **kwargs
        )

    return run


def heartbeat(instance, publisher):
    """One evaluation of the heartbeat sensor, as the daemon does it."""
    from dagster import build_sensor_context

    from pricing_pipeline.defs.metrics.sensors import pricing_metrics_heartbeat

    with build_sensor_context(instance=instance, resources={"metrics": publisher}) as context:
        return pricing_metrics_heartbeat(context)


def run_status_sensor_tick(instance, publisher, run_id: str):
    """One evaluation of the run-status sensor matching the run's status, for that run."""
    from dagster import DagsterEventType, build_run_status_sensor_context

    from pricing_pipeline.defs.metrics import sensors

    run = instance.get_run_by_id(run_id)
    sensor_def, event_type = {
        "SUCCESS": (sensors.pricing_metrics_on_sync_success, DagsterEventType.RUN_SUCCESS),
        "FAILURE": (sensors.pricing_metrics_on_sync_failure, DagsterEventType.RUN_FAILURE),
        "CANCELED": (sensors.pricing_metrics_on_sync_canceled, DagsterEventType.RUN_CANCELED),
    }[run.status.value]
    event = instance.get_records_for_run(run_id, of_type=event_type).records[-1].event_log_entry.dagster_event
    context = build_run_status_sensor_context(
        sensor_name=sensor_def.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"metrics": publisher},
    )
    return sensor_def(context)


def promtool_check(text: str) -> subprocess.CompletedProcess:
    if PROMTOOL is None:
        if os.environ.get("CI"):
            raise RuntimeError("promtool is not installed")
        pytest.skip("promtool is not installed")
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
