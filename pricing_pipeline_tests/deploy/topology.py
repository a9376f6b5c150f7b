"""The one-host topology of deploy/compose.yaml, started by podman-compose from the stand-in
compose file (deploy/podman/standin_compose.py): our image in every Dagster role, Debian-built
stand-ins for PostgreSQL and the Prometheus tools, the recorded provider APIs as a service.

Podman 4.3 (Debian 12) runs health checks through systemd timers, and there is no systemd here:
the checks compose defines are run by `podman healthcheck run`, polled by `wait_healthy`, and
podman-compose ignores `condition: service_healthy` before podman 4.6, so the Dagster services
may start before PostgreSQL answers and are restarted by their `restart: unless-stopped`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pricing_pipeline_tests.deploy.podman import (
    BUILD_HANG_GUARD_SECONDS,
    ENV,
    PODMAN_DIR,
    base_image,
    podman,
    standin_image,
)
from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_RUN
from pricing_pipeline_tests.recordings import REPO_ROOT

# deploy/podman/ is not a package (it is run as a script too): load the module from its file
_spec = importlib.util.spec_from_file_location("standin_compose", PODMAN_DIR / "standin_compose.py")
standin_compose = importlib.util.module_from_spec(_spec)
sys.modules["standin_compose"] = standin_compose  # dataclasses look their module up
_spec.loader.exec_module(standin_compose)
StandinTopology, write_standin_compose = standin_compose.StandinTopology, standin_compose.write_standin_compose

COMPOSE = [str(Path(sys.executable).parent / "podman-compose")]
# what deploy/Dockerfile copies (.dockerignore lets nothing else in)
BUILD_CONTEXT = ["pyproject.toml", "README.md", "pricing_pipeline", "deploy/constraints.txt", "deploy/Dockerfile",
                 "dagster.yaml", "workspace.yaml", ".dockerignore"]
HEALTH_HANG_GUARD_SECONDS = 900
RUN_HANG_GUARD_SECONDS = 600
# Drill time: run monitoring looks every 5 s instead of 30 (the drill's victim run carries its
# own short `dagster/max_runtime`: DefaultRunLauncher cannot check a run worker's health), the
# metrics heartbeat every 15 s instead of 60, the sync-log reconciler every 10 s instead of 30,
# the change watcher off (its first polls would launch a second sync of every provider beside
# the test's own; deployment/test_watcher.py runs it under a real daemon), and the feeds volume
# is a small tmpfs to fill.
DRILL_RUN_MONITORING = {"poll_interval_seconds": 5}
DRILL_CODE_SERVER_SETTINGS = {"PRICING_METRICS_HEARTBEAT_SECONDS": "15", "PRICING_RECONCILE_SECONDS": "10",
                              "PRICING_WATCH_ENABLED": "false"}
FEEDS_VOLUME_MIB = 256
RUN_STATUS = "query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"
GRAPHQL_CLIENT = """
import json, sys, urllib.request
request = urllib.request.Request("http://127.0.0.1:3000/graphql", data=sys.stdin.buffer.read(),
                                 headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(request, timeout=60).read().decode())
