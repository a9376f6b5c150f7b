"""A full six-hourly tick in the production topology: dagster-webserver and dagster-daemon as
separate processes on PostgreSQL storage with the shipped dagster.yaml, the recordings
replayed from a local server, the sync schedule set to fire every minute.

    .venv/bin/python -m benchmarks.tick [--ticks 2] [--postgres ADMIN_URL] [--dagster-yaml OTHER.yaml]

Prints, per tick, the time from the tick (the schedule's runs created) to the last of the eight
runs finished, per run its queue wait (created -> started) and run time (started -> ended), and
the CPU seconds the deployment's processes spent from one tick's end to the next's (run workers
are counted in the process that reaped them: the fork server, or the code server).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from dagster import DagsterInstance, RunsFilter

from benchmarks.databases import ThrowawayDatabases
from pricing_dev.recordings import DUMMY_API_KEYS, REPLAY_FILES
from pricing_dev.upstream_server import UpstreamServer
from pricing_pipeline.defs.sync.schedules import price_sync_schedule
from pricing_pipeline.providers.registry import PROVIDER_NAMES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
SCHEDULE_TAG = "dagster/schedule_name"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--dagster-yaml", type=Path, default=REPO / "dagster.yaml",
                        help="the instance config to measure (default: the shipped one)")
    args = parser.parse_args()
    databases = ThrowawayDatabases(args.postgres)
    storage_url, prices_url = databases.create("tick_dagster"), databases.create("tick_prices")
    home = Path(tempfile.mkdtemp(prefix="tick-bench-"))
    config = yaml.safe_load(args.dagster_yaml.read_text())
    config["storage"] = {"postgres": {"postgres_url": storage_url}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    upstream = UpstreamServer().start()
    env = {**os.environ, **DUMMY_API_KEYS, "DAGSTER_HOME": str(home), "PRICING_DATABASE_URL": prices_url,
           "PRICING_SYNC_CRON": "* * * * *", "PYTHONWARNINGS": "ignore"}
    for provider, path in REPLAY_FILES.items():
        env[f"PRICING_{provider.upper()}_URL"] = upstream.serve_file(f"/{provider}", path)
    processes = []
    try:
        for args_, log in (([str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-p", "0"], "webserver.log"),
                           ([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], "daemon.log")):
            processes.append(subprocess.Popen(args_, cwd=REPO, env=env, stdout=(home / log).open("wb"),
                                              stderr=subprocess.STDOUT, start_new_session=True))
        os.environ["DAGSTER_HOME"] = str(home)
        with DagsterInstance.get() as instance:
            seen: set[str] = set()
            totals = []
            cpu_before = cpu_by_process([p.pid for p in processes])
            for tick in range(args.ticks + 1):  # the first tick warms the database and the code server up
                runs = wait_for_tick(instance, seen)
                seen.update(r.dagster_run.run_id for r in runs)
                created = min(r.create_timestamp.timestamp() for r in runs)
                ended = max(r.end_time for r in runs)
                statuses = {r.dagster_run.status for r in runs}
                label = "warm-up" if tick == 0 else f"tick {tick}"
                print(f"{label}: {ended - created:.1f} s from the tick to the last of {len(runs)} runs finished "
                      f"({', '.join(sorted(s.value for s in statuses))})")
                for r in sorted(runs, key=lambda r: r.start_time):
                    print(f"    {r.dagster_run.tags.get('dagster/partition', r.dagster_run.job_name):<11} queued {r.start_time - r.create_timestamp.timestamp():5.1f} s"
                          f"  ran {r.end_time - r.start_time:5.1f} s")
                cpu_now = cpu_by_process([p.pid for p in processes])
                spent = {name: cpu_now.get(name, 0.0) - cpu_before.get(name, 0.0) for name in cpu_now}
                cpu_before = cpu_now
                print("    CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(spent.items())))
                if tick:
                    totals.append(ended - created)
            print(f"median over {len(totals)} ticks: {statistics.median(totals):.1f} s")
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
        upstream.stop()
        databases.drop_all()
        shutil.rmtree(home, ignore_errors=True)


def cpu_by_process(session_leaders: list[int]) -> dict[str, float]:
    """CPU seconds (own and reaped children's) of every process in the leaders' sessions, by role."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[3]) not in session_leaders:  # field 6: the session id
            continue
        role = ("run workers (fork server)" if "forkserver" in cmdline else "code server" if "api grpc" in cmdline
                else "webserver" if "dagster-webserver" in cmdline else "daemon" if "dagster-daemon" in cmdline
                else "other")
        out[role] = out.get(role, 0.0) + sum(int(v) for v in fields[11:15]) / ticks
    return out


def wait_for_tick(instance: DagsterInstance, seen: set[str], timeout: float = 300):
    """The runs of the next tick (the first eight not seen yet), once all have finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = sorted(
            (r for r in instance.get_run_records(RunsFilter(tags={SCHEDULE_TAG: price_sync_schedule.name}))
             if r.dagster_run.run_id not in seen),
            key=lambda r: r.create_timestamp,
        )[: len(PROVIDER_NAMES)]
        if len(records) == len(PROVIDER_NAMES) and all(r.dagster_run.is_finished for r in records):
            return records
        time.sleep(0.5)
    raise TimeoutError("no complete tick")


if __name__ == "__main__":
    main()
