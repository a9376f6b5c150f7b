"""No run can wedge a provider. A run whose worker dies (SIGKILL, as the OOM killer does) is
failed at once by the code server that started it (Dagster's DefaultRunLauncher, dagster.yaml);
a run whose whole daemon host dies with it (nobody left to notice) is failed by run monitoring within the configured maximum runtime.
Either way its sync log row is closed by the reconciler, and the provider's next run,
queued behind it by the one-run-per-provider limit, starts and publishes."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterRunStatus
from dagster._core.workspace.load_target import WorkspaceFileTarget

from pricing_dev.upstream_server import Route
from pricing_pipeline import submit
from pricing_pipeline_tests.deployment.conftest import TEST_MAX_RUNTIME_SECONDS, TEST_MONITORING_POLL_SECONDS
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPO_ROOT

PROVIDER = "openrouter"
# Run monitoring fails the run once it is older than the maximum runtime, at its next poll.
# Only a hang guard, generous for a loaded machine: the test asserts who failed the run and why.
HANG_GUARD_SECONDS = 4 * (TEST_MAX_RUNTIME_SECONDS + 2 * TEST_MONITORING_POLL_SECONDS) + 120


@contextmanager
def workspace(deployment):
    with deployment.instance() as instance:
        target = WorkspaceFileTarget(paths=[str(REPO_ROOT / "workspace.yaml")])
        with submit.workspace_context(instance, target) as context:
            yield instance, context


def submit_run(deployment, instance, context) -> str:
    return submit.submit_sync_run(instance, context, PROVIDER, {"pricing/trigger": "test"})


def hang_upstream(deployment) -> None:
    deployment.upstream.routes[f"/{PROVIDER}"] = Route(200, b"{}", delay_seconds=600)


def heal_upstream(deployment) -> None:
    deployment.upstream.serve_file(f"/{PROVIDER}", REPLAY_FILES[PROVIDER])


def wait_until_fetching(deployment, instance, run_id: str) -> int:
    def fetching():
        run = instance.get_run_by_id(run_id)
        pid = deployment.run_worker_pid(run_id)
        seen = deployment.upstream.requests_to(f"/{PROVIDER}")
        return pid if run.status == DagsterRunStatus.STARTED and pid and seen else None

    return deployment._wait(fetching, 90, "the run to start fetching")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def assert_failed_reconciled_and_unwedged(deployment, instance, wedged: str, queued: str, why: str):
    runs = deployment.wait_for_runs([wedged], timeout=HANG_GUARD_SECONDS)
    assert runs[wedged].status == DagsterRunStatus.FAILURE
    store = deployment.store()
    try:
        row = deployment._wait(lambda: (r := store.sync_row(wedged)) and r["status"] != "running" and r, 60,
                               "the reconciler to close the wedged run's sync log row")
        assert row["status"] == "failure" and row["finished_at"] is not None
        assert row["error_type"] is None  # no step failed: the run was failed from outside
        assert why in row["error"], row["error"]
        # the provider's next run was queued behind it and now runs
        assert deployment.wait_for_runs([queued], timeout=90)[queued].status == DagsterRunStatus.SUCCESS
        assert store.sync_row(queued)["status"] == "success"
    finally:
        store.dispose()


@contextmanager
def a_run_hanging_on_its_fetch(deployment):
    """A daemon, and a provider run whose upstream never answers: (daemon, instance, workspace
    context, run id, run worker pid)."""
    daemon = deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()
    hang_upstream(deployment)
    with workspace(deployment) as (instance, context):
        wedged = submit_run(deployment, instance, context)
        yield daemon, instance, context, wedged, wait_until_fetching(deployment, instance, wedged)


def test_a_killed_run_worker_is_failed_and_the_provider_is_not_wedged(deployment):
    with a_run_hanging_on_its_fetch(deployment) as (daemon, instance, context, wedged, worker):
        queued = submit_run(deployment, instance, context)
        # the queue holds the provider's second run back while the first is in progress
        time.sleep(3)
        assert instance.get_run_by_id(queued).status == DagsterRunStatus.QUEUED
        # the pushed metrics show the wedge (heartbeat every 10 s in this deployment)
        deployment._wait(
            lambda: (deployment.pushgateway.value("pricing_sync_oldest_active_run_age_seconds",
                                                  provider=PROVIDER, state="in_progress") or 0) > 0,
            60, "the in-progress age metric",
        )

        os.kill(worker, signal.SIGKILL)
        heal_upstream(deployment)
        assert daemon.poll() is None
        # the code server that started the worker sees it die and fails the run at once
        assert_failed_reconciled_and_unwedged(deployment, instance, wedged, queued, why="terminated by signal 9")


def test_a_killed_daemon_host_does_not_wedge_the_provider(deployment):
    with a_run_hanging_on_its_fetch(deployment) as (daemon, instance, context, wedged, worker):
        # the daemon, its code server and the run worker die together
        deployment.kill_daemon(daemon)
        deployment._wait(lambda: not alive(worker), 10, "the run worker to be gone")
        assert instance.get_run_by_id(wedged).status == DagsterRunStatus.STARTED
        queued = submit_run(deployment, instance, context)
        heal_upstream(deployment)

        deployment.start_daemon()  # the replacement daemon, as a supervisor would start it
        # nobody saw the worker die: run monitoring fails the run at its maximum runtime
        assert_failed_reconciled_and_unwedged(deployment, instance, wedged, queued, why="maximum runtime")
