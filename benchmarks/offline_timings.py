"""What an unreachable outside world costs, timed on this machine (the tests assert only the
causes: one retry for a refused connection, the push's own timeout):

- `make sync` with every provider's URL on a closed local port (the offline first run);
- one metrics push from a run's hook to a Pushgateway that accepts and never answers, at a
  0.5 s push timeout, beside the same push with publishing off.

    .venv/bin/python -m benchmarks.offline_timings [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance

from pricing_dev.recordings import DUMMY_API_KEYS
from pricing_pipeline.defs.metrics.publisher import publish_metrics
from pricing_pipeline.defs.metrics.resources import MetricsPublisher
from pricing_pipeline.providers.registry import PROVIDER_NAMES

REPO = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def offline_make_sync() -> float:
    port = closed_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **DUMMY_API_KEYS, "DAGSTER_HOME": f"{tmp}/home",
               "PRICING_DATABASE_URL": f"sqlite:///{tmp}/pricing.db"}
        env.update({f"PRICING_{p.upper()}_URL": f"http://127.0.0.1:{port}/{p}" for p in PROVIDER_NAMES})
        started = time.perf_counter()
        subprocess.run(["make", "--no-print-directory", "sync"], env=env, cwd=REPO, capture_output=True)
        return time.perf_counter() - started


def hanging_push(timeout_seconds: float) -> tuple[float, float]:
    """(seconds of a push to a hanging Pushgateway, seconds with publishing off)."""
    with socket.socket() as server, tempfile.TemporaryDirectory() as tmp, DagsterInstance.local_temp(tmp) as instance:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # the kernel accepts; nobody ever answers
        hanging = MetricsPublisher(pushgateway_url=f"http://127.0.0.1:{server.getsockname()[1]}",
                                   timeout_seconds=timeout_seconds)
        started = time.perf_counter()
        publish_metrics(instance, hanging, heartbeat=False)
        hung = time.perf_counter() - started
        started = time.perf_counter()
        publish_metrics(instance, MetricsPublisher(), heartbeat=False)
        return hung, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    pushes = [hanging_push(0.5) for _ in range(args.repeats)]
    print(f"push to a hanging Pushgateway, 0.5 s timeout: median {statistics.median(p[0] for p in pushes):.2f}s "
          f"(publishing off: {statistics.median(p[1] for p in pushes):.3f}s)")
    syncs = [offline_make_sync() for _ in range(args.repeats)]
    print(f"offline `make sync`, all {len(PROVIDER_NAMES)} providers refused: median {statistics.median(syncs):.1f}s, "
          f"max {max(syncs):.1f}s")


if __name__ == "__main__":
    main()
