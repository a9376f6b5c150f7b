"""Submit sync runs to the Dagster instance, as the UI and the schedule do, and wait for them.

Runs go through the instance's run queue (one run per provider at a time, dagster.yaml) and
are launched by the daemon for the code location of ``workspace.yaml``, so they show on the
Overview timeline, carry a code-location origin and are watched by run monitoring. When no
daemon heartbeats on the instance (a laptop, ``make sync``), one is started for the duration
of the command, with its output (including the runs' tracebacks) in a log file under
``DAGSTER_HOME`` rather than on the terminal. A daemon that is already running is used, never
doubled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import PARTITION_NAME_TAG
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import ModuleTarget, WorkspaceFileTarget

from pricing_pipeline.defs.runs import SYNC_JOB_NAME

LOCATION_NAME = "pricing_pipeline"
DAEMON_HEARTBEAT_FRESH_SECONDS = 60
DAEMON_START_TIMEOUT_SECONDS = 60
POLL_SECONDS = 0.5


def workspace_target(workspace: Path | None):
    """workspace.yaml when there is one (the deployment's), else the package's definitions."""
    if workspace is not None and workspace.exists():
        return WorkspaceFileTarget(paths=[str(workspace)]), ["-w", str(workspace)]
    return (
        ModuleTarget(module_name="pricing_pipeline.definitions", attribute=None, working_directory=None,
                     location_name=LOCATION_NAME),
        ["-m", "pricing_pipeline.definitions"],
    )


@contextmanager
def workspace_context(instance: DagsterInstance, target) -> Iterator[WorkspaceRequestContext]:
    with WorkspaceProcessContext(instance, target, code_server_log_level="ERROR") as process_context:
        yield process_context.create_request_context()


def daemon_running(instance: DagsterInstance) -> bool:
    now = time.time()
    return any(now - hb.timestamp <= DAEMON_HEARTBEAT_FRESH_SECONDS for hb in instance.get_daemon_heartbeats().values())


@contextmanager
def daemon_for(instance: DagsterInstance, target_args: list[str], log_path: Path) -> Iterator[subprocess.Popen | None]:
    """Yield the daemon process this call started (stopped again on exit), or None when the
    instance already has a daemon."""
    if daemon_running(instance):
        yield None
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", *target_args],
            # no change watcher in a daemon that lives only as long as this command: the syncs it
            # would launch (a first poll finds everything changed) die with it, half-written
            env={**os.environ, "PRICING_WATCH_ENABLED": "false"},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped as a whole on exit
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        yield process
    finally:
        _stop(process)
        # Its heartbeats outlive it by a minute; left there, the next command would take
        # them for a running daemon and wait for runs nobody launches.
        instance.wipe_daemon_heartbeats()


def _stop(process: subprocess.Popen, grace_seconds: float = 15) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def submit_sync_run(instance: DagsterInstance, workspace: WorkspaceRequestContext, provider: str,
                    tags: dict[str, str]) -> str:
    """Create and submit one provider's price_sync_job run (queued like any other run)."""
    return submit_run(instance, workspace, SYNC_JOB_NAME, {**tags, PARTITION_NAME_TAG: provider})


def submit_run(instance: DagsterInstance, workspace: WorkspaceRequestContext, job_name: str,
               tags: dict[str, str], run_config: dict | None = None) -> str:
    """Create and submit a run of one of the code location's jobs through the run queue."""
    run_config = run_config or {}
    location = workspace.get_code_location(LOCATION_NAME)
    repository = next(iter(location.get_repositories().values()))
    remote_job = repository.get_full_job(job_name)
    run_tags = {**remote_job.tags, **tags}
    plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance)
    run = instance.create_run(
        job_name=remote_job.name,
        run_id=None,
        run_config=run_config,
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags=run_tags,
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=repository.asset_graph,
    )
    instance.submit_run(run.run_id, workspace)
    return run.run_id


def wait_for_runs(instance: DagsterInstance, run_ids: Sequence[str], timeout_seconds: float,
                  daemon: subprocess.Popen | None = None) -> dict[str, DagsterRunStatus]:
    """Poll until every run has finished; return the status of each (unfinished ones as they
    are when the timeout passes or the daemon we started has died)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        runs = [record.dagster_run for record in instance.get_run_records(RunsFilter(run_ids=list(run_ids)))]
        if all(run.is_finished for run in runs) or time.monotonic() > deadline:
            break
        if daemon is not None and daemon.poll() is not None:
            break
        time.sleep(POLL_SECONDS)
    return {run.run_id: run.status for run in runs}
