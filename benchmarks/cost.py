"""Speed of request_cost against a warm store: OpenRouter's recording published, then many
cost queries (a cached, tiered request) at the current instant.

    .venv/bin/python -m benchmarks.cost [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]

Prints calls per second on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from pricing_dev.recordings import REPLAY_FILES
from pricing_pipeline.pricing.cost import Usage, request_cost
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore

MODELS = ("anthropic/claude-sonnet-4.6", "qwen/qwen3.7-flash", "openai/gpt-5.4-mini", "google/gemini-3.6-flash")
USAGE = Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=2_000)


def measure(name: str, url: str, calls: int = 2000) -> None:
    store = PricingStore(url)
    store.migrate()
    store.publish("openrouter", get_adapter("openrouter").records(json.loads(REPLAY_FILES["openrouter"].read_bytes())))
    for model in MODELS:  # warm: connections, caches
        request_cost("openrouter", model, USAGE, store=store)
    started = time.perf_counter()
    for i in range(calls):
        request_cost("openrouter", MODELS[i % len(MODELS)], USAGE, store=store)
    seconds = time.perf_counter() - started
    print(f"{name:<11} {calls / seconds:8.0f} calls/s  ({seconds / calls * 1000:.2f} ms per call)")
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'pricing.db'}")
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"pricing_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        measure("PostgreSQL", args.postgres.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
