"""The sync core at catalog scale, beside PostgreSQL's own bulk path.

    .venv/bin/python -m benchmarks.scale [--sizes 10000,100000,300000] [--postgres ADMIN_URL] [--no-sqlite]

For each size and database, one fresh process (so peak RSS is that size's): a synthetic
OpenRouter-shaped catalog (three token prices per model), then

- parse + normalize: the adapter's ``parse`` of the JSON body,
- first publish, unchanged re-sync, 1% of the models changed: ``PricingStore.publish`` with
  the price guard's per-model review inside it, as a sync run publishes,
- COPY (PostgreSQL): the rows the first publish wrote, ``COPY``ed into the same tables of a
  fresh database in the same process: the floor any publish could reach,
- peak RSS of the process from the body onwards (``VmHWM`` after a reset),
- peak RSS of real sync runs, the first and a re-sync with 1% changed: the sync job's steps in a fresh process each
  (``execute_in_process``, the filesystem IO manager passing the body and the snapshot between
  steps), the catalog fetched over HTTP from a local server in the parent process.

Prints one table, with issue 13's targets for 100k models on PostgreSQL in its first row;
the metrics heartbeat's cost is benchmarks/metrics_collect.py.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from benchmarks.databases import ThrowawayDatabases
from pricing_dev.upstream_server import Route, UpstreamServer
from pricing_pipeline.defs.metrics import usage
from pricing_pipeline.pricing import holds as holds_domain
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore
from pricing_pipeline.store import holds as stored_holds

PUBLISH_TABLES = ("model_prices", "price_history", "price_components", "price_changes")
# Issue 13, for 100k models on PostgreSQL: the publish of an unchanged and of a 1%-changed
# re-sync, and every peak RSS.
TARGETS = {"unchanged": 1.0, "changed": 1.5, "peak_rss_mb": 300}


def catalog(models: int, changed_every: int | None = None) -> bytes:
    """An OpenRouter-shaped model list; with ``changed_every``, every n-th model's output price
    differs (+25%), and every (10 n)-th jumps x1000, which the price guard holds."""
    data = []
    for i in range(models):
        output = "0.000002" if not changed_every or i % changed_every else "0.0000025"
        if changed_every and i % (changed_every * 10) == 0:
            output = "0.002"
        data.append({
            "id": f"vendor{i % 97}/model-{i:06d}",
            "name": f"Model {i}",
            "context_length": 131072,
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "pricing": {"prompt": f"0.000000{1 + i % 9}", "completion": output, "input_cache_read": "0.0000001"},
        })
    return json.dumps({"data": data}).encode()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def copy_floor(source_url: str, target_url: str, sync_id: int) -> float:
    """Seconds to COPY the rows one publish wrote into the same (empty) tables of another database."""
    source = sa.create_engine(source_url).raw_connection()
    buffers = {}
    try:
        cursor = source.cursor()
        for table in PUBLISH_TABLES:
            where = "" if table == "model_prices" else f" WHERE sync_id = {sync_id}"
            buffer = io.StringIO()
            cursor.copy_expert(f"COPY (SELECT * FROM {table}{where}) TO STDOUT", buffer)
            buffers[table] = buffer.getvalue()
        sync_row = io.StringIO()
        cursor.copy_expert(f"COPY (SELECT * FROM sync_log WHERE id = {sync_id}) TO STDOUT", sync_row)
    finally:
        source.close()
    target = sa.create_engine(target_url).raw_connection()
    try:
        cursor = target.cursor()
        sync_row.seek(0)
        cursor.copy_expert("COPY sync_log FROM STDIN", sync_row)  # what the rows refer to; not timed
        target.commit()
        started = time.perf_counter()
        for table, text in buffers.items():
            cursor.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(text))
        target.commit()
        return time.perf_counter() - started
    finally:
        target.close()


def guarded_publish(store: PricingStore, records):
    """A publish as the sync's: the price guard reviews every model inside it."""
    review = holds_domain.reviewer(records, GuardThresholds(), canonical=stored_holds.canonical)
    return store.publish("openrouter", records, run_id=str(uuid.uuid4()), review=review)


def child(folder: Path, url: str, copy_url: str | None) -> dict:
    body = (folder / "catalog.json").read_bytes()
    adapter = get_adapter("openrouter")
    store = PricingStore(url)
    store.migrate()
    usage.reset_peak_rss()
    out = {}
    # One snapshot alive at a time, as in a sync run.
    out["parse"], snapshot = timed(functools.partial(adapter.parse_body, body))
    first = guarded_publish(store, snapshot.records)
    out["first"], first_sync = first.duration_seconds, first.sync_id
    del snapshot, first
    out["unchanged"] = guarded_publish(store, adapter.parse_body(body).records).duration_seconds
    del body  # one body alive at a time, as in a sync run
    body_changed = (folder / "changed.json").read_bytes()
    result = guarded_publish(store, adapter.parse_body(body_changed).records)
    out["changed"], out["changed_models"] = result.duration_seconds, len(result.diff.changed)
    out["held"] = len(result.verdict.held)
    del result
    out["peak_rss_mb"] = usage.peak_rss_bytes() / 2**20
    if copy_url:
        PricingStore(copy_url).migrate()
        out["copy"] = copy_floor(url, copy_url, first_sync)
    store.dispose()
    return out


