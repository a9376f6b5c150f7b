"""deploy/compose.yaml started for real under podman (podman-compose, pricing_pipeline_tests/
deploy/topology.py) and used as operators and viewers use it. Opt-in, too heavy for every CI run
on 2 shared cores: PRICING_TOPOLOGY_TESTS=1, or `make topology-check`."""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request

import pytest

from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.deploy.podman import build_image, podman, why_podman_unusable
from pricing_pipeline_tests.deploy.topology import start_topology, stop_topology
from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_RUN, TERMINATE
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPO_ROOT, require_file

pytestmark = pytest.mark.skipif(os.environ.get("PRICING_TOPOLOGY_TESTS") != "1",
                                reason="opt-in: PRICING_TOPOLOGY_TESTS=1 (make topology-check)")
PROVIDER_KEY_NAMES = {"TOGETHER_API_KEY", "NOVITA_API_KEY", "OPENROUTER_API_KEY"}
RUN_STATUS = "query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"
HANG_GUARD_SECONDS = 600


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    assert why_podman_unusable() is None, why_podman_unusable()
    for path in REPLAY_FILES.values():
        require_file(path)
    image = build_image()
    project = f"pricing-topology-{hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]}"
    started = start_topology(tmp_path_factory.mktemp("topology"), image, REPLAY_FILES, project)
    try:
        started.seconds_to_healthy = started.wait_healthy()
        yield started
    finally:
        stop_topology(started)


def sync_launch_params(provider: str) -> dict:
    selector = {"repositoryLocationName": "pricing_pipeline", "repositoryName": "__repository__",
                "pipelineName": "price_sync_job"}
    return {"mode": "default", "runConfigData": {}, "selector": selector,
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": provider}]}}


def wait_for_status(topology, run_id: str, wanted: set[str]) -> str:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while True:
        status = topology.graphql("webserver", RUN_STATUS, runId=run_id)["runOrError"]["status"]
        if status in wanted or time.monotonic() > deadline:
            return status
        time.sleep(2)


def test_every_service_starts_and_passes_its_health_check(topology):
    expected = {"postgres", "code-server", "webserver", "webserver-read-only", "daemon", "pushgateway", "blackbox",
                "prometheus", "alertmanager", "replay"}
    assert set(topology.containers()) == expected
    assert topology.health() == {service: "healthy" for service in expected}
    # the viewers' published port (moved to a free 127.0.0.1 port)
    port = topology.spec.ports["webserver-read-only"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=30) as answer:
        assert answer.status == 200
    print(f"\nseconds until each health check first passed: {topology.seconds_to_healthy}")


def test_only_the_code_server_sees_a_provider_key(topology):
    seen = {}
    for service, container in topology.containers().items():
        environ = json.loads(podman("inspect", container, "--format", "{{json .Config.Env}}").stdout)
        seen[service] = PROVIDER_KEY_NAMES & {entry.split("=", 1)[0] for entry in environ}
    assert seen.pop("code-server") == PROVIDER_KEY_NAMES
    assert seen == {service: set() for service in seen}


def test_a_cli_sync_of_every_provider_goes_through_the_daemon_into_postgresql(topology):
    sync = topology.exec("code-server", "pricing-pipeline", "sync", check=False)
    assert sync.returncode == 0, sync.stdout[-3000:] + sync.stderr[-3000:]
    rows = [line.split() for line in sync.stdout.strip().splitlines()]
    header = next(i for i, row in enumerate(rows) if row[:2] == ["provider", "status"])
    run_ids = {row[0]: row[-1] for row in rows[header + 1:]}
    assert set(run_ids) == set(PROVIDER_NAMES)
    listed = ", ".join(f"'{run_id}'" for run_id in run_ids.values())
    statuses = dict(topology.psql("pricing", f"SELECT provider, status FROM sync_log WHERE run_id IN ({listed})"))
    assert statuses == {provider: "success" for provider in PROVIDER_NAMES}
    (prices,) = topology.psql("pricing", "SELECT count(*) FROM price_history")[0]
    assert int(prices) > 0
    # the daemon service dequeued and launched every run; the CLI started no daemon of its own
    dequeued = topology.psql("dagster", "SELECT count(DISTINCT run_id) FROM event_logs "
                                        f"WHERE dagster_event_type = 'PIPELINE_DEQUEUED' AND run_id IN ({listed})")
    assert int(dequeued[0][0]) == len(PROVIDER_NAMES)
    no_own_daemon = topology.exec("code-server", "test", "!", "-e", "/opt/dagster/dagster_home/pricing-cli/daemon.log",
                                  check=False)
    assert no_own_daemon.returncode == 0


def test_the_read_only_webserver_refuses_a_launch_and_the_operator_one_terminates(topology):
    refused = topology.graphql("webserver-read-only", LAUNCH_RUN, executionParams=sync_launch_params("together"))
    assert refused["launchPipelineExecution"]["__typename"] == "UnauthorizedError", refused
    # the provider APIs stop answering (the replay service frozen): the launched run hangs on its fetch
    topology_replay = topology.container("replay")
    podman("pause", topology_replay)
    try:
        launched = topology.graphql("webserver", LAUNCH_RUN, executionParams=sync_launch_params("together"))
        assert launched["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["launchPipelineExecution"]["run"]["runId"]
        assert wait_for_status(topology, run_id, {"STARTED", "FAILURE", "SUCCESS"}) == "STARTED"
        refused = topology.graphql("webserver-read-only", TERMINATE, runId=run_id)["terminateRun"]
        assert refused["__typename"] == "TerminateRunFailure" and "permission" in refused["message"], refused
        terminated = topology.graphql("webserver", TERMINATE, runId=run_id)["terminateRun"]
        assert terminated["__typename"] == "TerminateRunSuccess", terminated
        assert wait_for_status(topology, run_id, {"CANCELED", "FAILURE", "SUCCESS"}) == "CANCELED"
    finally:
        podman("unpause", topology_replay)
