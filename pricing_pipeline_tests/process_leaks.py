"""Every process a test session starts must be gone when the session ends.

The session marks its environment with a token before any test runs; processes the tests start
inherit it (through ``os.environ`` or ``{**os.environ, ...}``), and keep it even when their
parent is gone and they were re-parented to init, so they are found by it, as are the session
process's own descendants. With pytest-xdist each worker is a session of its own with its own
token. Linux only (/proc), like the rest of the suite's process handling.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

MARKER = "PRICING_TEST_SESSION"
# Python's own helper, which ends with the process that started it.
HELPERS = ("multiprocessing.resource_tracker",)


def mark_session() -> str:
    token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.environ[MARKER] = token
    return token


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid), or None if the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _carries(pid: int, needle: bytes) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def session_processes(token: str, root: int | None = None, marker: str = MARKER) -> dict[int, str]:
    """Live processes (not zombies) started by the session: its descendants and every process
    carrying its token (in ``marker``), the session process itself excepted."""
    root = root or os.getpid()
    needle = f"{marker}={token}".encode()
    stats = {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))}
    children: dict[int, list[int]] = {}
    for pid, (_, parent) in stats.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), list(children.get(root, [])) if marker == MARKER else []
    while stack:
        pid = stack.pop()
        found.add(pid)
        stack.extend(children.get(pid, []))
    found.update(pid for pid in stats if _carries(pid, needle))
    found.discard(root)
    alive = {pid: _cmdline(pid) for pid in found if pid in stats and stats[pid][0] != "Z"}
    return {pid: cmd for pid, cmd in alive.items() if not any(helper in cmd for helper in HELPERS)}


def leaked_processes(token: str, grace_seconds: float = 10.0, marker: str = MARKER) -> dict[int, str]:
    """What is still running after a grace period for processes being stopped; those are killed."""
    deadline = time.monotonic() + grace_seconds
    while (leaked := session_processes(token, marker=marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in leaked:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leaked
