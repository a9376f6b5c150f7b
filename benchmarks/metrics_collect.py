"""Cost of the metrics heartbeat as the run history grows.

Seeds a persistent Dagster instance with synthetic finished runs of price_sync_job (the
events a real run leaves: run start/end, raw_price_snapshot and published_prices
materializations with their metadata, failed-attempt observations, the hooks' run tags) up to
each size, and measures there:

- full recomputation: the totals from the whole history (what the daily check and a first
  start do),
- heartbeat: one computation with the totals kept in the instance (totals.py), nothing new,
- heartbeat after a tick: the same after eight more runs (one six-hourly tick),
- rendering the exposition and the push to a real Pushgateway (when installed).

    .venv/bin/python -m benchmarks.metrics_collect [--runs 1000,10000,50000] [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]

With --postgres the instance's run and event storage is PostgreSQL (a temporary database),
as in production; otherwise SQLite under a temp DAGSTER_HOME. Through Dagster's storage API
(one write per event, a connection each) seeding takes about 0.15 s per run on PostgreSQL, 0.2 s
on SQLite. On PostgreSQL the history is therefore written 1,000 runs at a time, the same rows
the API writes (built with the storages' own serialization and asset-key upsert), in about 1 ms
a run: 50,000 runs in about a minute. The eight runs of a tick still go through the API, as do
all runs on SQLite (50,000 take about three hours there).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from dagster import AssetMaterialization, AssetObservation, DagsterEventType, DagsterInstance
from dagster._core.events import (
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
    AssetObservationData,
    DagsterEvent,
    StepMaterializationData,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG, PARTITION_SET_TAG, SCHEDULE_NAME_TAG
from dagster._serdes import serialize_value
from dagster._time import datetime_from_timestamp, get_current_datetime
from prometheus_client import push_to_gateway
from prometheus_client.exposition import generate_latest

from benchmarks.databases import ThrowawayDatabases
from pricing_pipeline.defs.metrics.derivation import collect_state
from pricing_pipeline.defs.metrics.exposition import state_registry
from pricing_pipeline.defs.metrics.publisher import sync_schedule_info
from pricing_pipeline.defs.metrics.run_facts import pool_connections
from pricing_pipeline.defs.metrics.usage import RunUsage, encode_usage
from pricing_pipeline.defs.outcomes import RunOutcome, encode_outcome
from pricing_pipeline.defs.runs import RUN_OUTCOME_TAG, RUN_USAGE_TAG
from pricing_pipeline.defs.sync.assets import published_prices, raw_price_snapshot
from pricing_pipeline.providers.registry import PROVIDER_NAMES

JOB = "price_sync_job"


def entry(run_id: str, ts: float, event: DagsterEvent, step_key: str | None = None) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.DEBUG,
        user_message="",
        run_id=run_id,
        timestamp=ts,
        step_key=step_key,
        job_name=JOB,
        dagster_event=event,
    )


def synthetic_runs(runs: int, offset: int = 0) -> Iterator[tuple[DagsterRun, list[EventLogEntry]]]:
    """Each run (not started) with the events it leaves, oldest first."""
    rng = random.Random(4 + offset)
    start = time.time() - 10**8 + offset * 700
    for i in range(runs):
        provider = PROVIDER_NAMES[i % len(PROVIDER_NAMES)]
        run_id = str(uuid.uuid4())
        scheduled = i % 5 != 0
        roll = rng.random()
        outcome = "success" if roll < 0.85 else "failure" if roll < 0.95 else "blocked"
        tags = {"dagster/partition": provider, "pricing/trigger": "schedule" if scheduled else "cli"}
        if scheduled:
            tags[SCHEDULE_NAME_TAG] = "price_sync_schedule"
        tags[RUN_USAGE_TAG] = encode_usage(run_id, RunUsage(rng.uniform(2, 40), rng.randint(100, 900) * 2**20))
        if outcome != "success":
            error = "check_blocked" if outcome == "blocked" else rng.choice(["timeout", "http_5xx", "database"])
            tags[RUN_OUTCOME_TAG] = encode_outcome(run_id, RunOutcome(outcome, error))
        run = DagsterRun(job_name=JOB, run_id=run_id, tags=tags, status=DagsterRunStatus.NOT_STARTED)
        t0 = start + i * 700
        duration = rng.uniform(20, 120)
        events = [entry(run_id, t0, DagsterEvent(DagsterEventType.RUN_START.value, JOB))]
        if outcome == "failure":
            for attempt in (1, 2):
                observation = AssetObservation(
                    raw_price_snapshot.key, partition=provider, metadata={"error_type": "timeout", "stage": "fetch", "attempt": attempt}
                )
                events.append(
                    entry(run_id, t0 + attempt, DagsterEvent(DagsterEventType.ASSET_OBSERVATION.value, JOB, event_specific_data=AssetObservationData(observation)), "raw_price_snapshot")
                )
        else:
            raw = AssetMaterialization(raw_price_snapshot.key, partition=provider, metadata={"request_seconds": rng.uniform(0.2, 8), "size_bytes": 10**6})
            events.append(
                entry(run_id, t0 + 5, DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, JOB, event_specific_data=StepMaterializationData(raw)), "raw_price_snapshot")
            )
        if outcome == "success":
            published = AssetMaterialization(
                published_prices.key,
                partition=provider,
                metadata={"models": rng.randint(50, 5000), "added": 3, "changed": 7, "removed": 1, "publish_seconds": rng.uniform(0.01, 3)},
            )
            events.append(
                entry(run_id, t0 + duration - 1, DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, JOB, event_specific_data=StepMaterializationData(published)), "published_prices")
            )
        end_event = DagsterEventType.RUN_SUCCESS if outcome == "success" else DagsterEventType.RUN_FAILURE
        events.append(entry(run_id, t0 + duration, DagsterEvent(end_event.value, JOB)))
        yield run, events


def seed(instance: DagsterInstance, runs: int, offset: int = 0, bulk: bool = False) -> None:
    """Through Dagster's storage API, one write per event; ``bulk`` (PostgreSQL storage) writes
    the same rows 1,000 runs at a time."""
    if not bulk:
        for run, events in synthetic_runs(runs, offset):
            instance.add_run(run)
            for event in events:
                instance.handle_new_event(event)
        return
    batch = []
    for item in synthetic_runs(runs, offset):
        batch.append(item)
        if len(batch) == 1000:
            write_rows(instance, batch)
            batch = []
    if batch:
        write_rows(instance, batch)


def write_rows(instance: DagsterInstance, batch: list[tuple[DagsterRun, list[EventLogEntry]]]) -> None:
    """The rows add_run and handle_new_event leave for these runs, in a few statements: each run
    as its end event leaves it (final status and body, start and end time, updated at its end),
    its tags, then its events in order, their asset event tags and the asset key rows (built by
    the event storage's own helpers)."""
    run_storage, event_storage = instance.run_storage, instance.event_log_storage
    now = get_current_datetime()
    run_rows, tag_rows, entries = [], [], []
    for run, events in batch:
        started, ended = (datetime_from_timestamp(e.timestamp) for e in (events[0], events[-1]))
        status = EVENT_TYPE_TO_PIPELINE_RUN_STATUS[events[-1].get_dagster_event().event_type]
        run_rows.append(
            # As SqlRunStorage._get_run_insertion_values (which inspects the table on each call)
            # and handle_run_event write them.
            {
                "run_id": run.run_id,
                "pipeline_name": run.job_name,
                "status": status.value,
                "run_body": serialize_value(run.with_status(status)),
                "snapshot_id": run.job_snapshot_id,
                "partition": run.tags.get(PARTITION_NAME_TAG),
                "partition_set": run.tags.get(PARTITION_SET_TAG),
                "backfill_id": run.tags.get(BACKFILL_ID_TAG),
                "create_timestamp": now,
                "start_time": started.timestamp(),
                "end_time": ended.timestamp(),
                "update_timestamp": ended,
            }
        )
        tag_rows += [{"run_id": run.run_id, "key": k, "value": v} for k, v in run.tags_for_storage().items()]
        entries += events
    with run_storage.connect() as conn:
        conn.execute(RunsTable.insert(), run_rows)
        conn.execute(RunTagsTable.insert(), tag_rows)
    with event_storage.index_transaction() as conn:
        inserted = conn.execute(
            SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id, sort_by_parameter_order=True),
            [event_storage._event_to_row(e) for e in entries],
        )
        assets = [(i, e) for i, e in zip(inserted.scalars(), entries, strict=True) if e.get_dagster_event().asset_key]
        event_storage._store_asset_event_tags(conn, [e for _, e in assets], [i for i, _ in assets])
        # An asset key row is upserted by every event of the key: the first one (inserting it),
        # the last materialization and the last observation decide what it holds.
        decisive = {}
        for event_id, event in assets:
            decisive.setdefault(event.get_dagster_event().asset_key, (event_id, event))
            decisive[(event.get_dagster_event().asset_key, event.get_dagster_event().event_type)] = (event_id, event)
        for event_id, event in sorted(dict(decisive.values()).items()):
            event_storage._store_asset_event(conn, event, event_id)


