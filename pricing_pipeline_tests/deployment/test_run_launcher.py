"""The shipped run launcher (pricing_pipeline/run_launcher.py), in the production topology: run
workers are forked from the daemon's fork server, and an operator's Terminate (the UI's GraphQL
mutation, sent to the webserver) interrupts the worker's step at once, as the code server's
termination does. Dagster retries an interrupted step that has a retry policy (the fetch has
one), so the run then goes on, and the provider's next run after it. (A worker that dies, and a
daemon host that dies with its workers, are test_run_monitoring.py.)"""

from __future__ import annotations

from pathlib import Path

import yaml
from dagster import DagsterRunStatus
from dagster._core.workspace.load_target import WorkspaceFileTarget

from pricing_pipeline import submit
from pricing_pipeline.run_launcher import WORKER_TAG
from pricing_pipeline_tests.deployment.conftest import LOCATION, VENV_BIN
from pricing_pipeline_tests.deployment.test_run_monitoring import (
    a_run_hanging_on_its_fetch,
    alive,
    heal_upstream,
    submit_run,
)

TERMINATE = """
mutation($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunFailure { message }
    ... on PythonError { message }
  }
}
"""


def parent_command(pid: int) -> str:
    parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    return Path(f"/proc/{parent}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_workers_are_forked_and_terminate_interrupts_the_worker(deployment):
    deployment.start_webserver()
    with a_run_hanging_on_its_fetch(deployment) as (_daemon, instance, context, hanging, worker):
        assert "multiprocessing.forkserver" in parent_command(worker)
        assert instance.get_run_by_id(hanging).tags[WORKER_TAG].startswith(f"{worker}:")
        queued = submit_run(deployment, instance, context)
        heal_upstream(deployment)

        result = deployment.graphql(TERMINATE, runId=hanging)["terminateRun"]
        assert result["__typename"] == "TerminateRunSuccess", result

        def interrupted():
            events = instance.all_logs(hanging)
            kinds = [e.dagster_event.event_type_value for e in events if e.is_dagster_event]
            return "PIPELINE_CANCELING" in kinds and kinds[kinds.index("PIPELINE_CANCELING"):].count("STEP_UP_FOR_RETRY")

        # the fetch hangs for 600 s: only the interrupt ends this attempt
        deployment._wait(interrupted, 20, "the worker's fetch to be interrupted")
        assert alive(worker)  # interrupted, not killed: the step is retried
        runs = deployment.wait_for_runs([hanging, queued], timeout=120)
        assert runs[queued].status == DagsterRunStatus.SUCCESS
        assert not alive(worker)


def test_a_code_server_of_its_own_starts_the_workers_with_its_keys(deployment):
    """README, Production: the provider keys live only with the code server; the daemon has none.
    For such a code location the launcher leaves the launch to the code server, so the worker
    has the keys (Together refuses requests without one)."""
    from pricing_pipeline.redaction import API_KEY_SUFFIX
    from pricing_pipeline_tests.metrics.conftest import free_port

    port = free_port()
    deployment._spawn(
        [str(VENV_BIN / "dagster"), "code-server", "start", "-m", "pricing_pipeline.definitions",
         "--location-name", LOCATION, "-h", "127.0.0.1", "-p", str(port)], "code_server.log",
    )
    workspace = deployment.tmp / "workspace.prod.yaml"
    workspace.write_text(yaml.safe_dump(
        {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": LOCATION}}]}
    ))
    without_keys = {k: v for k, v in deployment.env.items() if not k.endswith(API_KEY_SUFFIX)}
    assert "TOGETHER_API_KEY" in deployment.env and "TOGETHER_API_KEY" not in without_keys
    deployment.daemons.append(deployment._spawn([str(VENV_BIN / "dagster-daemon"), "run", "-w", str(workspace)],
                                                "daemon_prod.log", env=without_keys))
    deployment.wait_for_daemon_heartbeat()
    target = WorkspaceFileTarget(paths=[str(workspace)])

    def submitted():
        with deployment.instance() as instance, submit.workspace_context(instance, target) as context:
            if not context.has_code_location(LOCATION):  # the code server is still starting
                return None
            return submit.submit_sync_run(instance, context, "together", {"pricing/trigger": "test"})

    run_id = deployment._wait(submitted, 90, "the code server to take the run")
    run = deployment.wait_for_runs([run_id])[run_id]
    assert run.status == DagsterRunStatus.SUCCESS, deployment.log_tail("daemon_prod.log")
    assert WORKER_TAG not in run.tags  # not forked: started by the code server
    store = deployment.store()
    try:
        assert store.sync_row(run_id)["status"] == "success"
    finally:
        store.dispose()
