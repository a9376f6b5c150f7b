"""Issue 27, "Measured": OpenRouter's per-model endpoint requests, and the price book with
endpoints at catalog scale beside LiteLLM.

    .venv/bin/python -m benchmarks.endpoints [--concurrency 4,8,16] [--latency-ms 50,150]
                                              [--sizes 10000,100000] [--calls 20000]

(a) The endpoint fetch of an OpenRouter sync (``UpstreamApi.fetch_details``'s routine,
    detail_fetch.fetch_all) for every model of the recorded list (2026-07-21, one request per
    model), against the recorded endpoint lists served by a local HTTP server that sleeps a
    uniformly random 50-150 ms per request (seeded) before answering: wall time, requests,
    the most requests in flight at once, failures, at each concurrency. The serial time is the
    sum of the server's sleeps (what one connection at a time would take at least).
(b) The price book with endpoints: a synthetic OpenRouter catalog of N models (benchmarks/
    scale.py), each with three endpoints at prices of their own (read by the adapter's own
    endpoint reader), published to a fresh SQLite database; then, in a fresh process, the
    book's load time and RSS growth, its per-call time at a model's headline price and at an
    endpoint (``upstream_provider=``), and ``litellm.cost_per_token`` per call on the same N
    models (their headline prices registered with ``litellm.register_model``; LiteLLM has no
    per-endpoint price), in the same process. Usage: 12,345 in / 678 out, round robin over
    every model.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.cost import per_call_us, rss_mb
from benchmarks.scale import catalog
from pricing_dev.recordings import REPLAY_DETAILS, REPLAY_FILES
from pricing_dev.upstream_server import Route, UpstreamServer

ENDPOINT_PROVIDERS = (("Alpha", "alpha", "fp8"), ("Beta", "beta", "bf16"), ("Beta", "beta/eu", "bf16"))


# --- (a) the endpoint fetch ---------------------------------------------------------------------


class SlowTree:
    """The recorded endpoint tree, each answer after a random 50-150 ms (seeded)."""

    def __init__(self, server: UpstreamServer, low: float, high: float, seed: int = 27):
        self.server, self.low, self.high = server, low, high
        self.random = random.Random(seed)
        self.slept = 0.0
        self._route = server.tree_route
        server.tree_route = self.route  # the handler asks the server for a tree route

    def route(self, path: str) -> Route | None:
        route = self._route(path)
        if route is not None:
            route.delay_seconds = self.random.uniform(self.low, self.high)
            self.slept += route.delay_seconds
        return route


def endpoint_fetch(concurrencies: list[int], low: float, high: float) -> None:
    from pricing_pipeline.providers import _http, detail_fetch
    from pricing_pipeline.providers.registry import get_adapter

    server = UpstreamServer().start()
    try:
        folder, suffix = REPLAY_DETAILS["openrouter"]
        os.environ["PRICING_OPENROUTER_URL"] = server.serve_file("/openrouter", REPLAY_FILES["openrouter"])
        server.serve_tree("/openrouter", folder, suffix)
        slow = SlowTree(server, low, high)
        adapter = get_adapter("openrouter")
        urls = adapter.detail_urls(REPLAY_FILES["openrouter"].read_bytes())
        print(f"(a) OpenRouter endpoint fetch: {len(urls)} models of {REPLAY_FILES['openrouter'].parent.name}, "
              f"server latency {low * 1000:.0f}-{high * 1000:.0f} ms per request")
        print(f"{'concurrency':>11} {'wall':>8} {'requests':>9} {'max in flight':>14} {'failed':>7} {'serial':>8}")
        for concurrency in concurrencies:
            slow.slept = 0.0
            started = time.perf_counter()
            fetched = detail_fetch.fetch_all("openrouter", urls, adapter.headers(), _http.HttpSettings(), concurrency)
            wall = time.perf_counter() - started
            print(f"{concurrency:>11} {wall:6.2f} s {fetched.requests:>9} {fetched.max_in_flight:>14} "
                  f"{len(fetched.failures):>7} {slow.slept:6.1f} s")
    finally:
        server.stop()
        os.environ.pop("PRICING_OPENROUTER_URL", None)


# --- (b) the price book with endpoints at scale ---------------------------------------------------


def endpoints_body(i: int) -> dict:
    """Model i's endpoints: three, at prices of their own (USD per token, as OpenRouter writes)."""
    return {"data": {
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "endpoints": [
            {"provider_name": name, "tag": tag, "quantization": quantization, "pricing": {
                "prompt": f"0.000000{1 + (i + k) % 9}", "completion": f"0.00000{2 + k}",
                "input_cache_read": "0.0000001", "discount": 0}}
            for k, (name, tag, quantization) in enumerate(ENDPOINT_PROVIDERS)
        ],
    }}