def run_child_sync(url: str) -> dict:
    """Peak RSS of one sync run of the catalog PRICING_OPENROUTER_URL serves, into ``url``."""
    from dagster import DagsterInstance

    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.runs import SYNC_JOB_NAME
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    # The synthetic 300k catalog (77 MB) is above the deployment's 64 MB response cap.
    upstream = UpstreamApi(max_response_bytes=2**30)
    job = build_definitions({"pricing_db": PricingDatabase(url=url), "upstream": upstream}).resolve_job_def(SYNC_JOB_NAME)
    with DagsterInstance.ephemeral() as instance:
        usage.reset_peak_rss()
        job.execute_in_process(partition_key="openrouter", instance=instance, raise_on_error=True)
        return {"peak_rss_mb": usage.peak_rss_bytes() / 2**20, "models": models_published(url)}


def models_published(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM model_prices WHERE provider = 'openrouter'")).scalar_one()
    finally:
        engine.dispose()


def run_child(models: int, backend: str, admin: str | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        # Written here, so the child's memory holds the bodies, not the lists they came from.
        Path(folder, "catalog.json").write_bytes(catalog(models))
        Path(folder, "changed.json").write_bytes(catalog(models, changed_every=100))
        databases = ThrowawayDatabases(admin) if backend != "sqlite" else None
        if databases is None:
            urls, run_url = [f"sqlite:///{Path(folder) / 'bench.db'}"], None
        else:
            *urls, run_url = [databases.create("pricing_scale") for _ in range(3)]  # core, COPY floor, sync run
        try:
            out = child_output([sys.executable, "-m", "benchmarks.scale", "--child", folder, *urls])
            with tempfile.TemporaryDirectory() as home:
                upstream = UpstreamServer().start()
                try:
                    env = {**os.environ, "DAGSTER_HOME": home, "PYTHONWARNINGS": "ignore",
                           "PRICING_OPENROUTER_URL": upstream.serve_sequence("/models", [
                               Route(body=Path(folder, name).read_bytes()) for name in ("catalog.json", "changed.json")])}
                    run_url = run_url or f"sqlite:///{Path(home) / 'run.db'}"
                    # A process per run, as the run launcher starts them: the first sync, then the re-sync.
                    for label in ("run_first", "run_resync"):
                        run = child_output([sys.executable, "-m", "benchmarks.scale", "--run-child", run_url], env)
                        out[f"{label}_peak_rss_mb"], out["run_models"] = run["peak_rss_mb"], run["models"]
                finally:
                    upstream.stop()
            return out
        finally:
            if databases is not None:
                databases.drop_all()


def child_output(command: list[str], env: dict | None = None) -> dict:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run-child", help=argparse.SUPPRESS)
    parser.add_argument("urls", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.urls[0], args.urls[1] if len(args.urls) > 1 else None)))
        return
    if args.run_child:
        print(json.dumps(run_child_sync(args.run_child)))
        return
    backends = ([] if args.no_sqlite else ["sqlite"]) + ["postgres"]
    print("| database | models | parse + normalize | first publish | unchanged re-sync | 1% changed | COPY | first / COPY "
          "| peak RSS | peak RSS, first sync run | peak RSS, re-sync run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rss = f"< {TARGETS['peak_rss_mb']} MB"
    print(f"| target (issue 13): postgres | 100,000 | | | < {TARGETS['unchanged']:g} s | < {TARGETS['changed']:g} s | | "
          f"| {rss} | {rss} | {rss} |")
    for backend in backends:
        for models in (int(s) for s in args.sizes.split(",")):
            r = run_child(models, backend, args.postgres)
            copy = f"{r['copy']:.2f} s" if "copy" in r else "n/a"
            ratio = f"{r['first'] / r['copy']:.1f}x" if "copy" in r else "n/a"
            print(f"| {backend} | {models:,} | {r['parse']:.2f} s | {r['first']:.2f} s | {r['unchanged']:.2f} s | "
                  f"{r['changed']:.2f} s ({r['changed_models']:,}, {r['held']:,} held) | {copy} | {ratio} | {r['peak_rss_mb']:.0f} MB | "
                  f"{r['run_first_peak_rss_mb']:.0f} MB ({r['run_models']:,} models) | {r['run_resync_peak_rss_mb']:.0f} MB |",
                  flush=True)


if __name__ == "__main__":
    main()
