"""The acceptance check of the stock launcher on one machine: `dagster dev` with the shipped
dagster.yaml (SQLite, run queue, DefaultRunLauncher), a code change, "Reload" (the UI's
mutation), and the next run runs the new code. (The fork-server launcher this replaced kept
running the code it had preloaded.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
import urllib.request
import uuid

import yaml
from dagster import DagsterInstance, DagsterRunStatus

from pricing_pipeline_tests import process_leaks
from pricing_pipeline_tests.deployment.conftest import DEPLOYMENT_MARKER, LOCATION, VENV_BIN
from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_RUN, RELOAD
from pricing_pipeline_tests.metrics.conftest import free_port
from pricing_pipeline_tests.recordings import REPO_ROOT

PROBE_JOB = "code_version_probe"


def location_source(version: str) -> str:
    """The code location `dagster dev` serves: ours, plus a job that logs which code it runs."""
    return textwrap.dedent(f'''
        from dagster import Definitions, job, op
        from pricing_pipeline import definitions

        CODE_VERSION = "{version}"


        @op
        def report_code_version(context):
            context.log.info(f"running code version {{CODE_VERSION}}")


        @job
        def {PROBE_JOB}():
            report_code_version()


        defs = Definitions.merge(definitions.defs, Definitions(jobs=[{PROBE_JOB}]))
    ''')


def probe_params() -> dict:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "pipelineName": PROBE_JOB}
    return {"mode": "default", "runConfigData": {}, "selector": selector}


def graphql(port: int, query: str, **variables) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"query": query, "variables": variables}).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert not body.get("errors"), body["errors"]
    return body["data"]


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := predicate():
                return result
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def code_version_of_next_run(port: int, home) -> str:
    launched = graphql(port, LAUNCH_RUN, executionParams=probe_params())["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    with DagsterInstance.from_config(str(home)) as instance:
        run = wait(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 120, "the probe run")
        assert run.status == DagsterRunStatus.SUCCESS
        (message,) = [e.user_message for e in instance.all_logs(run_id) if "running code version" in e.user_message]
    return message.rsplit(" ", 1)[1]


def test_reload_in_dagster_dev_runs_the_new_code(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    location_file = tmp_path / "pricing_location.py"
    location_file.write_text(location_source("v1"))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_file": {
        "relative_path": str(location_file), "location_name": LOCATION, "working_directory": str(REPO_ROOT)}}]}))
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "DAGSTER_HOME": str(home), "PRICING_DATABASE_URL": f"sqlite:///{tmp_path / 'pricing.db'}",
           "PYTHONWARNINGS": "ignore", DEPLOYMENT_MARKER: token}
    dev = subprocess.Popen(
        [str(VENV_BIN / "dagster"), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path, env=env, stdout=(tmp_path / "dev.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).status == 200, 120,
             "dagster dev's webserver")
        assert code_version_of_next_run(port, home) == "v1"
        location_file.write_text(location_source("v2"))
        reloaded = graphql(port, RELOAD, name=LOCATION)["reloadRepositoryLocation"]
        assert reloaded["locationOrLoadError"]["__typename"] == "RepositoryLocation", reloaded
        assert code_version_of_next_run(port, home) == "v2"
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        process_leaks.leaked_processes(token, grace_seconds=5, marker=DEPLOYMENT_MARKER)