def publish_catalog(url: str, models: int) -> tuple[int, float]:
    from pricing_pipeline.providers.openrouter_endpoints import records as endpoint_records
    from pricing_pipeline.providers.registry import get_adapter
    from pricing_pipeline.store import PricingStore

    started = time.perf_counter()
    adapter = get_adapter("openrouter")
    records = list(adapter.records(json.loads(catalog(models))))
    for i, record in enumerate(list(records)):
        records.extend(endpoint_records(adapter, record.model_id, endpoints_body(i))[0])
    store = PricingStore(url)
    store.migrate()
    store.publish("openrouter", records)
    store.dispose()
    return len(records), time.perf_counter() - started


def book_child(url: str, size: int, calls: int) -> None:
    """In a fresh process: the book's load, its calls, and LiteLLM's on the same models."""
    from pricing_pipeline.gateway.pricebook import PriceBook
    from pricing_pipeline.pricing.cost import Usage

    before = rss_mb()
    book = PriceBook.load(url)
    grown = rss_mb() - before
    usage = Usage(input_tokens=12_345, output_tokens=678)
    at = datetime.now(UTC)
    models = [item["id"] for item in json.loads(catalog(size))["data"]]
    headline_us = per_call_us(lambda m: book.cost("openrouter", m, usage, at=at), [(m,) for m in models], calls)
    upstream = [(m, ("Alpha", "beta", "beta/eu")[i % 3]) for i, m in enumerate(models)]
    endpoint_us = per_call_us(lambda m, u: book.cost("openrouter", m, usage, at=at, upstream_provider=u), upstream,
                              calls)

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network: its bundled map
    import litellm

    litellm.suppress_debug_info = True
    headline = {m: book.cost("openrouter", m, usage, at=at) for m in models}
    started = time.perf_counter()
    # register_model took ~4 ms per entry here (400 s for 100k): the entries go into its map
    # directly, as register_model would leave them for a model missing from the bundled map
    litellm.model_cost.update({
        f"openrouter/{m}": {"litellm_provider": "openrouter", "mode": "chat",
                            "input_cost_per_token": float(_unit_price(c, "input")) / 1e6,
                            "output_cost_per_token": float(_unit_price(c, "output")) / 1e6}
        for m, c in headline.items()
    })
    register_s = time.perf_counter() - started

    def litellm_cost(key):
        prompt, completion = litellm.cost_per_token(model=key, prompt_tokens=12_345, completion_tokens=678)
        return prompt + completion

    keys = [(f"openrouter/{m}",) for m in models]
    litellm_us = per_call_us(litellm_cost, keys, max(calls // 10, 500))
    same = sum(abs(float(c.total_usd) - litellm_cost(f"openrouter/{m}")) <= 1e-9 * float(c.total_usd)
               for m, c in list(headline.items())[:1000])
    print(json.dumps({"listings": book.models, "models": len(models), "load_s": book.load_seconds,
                      "growth_mb": grown, "rss_mb": rss_mb(), "headline_us": headline_us, "endpoint_us": endpoint_us,
                      "litellm_us": litellm_us, "litellm_register_s": register_s, "same_of_1000": same}))


def _unit_price(cost, component: str):
    [line] = [line for line in cost.lines if line.component == component]
    return line.unit_price_usd  # USD per 1M tokens


def book_at_scale(sizes: list[int], calls: int) -> None:
    print("\n(b) price book with endpoints (3 per model) beside litellm.cost_per_token, SQLite, fresh process each")
    print(f"{'models':>8} {'records':>8} {'publish':>8} {'load':>7} {'RSS':>7} {'growth':>7} {'headline':>9} "
          f"{'endpoint':>9} {'litellm':>9} {'litellm/endpoint':>17} {'same':>5}")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'pricing.db'}"
            records, publish_s = publish_catalog(url, size)
            child = [sys.executable, "-m", "benchmarks.endpoints", "--book-child", url, "--sizes", str(size),
                     "--calls", str(calls)]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            f = json.loads(out.strip().splitlines()[-1])
            print(f"{f['models']:>8} {records:>8} {publish_s:6.1f} s {f['load_s']:5.1f} s {f['rss_mb']:5.0f} MB "
                  f"{f['growth_mb']:5.0f} MB {f['headline_us']:6.1f} µs {f['endpoint_us']:6.1f} µs "
                  f"{f['litellm_us']:6.1f} µs {f['litellm_us'] / f['endpoint_us']:15.1f}x {f['same_of_1000']:>5}"
                  f"   (LiteLLM map update: {f['litellm_register_s']:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", default="4,8,16")
    parser.add_argument("--latency-ms", default="50,150")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--book-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.book_child:
        book_child(args.book_child, int(args.sizes), args.calls)
        return
    low, high = (float(v) / 1000 for v in args.latency_ms.split(","))
    endpoint_fetch([int(c) for c in args.concurrency.split(",") if c], low, high)
    book_at_scale([int(s) for s in args.sizes.split(",") if s], args.calls)


if __name__ == "__main__":
    main()
