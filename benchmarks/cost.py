"""The cost of one request, three ways, in one run: the price book (memory), request_cost (a
database query per call) and LiteLLM's ``cost_per_token`` reading our own LiteLLM feed (what
a gateway would pick instead); then the book's load time and memory at catalog scale.

    .venv/bin/python -m benchmarks.cost [--calls 20000] [--sizes 10000,100000] [--postgres ADMIN_URL]

Workload: the eight recordings published to SQLite with OpenRouter's per-endpoint prices of
2026-07-20 (pricing_dev/endpoint_recordings.py; a second timed line bills at the serving
endpoint), our feed given to LiteLLM with ``register_model``; every resold model LiteLLM resolves to our feed's entry, round robin, on a
plain request (12,345 in / 678 out) and a cached one (50,000 in of which 20,000 cache reads /
1,000 out), each usage built once (ours a ``Usage``, LiteLLM's a ``litellm.Usage``). "same
cost": the models on which LiteLLM's answer is ours (docs/pricing-rules.md: the LiteLLM feed, read by LiteLLM). Load: a synthetic OpenRouter-shaped
catalog (three token prices per model, benchmarks/scale.py) published to a fresh database,
the book loaded in a fresh process; RSS is that process's after the load, and its growth.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.databases import ThrowawayDatabases
from pricing_dev.endpoint_recordings import endpoint_records
from pricing_dev.recordings import REPLAY_FILES
from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import CostError, Usage
from pricing_pipeline.pricing.endpoints import endpoint_model
from pricing_pipeline.pricing.feeds import litellm_cost_map, litellm_key
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore

PLAIN = Usage(input_tokens=12_345, output_tokens=678)
CACHED = Usage(input_tokens=50_000, cache_read_tokens=20_000, output_tokens=1_000)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def per_call_us(fn, args: list[tuple], calls: int) -> float:
    for a in args[:50]:  # warm: caches, connections
        fn(*a)
    started = time.perf_counter()
    for i in range(calls):
        fn(*args[i % len(args)])
    return (time.perf_counter() - started) / calls * 1e6


def hot_path(calls: int) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network: its bundled map
    import litellm

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)  # register_model warns per entry it cannot enrich
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'pricing.db'}"
        store = PricingStore(url)
        store.migrate()
        resold = [p for p in REPLAY_FILES if not get_adapter(p).reference_catalog]
        endpoints = endpoint_records()  # issue 27's per-endpoint prices, loaded in the book too
        for provider in REPLAY_FILES:
            records = get_adapter(provider).records(json.loads(REPLAY_FILES[provider].read_bytes()))
            store.publish(provider, records + (endpoints if provider == "openrouter" else []))
        records = [p.record for provider in resold for p in store.prices(provider=provider)]
        cost_map = litellm_cost_map(records)
        litellm.register_model(cost_map)
        book = PriceBook.load(url)
        at = datetime.now(UTC)
        models = []
        for key, entry in cost_map.items():
            if "input_cost_per_token" in entry and "output_cost_per_token" in entry:
                if litellm.get_model_info(key)["key"] == key:
                    models.append(key)
        by_key = {litellm_key(r.provider, r.model_id): r for r in records}
        at_endpoint = []  # (model, endpoint tag) of the models listed, that the book bills on both usages
        for e in endpoints:
            try:
                for usage in (PLAIN, CACHED):
                    book.cost("openrouter", endpoint_model(e.model_id), usage, at=at, upstream_provider=e.upstream_tag)
                at_endpoint.append((endpoint_model(e.model_id), e.upstream_tag))
            except CostError:
                continue
        print(f"{len(models)} resold models LiteLLM resolves to our entry; {book.models} models and endpoints in the "
              f"book, {len(endpoints)} of them endpoints (loaded in {book.load_seconds * 1000:.0f} ms)")
        print("per call, median of 3 runs side by side (each run: book, request_cost, litellm)")
        print(f"{'usage':<8} {'price book':>12} {'request_cost':>14} {'litellm':>10}   book vs litellm   same cost")
        for name, usage, litellm_usage in (
            ("plain", PLAIN, {"prompt_tokens": 12_345, "completion_tokens": 678}),
            ("cached", CACHED, {"prompt_tokens": 50_000, "completion_tokens": 1_000,
                                "prompt_tokens_details": {"cached_tokens": 20_000}}),
        ):
            targets = [(by_key[k].provider, by_key[k].model_id) for k in models]
            usage_object = litellm.Usage(**litellm_usage)  # built once, as the gateway's response has it

            def litellm_cost(key):
                prompt, completion = litellm.cost_per_token(model=key, usage_object=usage_object)
                return prompt + completion

            runs = [(per_call_us(lambda p, m: book.cost(p, m, usage, at=at), targets, calls),
                     per_call_us(lambda p, m: request_cost(p, m, usage, at=at, store=store), targets,
                                 max(calls // 20, 200)),
                     per_call_us(litellm_cost, [(k,) for k in models], max(calls // 5, 500))) for _ in range(3)]
            book_us, db_us, llm_us = (statistics.median(run[i] for run in runs) for i in range(3))
            same = sum(abs(float(book.cost(*t, usage, at=at).total_usd) - litellm_cost(k)) <= 1e-9 * litellm_cost(k)
                       for t, k in zip(targets, models))
            print(f"{name:<8} {book_us:9.1f} µs {db_us:11.1f} µs {llm_us:7.1f} µs   {llm_us / book_us:5.1f}x faster"
                  f"      {same}/{len(models)}   (runs: {', '.join(f'{r[0]:.1f}/{r[2]:.0f}' for r in runs)} µs)")
            # at the serving endpoint (upstream_provider): LiteLLM has no per-route price to compare
            endpoint_us = per_call_us(lambda m, name: book.cost("openrouter", m, usage, at=at, upstream_provider=name),
                                      at_endpoint, calls)
            equal = all(book.cost("openrouter", m, usage, at=at, upstream_provider=name) == request_cost(
                "openrouter", m, usage, at=at, store=store, upstream_provider=name) for m, name in at_endpoint[:200])
            print(f"{'':<8} {endpoint_us:9.1f} µs at an endpoint ({len(at_endpoint)} model/upstream pairs; "
                  f"equal to request_cost: {equal})")
        store.dispose()


def load_child(url: str) -> None:
    """In a fresh process: the book's load time and memory."""
    before = rss_mb()
    book = PriceBook.load(url)
    print(json.dumps({"models": book.models, "load_s": book.load_seconds, "rss_mb": rss_mb(),
                      "growth_mb": rss_mb() - before}))