"""


@dataclass
class Topology:
    spec: StandinTopology

    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run([*COMPOSE, "-p", self.spec.project, "-f", str(self.spec.compose_file), *args],
                                env=ENV, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"podman-compose {' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def containers(self) -> dict[str, str]:
        """service -> container name (one each)."""
        listed = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={self.spec.project}",
                        "--format", "{{.Names}}\t{{.Labels}}")
        found = {}
        for line in listed.stdout.splitlines():
            name = line.split("\t")[0]
            labels = podman("inspect", name, "--format", "{{json .Config.Labels}}").stdout
            found[json.loads(labels)["com.docker.compose.service"]] = name
        return found

    def container(self, service: str) -> str:
        return self.containers()[service]

    def exec(self, service: str, *command: str, stdin: str | None = None, check: bool = True,
             timeout: float = 900) -> subprocess.CompletedProcess:
        result = subprocess.run(["podman", "exec", "-i", self.container(service), *command], input=stdin, env=ENV,
                                capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, f"{service}: {command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def health(self) -> dict[str, str]:
        """Each service's health check, run now: 'healthy' or what it printed."""
        return {service: self.health_of(service) for service in self.containers()}

    def health_of(self, service: str) -> str:
        run = podman("healthcheck", "run", self.container(service), check=False, timeout=120)
        return "healthy" if run.returncode == 0 else (run.stdout + run.stderr).strip()[-200:] or "unhealthy"

    def wait_healthy(self) -> dict[str, float]:
        """Poll every health check until all pass; seconds until each first passed."""
        started = time.monotonic()
        passed: dict[str, float] = {}
        while True:
            for service, state in self.health().items():
                if state == "healthy":
                    passed.setdefault(service, round(time.monotonic() - started, 1))
            if set(passed) == set(self.containers()):
                return passed
            if time.monotonic() - started > HEALTH_HANG_GUARD_SECONDS:
                raise AssertionError(f"never healthy: {self.health()}\n{self.logs_of_unhealthy()}")
            time.sleep(3)

    def logs_of_unhealthy(self) -> str:
        return "\n".join(f"--- {s}\n{podman('logs', '--tail', '30', n, check=False).stderr[-2000:]}"
                         for s, n in self.containers().items() if self.health().get(s) != "healthy")

    def graphql(self, service: str, query: str, **variables) -> dict:
        """A GraphQL request to a webserver, sent from inside its container (the operator webserver
        publishes no port: only the backend network, and the omitted proxy, reach it)."""
        answer = self.exec(service, "python", "-c", GRAPHQL_CLIENT,
                           stdin=json.dumps({"query": query, "variables": variables}))
        body = json.loads(answer.stdout)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def launch(self, webserver: str, job: str, **tags: str) -> dict:
        """A run of ``job`` launched from a webserver, as its Launch/Materialize button does."""
        selector = {"repositoryLocationName": "pricing_pipeline", "repositoryName": "__repository__",
                    "pipelineName": job}
        params = {"mode": "default", "runConfigData": {}, "selector": selector,
                  "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
        return self.graphql(webserver, LAUNCH_RUN, executionParams=params)["launchPipelineExecution"]

    def launch_sync(self, webserver: str, provider: str, **tags: str) -> dict:
        """One provider's sync launched from a webserver, as its Materialize button does."""
        return self.launch(webserver, "price_sync_job", **{"dagster/partition": provider, **tags})

    def run_status(self, run_id: str) -> str:
        return self.psql("dagster", f"SELECT status FROM runs WHERE run_id = '{run_id}'")[0][0]

    def wait_for_status(self, run_id: str, wanted: set[str], guard: float = RUN_HANG_GUARD_SECONDS) -> str:
        """The run's status once it is one of ``wanted`` (or whatever it is at the hang guard)."""
        deadline = time.monotonic() + guard
        while (status := self.run_status(run_id)) not in wanted and time.monotonic() < deadline:
            time.sleep(2)
        return status

    @contextmanager
    def provider_apis_frozen(self):
        """The replay service paused: connections are accepted, nothing answers (a hung upstream)."""
        podman("pause", self.container("replay"))
        try:
            yield
        finally:
            podman("unpause", self.container("replay"))

    def pushed(self, metric: str, **labels: str) -> float | None:
        """A value in the Pushgateway, read from the backend network."""
        text = self.exec("code-server", "python", "-c", "import urllib.request; print(urllib.request.urlopen("
                         "'http://pushgateway:9091/metrics', timeout=10).read().decode())").stdout
        for line in text.splitlines():
            if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_until(self, what: str, check, guard: float = RUN_HANG_GUARD_SECONDS):
        deadline = time.monotonic() + guard
        while not (value := check()):
            assert time.monotonic() < deadline, f"never: {what}"
            time.sleep(3)
        return value

    def psql(self, database: str, sql: str) -> list[list[str]]:
        out = self.exec("postgres", "psql", "-U", "postgres", "-d", database, "-At", "-F", "\t", "-c", sql).stdout
        return [line.split("\t") for line in out.splitlines() if line]


PROBE_JOB = "code_version_probe"
CODE_CHANGE = f'''

# --- a code change, deployed by pricing_pipeline_tests/deploy/test_topology.py
from dagster import job as _job, op as _op


@_op
def report_code_version(context):
    context.log.info("running code version {{version}}")


@_job
def {PROBE_JOB}():
    report_code_version()


defs = Definitions.merge(defs, Definitions(jobs=[{PROBE_JOB}]))
'''


def build_changed_image(work: Path, version: str, tag: str) -> str:
    """deploy/Dockerfile built from a copy of the build context whose definitions.py gains a job
    that logs ``version``: a code change as a developer would make it, built as CI builds."""
    context = work / f"context-{version}"
    ignore = shutil.ignore_patterns("__pycache__")
    for name in BUILD_CONTEXT:
        source = REPO_ROOT / name
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree(source, target, ignore=ignore) if source.is_dir() else shutil.copy2(source, target))
    definitions = context / "pricing_pipeline" / "definitions.py"
    definitions.write_text(definitions.read_text() + CODE_CHANGE.format(version=version))
    base, _ = base_image()
    podman("build", "--network=host", "--build-arg", f"PYTHON_IMAGE={base}", "-f", "deploy/Dockerfile", "-t", tag,
           str(context), timeout=BUILD_HANG_GUARD_SECONDS)
    return tag


def standin_topology(work: Path, image: str, replay_files: dict[str, Path], project: str) -> Topology:
    """The stand-in compose file, written; ``image``: the name compose runs our roles from (a
    deploy retags it to the new build)."""
    base, _ = base_image()
    spec = write_standin_compose(
        work, image=image, base_image=base, project=project, replay_files=replay_files,
        run_monitoring=DRILL_RUN_MONITORING, code_server_settings=DRILL_CODE_SERVER_SETTINGS,
        feeds_volume_mib=FEEDS_VOLUME_MIB,
        postgres_image=standin_image("postgres.Containerfile", base),
        monitoring_image=standin_image("monitoring.Containerfile", base),
    )
    print(f"\n{spec.report()}", file=sys.stderr)
    return Topology(spec)


def stop_topology(topology: Topology) -> None:
    subprocess.run([*COMPOSE, "-p", topology.spec.project, "-f", str(topology.spec.compose_file), "down", "-v",
                    "-t", "5"], env=ENV, capture_output=True, timeout=600)
