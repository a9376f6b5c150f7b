"""How long a sync takes through the launch path operators use: `pricing-pipeline sync` on a
fresh instance (run queue, a daemon started for the command, one run worker per provider),
replaying the recordings; and the same with every provider unreachable (a closed port).

    .venv/bin/python -m benchmarks.launch [--dagster-yaml OTHER.yaml]

Prints the wall time of the command and, per run, queue wait (created → started) and run time
(started → ended), from the instance's run records. These sized run monitoring's limits in
dagster.yaml.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance

from pricing_dev.recordings import DUMMY_API_KEYS, REPLAY_FILES
from pricing_dev.upstream_server import UpstreamServer
from pricing_pipeline.providers.registry import PROVIDER_NAMES

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("pricing-pipeline"))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(name: str, urls: dict[str, str], dagster_yaml: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="pricing-bench-"))
    shutil.copy(dagster_yaml, home / "dagster.yaml")
    env = {**os.environ, **DUMMY_API_KEYS, "DAGSTER_HOME": str(home),
           "PRICING_DATABASE_URL": f"sqlite:///{home / 'pricing.db'}",
           **{f"PRICING_{p.upper()}_URL": url for p, url in urls.items()}}
    started = time.perf_counter()
    subprocess.run([CLI, "sync"], env=env, cwd=REPO, capture_output=True, check=False)
    wall = time.perf_counter() - started
    print(f"\n{name}: `pricing-pipeline sync` of {len(urls)} providers in {wall:.1f} s")
    with DagsterInstance.from_config(str(home)) as instance:
        print(f"  {'provider':<11} {'queued s':>8} {'run s':>6}  status")
        for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp):
            run = record.dagster_run
            queued = (record.start_time or 0) - record.create_timestamp.timestamp()
            ran = (record.end_time or 0) - (record.start_time or 0)
            print(f"  {run.tags.get('dagster/partition', run.job_name):<11} {queued:8.1f} {ran:6.1f}  {run.status.value}")
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagster-yaml", type=Path, default=REPO / "dagster.yaml",
                        help="the instance config to measure (default: the shipped one)")
    dagster_yaml = parser.parse_args().dagster_yaml.resolve()
    server = UpstreamServer().start()
    try:
        measure("replayed recordings",
                {p: server.serve_file(f"/{p}", path) for p, path in REPLAY_FILES.items()}, dagster_yaml)
    finally:
        server.stop()
    port = closed_port()
    measure("offline (closed port)", {p: f"http://127.0.0.1:{port}/{p}" for p in PROVIDER_NAMES}, dagster_yaml)


if __name__ == "__main__":
    main()
