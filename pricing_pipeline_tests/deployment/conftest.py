"""The production topology, for real: `dagster-webserver` and `dagster-daemon` as separate
processes on a Dagster instance whose storage is PostgreSQL, loading the code location from
workspace.yaml, with the shipped dagster.yaml (run queue, run monitoring). Provider APIs are
the local replay server; the pricing database is PostgreSQL; metrics go to a real Pushgateway.

Only run monitoring's poll interval and maximum runtime are shortened, so a test can wait for
them; everything else is the shipped configuration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from pricing_dev.upstream_server import UpstreamServer
from pricing_pipeline_tests import process_leaks
from pricing_pipeline_tests.conftest import POSTGRES_ADMIN_URL
from pricing_pipeline_tests.metrics.conftest import Pushgateway, free_port
from pricing_pipeline_tests.recordings import DUMMY_API_KEYS, REPLAY_FILES, REPO_ROOT, require_file

VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"
LOCATION = "pricing_pipeline"
TEST_MAX_RUNTIME_SECONDS = 25
TEST_MONITORING_POLL_SECONDS = 3
DEPLOYMENT_MARKER = "PRICING_TEST_DEPLOYMENT"


def _bin(name: str) -> str:
    path = VENV_BIN / name
    return str(path) if path.exists() else name


def _postgres(admin: sa.Engine, name: str) -> dict:
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL)
    return {"username": url.username, "hostname": url.host, "port": url.port or 5432, "db_name": name}


def instance_yaml(storage_db: dict) -> dict:
    config = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    config["storage"] = {"postgres": {"postgres_db": {**storage_db, "password": "", "scheme": "postgresql+psycopg2"}}}
    config["run_monitoring"].update(
        poll_interval_seconds=TEST_MONITORING_POLL_SECONDS, max_runtime_seconds=TEST_MAX_RUNTIME_SECONDS
    )
    return config


class Deployment:
    def __init__(self, tmp: Path, admin: sa.Engine, upstream: UpstreamServer, pushgateway: Pushgateway):
        self.tmp = tmp
        self.admin = admin
        self.upstream = upstream
        self.pushgateway = pushgateway
        suffix = uuid.uuid4().hex[:10]
        self.databases = [f"pricing_dagster_{suffix}", f"pricing_prices_{suffix}"]
        self.home = tmp / "dagster_home"
        self.home.mkdir()
        storage = _postgres(admin, self.databases[0])
        _postgres(admin, self.databases[1])
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(storage)))
        self.pricing_db_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.databases[1]}"
        self.port = free_port()
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "PRICING_DATABASE_URL": self.pricing_db_url,
            "PRICING_PUSHGATEWAY_URL": pushgateway.url,
            # the daemon's sensor cadences, shortened (env knobs of the code location)
            "PRICING_RECONCILE_SECONDS": "5",
            "PRICING_FEEDS_SENSOR_SECONDS": "5",
            "PRICING_FEEDS_DIR": str(tmp / "feeds"),
            "PRICING_METRICS_RUN_SENSOR_SECONDS": "5",
            "PRICING_METRICS_HEARTBEAT_SECONDS": "10",
            "PRICING_HTTP_TIMEOUT_SECONDS": "120",
            "PYTHONWARNINGS": "ignore",
            # marks every process of this deployment, also those started in sessions of their
            # own (the code servers a daemon or webserver starts), for stop()
            DEPLOYMENT_MARKER: suffix,
            **DUMMY_API_KEYS,
        }
        for provider, path in REPLAY_FILES.items():
            require_file(path)
            self.env[f"PRICING_{provider.upper()}_URL"] = upstream.serve_file(f"/{provider}", path)
        self.webserver: subprocess.Popen | None = None
        self.daemons: list[subprocess.Popen] = []
        # every process started, each the leader of its own process group: stop() ends them all
        self.processes: list[subprocess.Popen] = []

    # --- processes ---------------------------------------------------------------------

    def _spawn(self, args: list[str], log_name: str, env: dict | None = None) -> subprocess.Popen:
        log = (self.tmp / log_name).open("ab")
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.processes.append(process)
        return process

    def env_without_keys(self) -> dict:
        """This deployment's environment without the provider keys (this one's, not the test
        process's: the keys are set here alone)."""
        from pricing_pipeline.redaction import API_KEY_SUFFIX, secret_variables

        return {k: v for k, v in self.env.items() if not k.endswith(API_KEY_SUFFIX) and k not in secret_variables()}

    def start_webserver(self) -> None:
        # The webserver never calls a provider: it runs without their keys (docs/production.md).
        self.webserver = self.spawn_webserver("workspace.yaml", self.port, "webserver.log")
        self.wait_for_webserver(self.port)

    def spawn_webserver(self, workspace: str, port: int, log_name: str, *extra_args: str) -> subprocess.Popen:
        return self._spawn(
            [_bin("dagster-webserver"), *extra_args, "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
            log_name, env=self.env_without_keys(),
        )

    def wait_for_webserver(self, port: int) -> None:
        self._wait(lambda: self._server_info(port), 90, f"the webserver on :{port} to answer /server_info")

    def start_daemon(self) -> subprocess.Popen:
        daemon = self._spawn([_bin("dagster-daemon"), "run", "-w", "workspace.yaml"], f"daemon{len(self.daemons)}.log")
        self.daemons.append(daemon)
        return daemon

    def wait_for_daemon_heartbeat(self, daemon_id_count: int = 1, timeout: float = 90) -> None:
        from pricing_pipeline.defs.metrics.run_facts import daemons_heartbeating

        with self.instance() as instance:
            self._wait(lambda: daemons_heartbeating(instance, time.time()) >= daemon_id_count, timeout,
                       "the daemon's heartbeat")

    def _server_info(self, port: int | None = None) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port or self.port}/server_info", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    @staticmethod
    def _wait(predicate, timeout: float, what: str, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")

    def kill_daemon(self, daemon: subprocess.Popen) -> None:
        """SIGKILL the daemon's whole process group: the daemon, the code server it started and
        every run worker that code server launched, as when the host dies."""
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()

    def run_worker_pid(self, run_id: str) -> int | None:
        """The run worker's pid, as its "Started process for run (pid: N)" engine event says."""
        from dagster import DagsterEventType

        with self.instance() as instance:
            for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records:
                entry = record.event_log_entry
                if (entry.message or "").startswith("Started process for run"):
                    return int(entry.dagster_event.engine_event_data.metadata["pid"].value)
        return None

    def stop(self) -> None:
        """Every process started, with its process group (a code server's gRPC child, run
        workers): SIGTERM, then SIGKILL for what is left."""
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # the group's stragglers, if its leader is gone
            process.wait()
        # what the processes started in sessions of their own (a daemon's code server and its
        # run workers) and left behind
        process_leaks.leaked_processes(self.env[DEPLOYMENT_MARKER], grace_seconds=5, marker=DEPLOYMENT_MARKER)
        with self.admin.connect() as conn:
            for name in self.databases:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    # --- clients -----------------------------------------------------------------------

    def instance(self):
        from dagster import DagsterInstance

        return DagsterInstance.from_config(str(self.home))

    def store(self):
        from pricing_pipeline.store import PricingStore

        return PricingStore(self.pricing_db_url)

    def graphql(self, query: str, port: int | None = None, **variables) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port or self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def wait_for_runs(self, run_ids, timeout: float = 120) -> dict:
        with self.instance() as instance:
            def finished():
                runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
                return {r.run_id: r for r in runs} if all(r and r.is_finished for r in runs) else None

            return self._wait(finished, timeout, f"runs {list(run_ids)} to finish")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.tmp / name
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture
def deployment(tmp_path, postgres_admin) -> Iterator[Deployment]:
    upstream = UpstreamServer().start()
    pushgateway = Pushgateway(tmp_path).start()
    deployment = Deployment(tmp_path, postgres_admin, upstream, pushgateway)
    try:
        yield deployment
    finally:
        deployment.stop()
        pushgateway.stop()
        upstream.stop()
