"""Speed of the sync core on the real recordings: parse+normalize per provider, and publish
(first load, unchanged re-sync, day-over-day change) on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.sync_core [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]

Prints the median of several repeats per figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.databases import ThrowawayDatabases
from pricing_dev.recordings import RECORDINGS_DIR, REPLAY_FILES
from pricing_pipeline.providers.registry import ADAPTERS
from pricing_pipeline.store import PricingStore


def timed(fn, repeats=5):
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_normalize():
    print("parse + normalize (median of 5)")
    for provider, path in REPLAY_FILES.items():
        body = path.read_bytes()
        adapter = ADAPTERS[provider]
        records = adapter.records(json.loads(body))
        seconds = timed(lambda: adapter.records(json.loads(body)))
        print(f"  {provider:<11} {len(body) / 1e6:6.2f} MB  {len(records):5d} models  {seconds * 1000:8.1f} ms")


def bench_publish(label: str, make_url):
    day1 = ADAPTERS["modelsdev"].records(json.loads((RECORDINGS_DIR / "models_dev_api_2026-06-09.json").read_bytes()))
    day2 = ADAPTERS["modelsdev"].records(json.loads((RECORDINGS_DIR / "models_dev_api_2026-06-10.json").read_bytes()))
    first, unchanged, changed = [], [], []
    for _ in range(3):
        url, cleanup = make_url()
        store = PricingStore(url)
        store.migrate()
        first.append(store.publish("modelsdev", day1, run_id=str(uuid.uuid4())).duration_seconds)
        unchanged.append(store.publish("modelsdev", day1, run_id=str(uuid.uuid4())).duration_seconds)
        changed.append(store.publish("modelsdev", day2, run_id=str(uuid.uuid4())).duration_seconds)
        store.dispose()
        cleanup()
    print(f"publish models.dev ({len(day1)} models) on {label} (median of 3)")
    print(f"  first load            {statistics.median(first) * 1000:8.1f} ms")
    print(f"  unchanged re-sync     {statistics.median(unchanged) * 1000:8.1f} ms")
    print(f"  day-over-day (54 chg) {statistics.median(changed) * 1000:8.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    bench_normalize()

    def sqlite_url():
        folder = tempfile.TemporaryDirectory()
        return f"sqlite:///{Path(folder.name) / 'bench.db'}", folder.cleanup

    bench_publish("SQLite", sqlite_url)

    databases = ThrowawayDatabases(args.postgres)

    def postgres_url():
        url = databases.create("pricing_bench")
        return url, lambda: databases.drop(url)

    bench_publish("PostgreSQL", postgres_url)


if __name__ == "__main__":
    main()
