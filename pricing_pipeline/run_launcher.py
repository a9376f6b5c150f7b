"""Run workers forked from a warm process instead of started from scratch.

Dagster's DefaultRunLauncher has the code server start each run in a new interpreter
(multiprocessing "spawn") that imports Dagster, the storage and the code location again: about
2 CPU-seconds and 2.5 s per run, more than a sync itself, and a six-hourly tick starts eight.
This launcher keeps a multiprocessing fork server beside the launching process (the daemon),
which imports all that once, and forks each run worker from it in milliseconds.

The worker runs what the code server's worker runs (the same engine events, "Started process
for run (pid: N)" included), and the launcher watches it the way the code server does: a worker
that dies before its run finished fails the run with the same explanation ("... was terminated
by signal 9"). If the launching process dies together with its workers (a lost host), run
monitoring's maximum runtime fails the run, as with the default launcher. Terminate (the UI's,
GraphQL's) interrupts the worker with SIGINT, as the code server's termination does; the
webserver that sends it runs on the daemon's host in this deployment.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import Array, DagsterInstance, Field
from dagster._core.events import EngineEventData
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext
from dagster._core.remote_origin import InProcessCodeLocationOrigin, ManagedGrpcPythonEnvCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.impl import core_execute_run
from dagster._serdes import ConfigurableClassData
from dagster._utils import get_run_crash_explanation
from dagster._utils.hosted_user_process import recon_job_from_origin
from dagster._utils.interrupts import capture_interrupts

# Code locations whose code this host loads itself (the daemon starts their code server).
LOCAL_LOCATIONS = (ManagedGrpcPythonEnvCodeLocationOrigin, InProcessCodeLocationOrigin)
# "<pid>:<start time>": the start time (from /proc) tells the worker from a later process
# that reuses its pid.
WORKER_TAG = "pricing/run_worker"


class ForkServerRunLauncher(DefaultRunLauncher):
    """Forks workers for code locations the launching process serves itself (a workspace's
    ``python_module``/``python_file``); a code location with a code server of its own
    (``grpc_server``) gets Dagster's default launch, from that server, so its workers run
    with that server's environment (the provider keys live there alone; README, Production)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, preload_modules: Sequence[str] = ()):
        self._preload_modules = list(preload_modules)
        self._fork_context: Any = None
        self._lock = threading.Lock()
        super().__init__(inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {
            "preload_modules": Field(
                Array(str), is_required=False, default_value=[],
                description="Modules the fork server imports once for every worker (the code location's).",
            )
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]):
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        location = run.remote_job_origin.repository_origin.code_location_origin if run.remote_job_origin else None
        if not isinstance(location, LOCAL_LOCATIONS):
            super().launch_run(context)
            return
        process = self._forks().Process(
            target=run_worker, args=(run.run_id, self._instance.get_ref()), name=f"dagster-run-{run.run_id}"
        )
        process.start()
        self._instance.add_run_tags(run.run_id, {WORKER_TAG: f"{process.pid}:{_start_time(process.pid)}"})
        threading.Thread(target=self._watch, args=(process, run.run_id), name="run-worker-watch", daemon=True).start()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        if WORKER_TAG not in run.tags:  # started from a code server
            return super().terminate(run_id)
        self._instance.report_run_canceling(run)
        pid = _live_worker_pid(run)
        if pid is None:
            self._instance.report_engine_event("The run worker is gone: nothing to terminate.", run, cls=type(self))
            return False
        os.kill(pid, signal.SIGINT)
        return True

    def _forks(self):
        """The fork server's context, started on the first launch."""
        with self._lock:
            if self._fork_context is None:
                ref = self._instance.get_ref()
                storages = {data.module_name for data in (ref.run_storage_data, ref.event_storage_data) if data}
                context = multiprocessing.get_context("forkserver")
                # "__main__" too (multiprocessing's default): each worker would import it again otherwise.
                context.set_forkserver_preload(["__main__", __name__, *sorted(storages), *self._preload_modules])
                self._fork_context = context
            return self._fork_context

    def _watch(self, process, run_id: str) -> None:
        """As the code server does for its workers: a worker gone before its run finished
        fails the run, saying how it ended."""
        process.join()
        with DagsterInstance.from_ref(self._instance.get_ref()) as instance:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                return
            explanation = get_run_crash_explanation(f"Run execution process for {run_id}", process.exitcode)
            instance.report_engine_event(explanation, run, cls=type(self))
            instance.report_run_failed(run)


def run_worker(run_id: str, instance_ref) -> None:
    """The forked worker: executes the run as the code server's worker does (Dagster's
    ``_run_in_subprocess``: the same calls and engine events), on an instance that keeps its
    database connections for the run instead of opening one per event (a third of a small
    sync's CPU went to connecting)."""
    with capture_interrupts(), DagsterInstance.from_ref(instance_ref) as instance:
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=5)
        run = instance.get_run_by_id(run_id)
        if run is None or run.job_code_origin is None:
            sys.exit(f"run {run_id} not found, or without a code origin")
        recon_job = recon_job_from_origin(run.job_code_origin)
        pid = os.getpid()
        instance.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
        try:
            for _ in core_execute_run(recon_job, run, instance, inject_env_vars=False):
                pass
        except BaseException:  # noqa: BLE001, S110 - core_execute_run has recorded the failure in the run
            pass
        finally:
            instance.report_engine_event(f"Process for run exited (pid: {pid}).", run)


def _start_time(pid: int) -> str:
    try:  # field 22 of /proc/<pid>/stat, after the parenthesized command name
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _live_worker_pid(run: DagsterRun) -> int | None:
    pid, _, started = run.tags.get(WORKER_TAG, "").partition(":")
    if not pid.isdigit() or _start_time(int(pid)) != started:
        return None
    return int(pid)
