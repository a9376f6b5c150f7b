"""The shipped run launcher (pricing_pipeline/run_launcher.py), in the production topology: run
workers are forked from the daemon's fork server, and an operator's Terminate (the UI's GraphQL
mutation, sent to the webserver) interrupts the worker's step at once, as the code server's
termination does. Dagster retries an interrupted step that has a retry policy (the fetch has
one), so the run then goes on, and the provider's next run after it. (A worker that dies, and a
daemon host that dies with its workers, are test_run_monitoring.py.)"""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterRunStatus

from pricing_pipeline.run_launcher import WORKER_TAG
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
