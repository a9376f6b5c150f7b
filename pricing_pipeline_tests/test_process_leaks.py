"""The session's process-leak check (process_leaks.py, conftest.py) finds what a test left
running, also once its parent is gone, and stops it."""

from __future__ import annotations

import os
import subprocess
import time

from pricing_pipeline_tests import process_leaks


def test_an_orphaned_grandchild_is_found_by_its_mark_and_killed():
    token = "leak-check-test"
    env = {**os.environ, process_leaks.MARKER: token}
    # the shell starts `sleep` in the background and exits: sleep is re-parented to init
    subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 &"], env=env, check=True)

    def sleeping():
        return [cmd for cmd in process_leaks.session_processes(token).values() if cmd.startswith("sleep 60")]

    deadline = time.monotonic() + 5  # the background `sleep` may not have been exec'd yet
    while not sleeping() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleeping()

    leaked = process_leaks.leaked_processes(token, grace_seconds=0.5)
    assert [cmd for cmd in leaked.values() if cmd.startswith("sleep 60")]
    deadline = time.monotonic() + 5
    while process_leaks.session_processes(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_leaks.session_processes(token) == {}


def test_a_finished_child_is_not_a_leak():
    token = "leak-check-test-finished"
    subprocess.run(["true"], env={**os.environ, process_leaks.MARKER: token}, check=True)
    assert process_leaks.session_processes(token) == {}
