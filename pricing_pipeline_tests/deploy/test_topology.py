"""deploy/compose.yaml started for real under podman (podman-compose, pricing_pipeline_tests/
deploy/topology.py) and used as operators and viewers use it. Runs wherever podman works, on the
container tests' own pytest run after the suite; CI insists (PRICING_CONTAINER_TESTS=1)."""

from __future__ import annotations

import json
import re
import urllib.request

from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.deploy.podman import CONTAINERS, podman
from pricing_pipeline_tests.deploy.topology import PROBE_JOB, build_changed_image
from pricing_pipeline_tests.deployment.graphql_documents import RELOAD, TERMINATE

pytestmark = CONTAINERS
PRICES_API_GET = ("import sys, urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080' + sys.argv[1], "
                  "timeout=30).read().decode())")
PROVIDER_KEY_NAMES = {"TOGETHER_API_KEY", "NOVITA_API_KEY", "OPENROUTER_API_KEY"}


def test_every_service_starts_and_passes_its_health_check(topology):
    expected = {"postgres", "code-server", "webserver", "webserver-read-only", "daemon", "prices-api", "pushgateway",
                "blackbox", "prometheus", "alertmanager", "replay"}
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
    # queued by the CLI, launched by the daemon service (PIPELINE_STARTING comes from whoever
    # launches a queued run); the CLI started no daemon of its own
    for kind in ("PIPELINE_ENQUEUED", "PIPELINE_STARTING"):
        seen = topology.psql("dagster", "SELECT count(DISTINCT run_id) FROM event_logs "
                                        f"WHERE dagster_event_type = '{kind}' AND run_id IN ({listed})")
        assert int(seen[0][0]) == len(PROVIDER_NAMES), kind
    no_own_daemon = topology.exec("code-server", "test", "!", "-e", "/opt/dagster/dagster_home/pricing-cli/daemon.log",
                                  check=False)
    assert no_own_daemon.returncode == 0
    # prices-api serves what was published, as the read-only role compose's init script made
    served = json.loads(topology.exec("prices-api", "python", "-c", PRICES_API_GET,
                                      "/v1/prices?provider=together").stdout)
    (listed,) = topology.psql("pricing", "SELECT count(*) FROM model_prices WHERE provider = 'together' "
                                         "AND removed_at IS NULL")[0]
    assert len(served) == int(listed) > 0
    assert topology.exec("prices-api", "python", "-c", PRICES_API_GET, "/v1/feeds/prices.json").stdout.strip()


def test_the_read_only_webserver_refuses_a_launch_and_the_operator_one_terminates(topology):
    refused = topology.launch_sync("webserver-read-only", "together")
    assert refused["__typename"] == "UnauthorizedError", refused
    with topology.provider_apis_frozen():  # the launched run hangs on its fetch
        launched = topology.launch_sync("webserver", "together")
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        assert topology.wait_for_status(run_id, {"STARTED", "FAILURE", "SUCCESS"}) == "STARTED"
        refused = topology.graphql("webserver-read-only", TERMINATE, runId=run_id)["terminateRun"]
        assert refused["__typename"] == "TerminateRunFailure" and "permission" in refused["message"], refused
        terminated = topology.graphql("webserver", TERMINATE, runId=run_id)["terminateRun"]
        assert terminated["__typename"] == "TerminateRunSuccess", terminated
        topology.wait_until("the run canceling", lambda: "PIPELINE_CANCELING" in run_events(topology, run_id))
    # The code server interrupts the step, and Dagster retries an interrupted step that has a
    # retry policy (the fetch has), so the run ends canceled, or goes on against the answering
    # upstream; it never hangs on.
    status = topology.wait_for_status(run_id, {"CANCELED", "FAILURE", "SUCCESS"})
    after = run_events(topology, run_id)
    after = after[after.index("PIPELINE_CANCELING"):]
    assert status == "CANCELED" or "STEP_UP_FOR_RETRY" in after, (status, after)


def run_events(topology, run_id: str) -> list[str]:
    return [kind for (kind,) in topology.psql("dagster", "SELECT dagster_event_type FROM event_logs WHERE run_id = "
                                                         f"'{run_id}' AND dagster_event_type IS NOT NULL ORDER BY id")]


def test_a_code_change_deployed_and_reloaded_runs_the_new_code(topology):
    """A new build of the image deployed to the code server (`up -d --no-deps --force-recreate
    code-server`), then Reload from the operator webserver: the next run runs the new code.
    Podman ties a container to those it depends on (podman-compose creates them with
    `--requires`), so the webservers and the daemon are recreated with the code server; docker
    compose would replace the code server alone."""
    missing = topology.launch("webserver", PROBE_JOB)
    assert missing["__typename"] == "PipelineNotFoundError", missing
    built = build_changed_image(topology.work, "v2", f"localhost/{topology.spec.project}:next")
    podman("tag", built, topology.image)
    before = container_ids(topology)
    topology.compose("up", "-d", "--no-deps", "--force-recreate", "code-server")
    after = container_ids(topology)
    assert after["code-server"] != before["code-server"]
    assert after["postgres"] == before["postgres"]  # the instance and the prices stay
    for service in ("webserver", "daemon"):
        topology.wait_until(f"{service} healthy", lambda s=service: topology.health_of(s) == "healthy")
    topology.wait_until("the new code server healthy", lambda: topology.health_of("code-server") == "healthy")
    reloaded = topology.wait_until("the reload", lambda: reload_location(topology))
    assert reloaded == "RepositoryLocation", reloaded
    launched = topology.launch("webserver", PROBE_JOB)
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    assert topology.wait_for_status(run_id, {"SUCCESS", "FAILURE", "CANCELED"}) == "SUCCESS"
    logged = topology.psql("dagster", f"SELECT event FROM event_logs WHERE run_id = '{run_id}' "
                                      "AND event LIKE '%running code version%'")
    assert [re.search(r"running code version (\w+)", event).group(1) for (event,) in logged] == ["v2"]


def reload_location(topology) -> str | None:
    """The operator webserver's Reload; None while the location still fails to load."""
    answer = topology.graphql("webserver", RELOAD, name="pricing_pipeline")["reloadRepositoryLocation"]
    loaded = answer["locationOrLoadError"]["__typename"]
    return loaded if loaded == "RepositoryLocation" else None


def container_ids(topology) -> dict[str, str]:
    return {service: podman("inspect", name, "--format", "{{.Id}}").stdout.strip()
            for service, name in topology.containers().items()}