def load_at_scale(sizes: list[int], url_for) -> None:
    from benchmarks.scale import catalog

    print(f"{'models':>8} {'database':<11} {'load':>8} {'RSS':>9} {'growth':>9}")
    for size in sizes:
        for name, url, cleanup in url_for(size):
            try:
                store = PricingStore(url)
                store.migrate()
                adapter = get_adapter("openrouter")
                store.publish("openrouter", adapter.records(json.loads(catalog(size))))
                store.dispose()
                out = subprocess.run([sys.executable, "-m", "benchmarks.cost", "--load-child", url],
                                     check=True, capture_output=True, text=True).stdout
                figures = json.loads(out.strip().splitlines()[-1])
                print(f"{figures['models']:>8} {name:<11} {figures['load_s']:6.2f} s {figures['rss_mb']:6.0f} MB "
                      f"{figures['growth_mb']:6.0f} MB")
            finally:
                cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default=None, help="also load from PostgreSQL (admin URL)")
    parser.add_argument("--load-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_child:
        load_child(args.load_child)
        return
    hot_path(args.calls)

    def databases(size: int):
        tmp = tempfile.TemporaryDirectory()
        yield "SQLite", f"sqlite:///{Path(tmp.name) / 'pricing.db'}", tmp.cleanup
        if args.postgres:
            databases = ThrowawayDatabases(args.postgres)
            yield "PostgreSQL", databases.create("pricing_bench"), databases.drop_all

    load_at_scale([int(s) for s in args.sizes.split(",") if s], databases)


if __name__ == "__main__":
    main()