def median_time(fn, repeats: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def start_pushgateway(tmp: Path):
    binary = shutil.which("prometheus-pushgateway")
    if not binary:
        return None, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="1000,10000,50000", help="history sizes, ascending")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--postgres", help="admin URL; the instance storage goes to a temporary database")
    parser.add_argument("--keep", metavar="DIR", help="SQLite only: keep the seeded DAGSTER_HOME in DIR and reuse it")
    parser.add_argument("--profile", action="store_true", help="print where collect_state spends its time")
    args = parser.parse_args()

    reuse = bool(args.keep and (Path(args.keep) / "dagster.yaml").exists())
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="metrics-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    databases = ThrowawayDatabases(args.postgres) if args.postgres else None
    try:
        config = ""
        if databases is not None:
            # Seeding writes events one commit each: do not wait for the disk (reads are what
            # is measured).
            url = databases.create("dagster_bench", synchronous_commit="off")
            config = f"storage:\n  postgres:\n    postgres_url: {url}\n"
        if not reuse:
            (tmp / "dagster.yaml").write_text(config + "telemetry:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(tmp)
        with DagsterInstance.get() as instance:
            pool_connections(instance)  # as the heartbeat sensor does with its instance
            schedule = sync_schedule_info()
            seeded, seeding = 0, 0.0
            print(f"storage: {'PostgreSQL' if args.postgres else 'SQLite'}")
            print("| runs in history | full recomputation | heartbeat | heartbeat after a tick (8 runs) |")
            print("|---|---|---|---|")
            for size in (int(n) for n in args.runs.split(",")):
                if not reuse:
                    started = time.perf_counter()
                    seed(instance, size - seeded, offset=seeded, bulk=bool(args.postgres))
                    seeding += time.perf_counter() - started
                    seeded = size
                full, state = median_time(
                    lambda: collect_state(instance, schedule=schedule, incremental=False, write_back=False), 1
                )
                collect_state(instance, schedule=schedule, incremental=False)  # the kept totals
                heartbeat, _ = median_time(lambda: collect_state(instance, schedule=schedule), args.repeats)
                seed(instance, 8, offset=seeded)
                seeded += 8
                after_tick, ticked = median_time(lambda: collect_state(instance, schedule=schedule), 1)
                assert ticked.runs_read == 8, ticked.runs_read
                print(f"| {size:,} | {full * 1000:,.0f} ms | {heartbeat * 1000:.1f} ms | {after_tick * 1000:.1f} ms |", flush=True)
                if args.profile:
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    profiler.runcall(collect_state, instance, schedule=schedule)
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

            if not reuse:
                print(f"seeding: {seeding:.0f} s ({'in bulk' if args.postgres else 'storage API'}; not counting the ticks' runs)")
            seconds, text = median_time(lambda: generate_latest(state_registry(state, heartbeat_timestamp=time.time())), args.repeats)
            series = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
            print(f"render: {seconds * 1000:.1f} ms; {series} series, {len(text) / 1024:.0f} KiB")
            process, gateway = start_pushgateway(tmp)
            if gateway:
                try:
                    registry = state_registry(state, heartbeat_timestamp=time.time())
                    seconds, _ = median_time(lambda: push_to_gateway(gateway, job="bench", registry=registry, timeout=5), args.repeats)
                    print(f"push (PUT to a local Pushgateway): {seconds * 1000:.1f} ms")
                finally:
                    process.terminate()
                    process.wait()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        if databases is not None:
            databases.drop_all()


if __name__ == "__main__":
    main()
