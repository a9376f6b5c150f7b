"""CPU time and peak resident memory of a run, measured inside the run's process.

Runs launched by the daemon get a process of their own; CLI runs share the CLI's process
(several providers one after another) and test runs share pytest's. So the numbers are taken
relative to the start of the run: CPU as a difference of ``getrusage`` readings, memory as the
kernel's high-water mark after resetting it at the start of the run (Linux
``/proc/self/clear_refs``; where that is not possible the process' lifetime peak is used).
The run records them in its own tags (``pricing/run_usage``), stamped with its run id.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pricing_pipeline.defs.runs import RUN_USAGE_TAG, stamped

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class RunUsage:
    cpu_seconds: float
    peak_rss_bytes: int


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak_rss() -> bool:
    """Reset this process' peak RSS ("high water mark") to its current RSS (Linux >= 4.0)."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def start() -> float:
    """Reset the peak; the CPU seconds spent so far (the run's baseline)."""
    reset_peak_rss()
    return cpu_seconds()


def since(baseline_cpu_seconds: float | None) -> RunUsage:
    """Usage of the run so far; without a baseline, of the whole process."""
    spent = cpu_seconds() - (baseline_cpu_seconds or 0.0)
    return RunUsage(cpu_seconds=max(spent, 0.0), peak_rss_bytes=peak_rss_bytes())


def encode_usage(run_id: str, usage: RunUsage) -> str:
    return json.dumps(
        {"run_id": run_id, "cpu_seconds": round(usage.cpu_seconds, 3), "peak_rss_bytes": int(usage.peak_rss_bytes)},
        sort_keys=True,
    )


def decode_usage(tags: Mapping[str, str], run_id: str) -> RunUsage | None:
    data = stamped(tags.get(RUN_USAGE_TAG), run_id)
    try:
        return None if data is None else RunUsage(float(data["cpu_seconds"]), int(data["peak_rss_bytes"]))
    except (KeyError, TypeError, ValueError):
        return None
