"""The production topology of deploy/ on Dagster's own engines: the code location in a
`dagster code-server` of its own (the only process with the provider keys), an operator
webserver, a `--read-only` webserver and one daemon, all without keys, on PostgreSQL, with the
shipped dagster.yaml (stock DefaultRunLauncher: each run a new process of the code server).

One deployment, four promises: a sync runs with the code server's keys; after a code change and
a reload the next run runs the new code; Terminate from the webserver (a process that shares
nothing with the run but the database and the code server's address) stops a running sync; the
read-only webserver refuses to launch or terminate."""

from __future__ import annotations

import textwrap

import yaml
from dagster import DagsterRunStatus
from dagster._core.workspace.load_target import WorkspaceFileTarget

from pricing_pipeline import submit
from pricing_pipeline_tests.deployment.conftest import LOCATION, VENV_BIN
from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_RUN, RELOAD, TERMINATE
from pricing_pipeline_tests.deployment.test_run_monitoring import (
    PROVIDER,
    hang_upstream,
    heal_upstream,
    wait_until_fetching,
)
from pricing_pipeline_tests.metrics.conftest import free_port

PROBE_JOB = "code_version_probe"


def location_source(version: str) -> str:
    """The code location the code server serves: ours, plus a job that logs which code it runs."""
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


def launch_probe(deployment, port: int) -> dict:
    return deployment.graphql(LAUNCH_RUN, port=port, executionParams=probe_params())["launchPipelineExecution"]


def code_version_of(deployment, run_id: str) -> str:
    run = deployment.wait_for_runs([run_id], timeout=90)[run_id]
    assert run.status == DagsterRunStatus.SUCCESS, deployment.log_tail("code_server.log")
    with deployment.instance() as instance:
        messages = [e.user_message for e in instance.all_logs(run_id) if "running code version" in e.user_message]
    assert len(messages) == 1, messages
    return messages[0].rsplit(" ", 1)[1]


def test_run_reload_and_terminate_on_a_code_server_of_its_own(deployment):
    location_file = deployment.tmp / "pricing_location.py"
    location_file.write_text(location_source("v1"))
    code_port = free_port()
    deployment._spawn(
        [str(VENV_BIN / "dagster"), "code-server", "start", "-f", str(location_file), "--location-name", LOCATION,
         "-h", "127.0.0.1", "-p", str(code_port)],
        "code_server.log",
    )
    workspace = deployment.tmp / "workspace.prod.yaml"
    workspace.write_text(yaml.safe_dump(
        {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": code_port, "location_name": LOCATION}}]}
    ))
    assert "TOGETHER_API_KEY" in deployment.env and "TOGETHER_API_KEY" not in deployment.env_without_keys()
    deployment.daemons.append(deployment._spawn(
        [str(VENV_BIN / "dagster-daemon"), "run", "-w", str(workspace)], "daemon_prod.log",
        env=deployment.env_without_keys(),
    ))
    operator, viewer = deployment.port, free_port()
    deployment.spawn_webserver(str(workspace), operator, "webserver.log")
    deployment.spawn_webserver(str(workspace), viewer, "webserver_read_only.log", "--read-only")
    deployment.wait_for_webserver(operator)
    deployment.wait_for_webserver(viewer)
    deployment.wait_for_daemon_heartbeat()
    target = WorkspaceFileTarget(paths=[str(workspace)])

    # 1. A sync, through the run queue, with the keys only the code server has (Together
    #    refuses requests without one).
    def submitted():
        with deployment.instance() as instance, submit.workspace_context(instance, target) as context:
            if not context.has_code_location(LOCATION):  # the code server is still starting
                return None
            return submit.submit_sync_run(instance, context, "together", {"pricing/trigger": "test"})

    run_id = deployment._wait(submitted, 90, "the code server to take the run")
    run = deployment.wait_for_runs([run_id])[run_id]
    assert run.status == DagsterRunStatus.SUCCESS, deployment.log_tail("daemon_prod.log")
    store = deployment.store()
    try:
        assert store.sync_row(run_id)["status"] == "success"
    finally:
        store.dispose()

    # 2. The read-only webserver refuses a launch; the operator's launches.
    refused = launch_probe(deployment, viewer)
    assert refused["__typename"] == "UnauthorizedError", refused
    launched = launch_probe(deployment, operator)
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert code_version_of(deployment, launched["run"]["runId"]) == "v1"

    # 3. A code change, then "Reload" (the UI's mutation): the next run runs the new code.
    location_file.write_text(location_source("v2"))
    reloaded = deployment.graphql(RELOAD, port=operator, name=LOCATION)["reloadRepositoryLocation"]
    assert reloaded["locationOrLoadError"]["__typename"] == "RepositoryLocation", reloaded
    launched = launch_probe(deployment, operator)
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert code_version_of(deployment, launched["run"]["runId"]) == "v2"

    # 4. Terminate a sync hanging on its upstream, from the webserver; the read-only one refuses.
    hang_upstream(deployment)
    with deployment.instance() as instance, submit.workspace_context(instance, target) as context:
        hanging = submit.submit_sync_run(instance, context, PROVIDER, {"pricing/trigger": "test"})
        wait_until_fetching(deployment, instance, hanging)
    heal_upstream(deployment)
    refused = deployment.graphql(TERMINATE, port=viewer, runId=hanging)["terminateRun"]
    assert refused["__typename"] == "TerminateRunFailure" and "permission" in refused["message"], refused
    terminated = deployment.graphql(TERMINATE, port=operator, runId=hanging)["terminateRun"]
    assert terminated["__typename"] == "TerminateRunSuccess", terminated
    # The fetch waits 600 s for its upstream: only the interrupt the code server delivers to the
    # run's process ends this attempt. Dagster then retries an interrupted step that has a retry
    # policy (the fetch has one), so the run may go on, now against the healed upstream, or end
    # canceled; either way within seconds, not the 600 s of the hang.
    run = deployment.wait_for_runs([hanging], timeout=60)[hanging]
    with deployment.instance() as instance:
        kinds = [e.dagster_event.event_type_value for e in instance.all_logs(hanging) if e.is_dagster_event]
    assert "PIPELINE_CANCELING" in kinds, kinds
    after = kinds[kinds.index("PIPELINE_CANCELING"):]
    assert run.status == DagsterRunStatus.CANCELED or "STEP_UP_FOR_RETRY" in after, (run.status, after)
