"""The code location as Dagster's own tools load it: validate, and `dagster dev`."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from pricing_pipeline_tests import process_leaks
from pricing_pipeline_tests.deployment.conftest import DEPLOYMENT_MARKER
from pricing_pipeline_tests.recordings import REPO_ROOT

DAGSTER = str(Path(os.sys.executable).parent / "dagster")


def test_definitions_validate(tmp_path):
    result = subprocess.run(
        [DAGSTER, "definitions", "validate"],
        cwd=REPO_ROOT, env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "Validation successful for code location pricing_pipeline" in output
    # no warnings of our making (Dagster's own notice that the command is superseded aside)
    ours = [line for line in output.splitlines() if "Warning" in line and "SupersessionWarning" not in line]
    assert ours == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def test_dagster_dev_loads_the_code_location(tmp_path):
    (tmp_path / "dagster.yaml").symlink_to(REPO_ROOT / "dagster.yaml")
    port, token = free_port(), uuid.uuid4().hex
    process = subprocess.Popen(
        [DAGSTER, "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path), DEPLOYMENT_MARKER: token},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # dagster dev copies SIGINT's handler to SIGTERM; reset it so SIGTERM stops it
        preexec_fn=lambda: (os.setsid(), signal.signal(signal.SIGINT, signal.SIG_DFL)),
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, "dagster dev exited"
                assert time.monotonic() < deadline, "dagster dev did not answer /server_info"
                time.sleep(0.5)
        while True:
            data = graphql(
                port,
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                "locationOrLoadError { __typename ... on RepositoryLocation { repositories { "
                "jobs { name } schedules { name } } } } } } } }",
            )
            [entry] = data["workspaceOrError"]["locationEntries"]
            if entry["loadStatus"] == "LOADED":
                break
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert entry["name"] == "pricing_pipeline"
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        [repository] = entry["locationOrLoadError"]["repositories"]
        assert {"price_sync_job", "price_freshness_check_job"} <= {j["name"] for j in repository["jobs"]}
        assert {s["name"] for s in repository["schedules"]} >= {"price_sync_schedule", "price_freshness_schedule"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The code servers dagster dev started may outlive it until their heartbeat times out
        # (30-45 s), as in test_dagster_dev_reload: stop this test's own, not the session's.
        process_leaks.leaked_processes(token, grace_seconds=5, marker=DEPLOYMENT_MARKER)


def test_instance_runs_at_most_one_sync_per_provider_at_a_time(tmp_path):
    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    (tmp_path / "dagster.yaml").symlink_to(REPO_ROOT / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits


def test_shipped_run_monitoring_outlasts_every_legitimate_run_and_the_stuck_alert_outlasts_it():
    import yaml

    from pricing_pipeline.defs.sync.assets import MAX_RETRY_AFTER_SECONDS
    from pricing_pipeline.providers._http import DEFAULT_TIMEOUT_SECONDS

    monitoring = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["run_monitoring"]
    assert monitoring["enabled"] and monitoring["start_timeout_seconds"] > 0
    # the slowest legitimate run with the production retry settings (PRICING_RETRY_MAX=3,
    # PRICING_RETRY_DELAY_SECONDS=10; the tests shorten both): a 429's longest honoured
    # Retry-After, the exponential backoff, every attempt up to the HTTP timeout
    retries, delay = 3, 10
    slowest = MAX_RETRY_AFTER_SECONDS + sum(delay * 2**i for i in range(retries)) + (retries + 1) * DEFAULT_TIMEOUT_SECONDS
    assert monitoring["max_runtime_seconds"] > slowest
    rules = yaml.safe_load((REPO_ROOT / "monitoring/prometheus/pricing_sync_alerts.yml").read_text())
    stuck = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "PricingSyncRunStuck")
    threshold = float(stuck["expr"].split(">")[-1])
    assert threshold >= 2 * monitoring["max_runtime_seconds"]
