"""``pricing-pipeline serve`` under load, on this machine: requests per second and p50/p99
latency of ``POST /v1/cost`` and of a ``304`` on the LiteLLM map, at 200 concurrent connections
(and at 1, for the time of one request alone); in the same run, ``litellm.cost_per_token`` and
``PriceBook.cost`` timed as single in-process calls, for scale.

    .venv/bin/python -m benchmarks.serve [--connections 200] [--seconds 10] [--threads 1]

The eight recordings are published to SQLite and the feeds written (as the price_feeds asset
writes them); the service is the real command in its own process (uvicorn, one worker). The
load comes from ``wrk`` (Debian's package: ``apt-get install wrk``), each connection sending its
next request when the last one is answered, round robin over every resold model on a plain
request; without wrk, an asyncio httpx client does the same (slower: it shares the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.cost import per_call_us
from pricing_dev.recordings import REPLAY_FILES
from pricing_pipeline.defs.feeds.assets import write_feeds
from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import CostError, Usage
from pricing_pipeline.pricing.feeds import litellm_key
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore

MAP = "/v1/feeds/litellm_model_cost_map.json"
PLAIN = {"input_tokens": 12_345, "output_tokens": 678}


def publish(folder: Path) -> tuple[str, Path, list[tuple[str, str]]]:
    url = f"sqlite:///{folder / 'pricing.db'}"
    store = PricingStore(url)
    store.migrate()
    for provider in REPLAY_FILES:
        store.publish(provider, get_adapter(provider).records(json.loads(REPLAY_FILES[provider].read_bytes())))
    write_feeds(store, FeedsOutput(directory=str(folder / "feeds")))
    book, usage = PriceBook.load(url), Usage(**PLAIN)
    resold = []
    for provider in (p for p in REPLAY_FILES if not get_adapter(p).reference_catalog):
        for price in store.prices(provider=provider):
            try:
                book.cost(provider, price.record.model_id, usage)
                resold.append((provider, price.record.model_id))
            except CostError:
                pass  # no price for this usage: an error answer is not what is measured
    store.dispose()
    return url, folder / "feeds", resold


def start_service(url: str, feeds: Path, log: Path, workers: int = 1) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "pricing-pipeline"), "serve", "--port", str(port), "--feeds-dir",
               str(feeds), "--workers", str(workers)]
    process = subprocess.Popen(command, env={**os.environ, "PRICING_DATABASE_URL": url}, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("serve did not answer within 120 s")


# --- load ----------------------------------------------------------------------------------

WRK_COST = """
bodies = {%s}
i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/v1/cost", {["Content-Type"] = "application/json"}, bodies[i])
end
"""
WRK_304 = """
wrk.headers["If-None-Match"] = %s
"""
WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %f %f %f %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here (ASCII, escapes)


def wrk(url: str, script: str, connections: int, seconds: int, threads: int, folder: Path) -> dict:
    path = folder / f"wrk-{time.monotonic_ns()}.lua"
    path.write_text(script + WRK_DONE)
    out = subprocess.run(["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "10s", "-s", str(path), url], capture_output=True, text=True, check=True).stdout
    requests, duration_us, p50, p99, worst, bad_status, socket_errors = re.search(r"RESULT (.+)", out).group(1).split()
    return {"rps": int(requests) / (int(duration_us) / 1e6), "p50_ms": float(p50) / 1000, "p99_ms": float(p99) / 1000,
            "max_ms": float(worst) / 1000, "requests": int(requests), "non_2xx_3xx": int(bad_status),
            "socket_errors": int(socket_errors)}


async def httpx_load(url: str, make_request, connections: int, seconds: int, expect: int) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        stop = time.monotonic() + seconds

        async def worker(n: int):
            nonlocal errors
            i = n
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await make_request(client, i)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != expect
                i += connections

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "max_ms": latencies[-1] * 1000,
            "requests": len(latencies), "non_2xx_3xx": errors, "socket_errors": 0}


def load(base: str, resold: list[tuple[str, str]], etag: str, connections: int, seconds: int, threads: int,
         folder: Path) -> dict[str, dict]:
    bodies = [json.dumps({"provider": p, "model": m, **PLAIN}) for p, m in resold]
    if shutil.which("wrk"):
        cost_script = WRK_COST % ", ".join(lua_string(body) for body in bodies)
        return {"POST /v1/cost": wrk(base, cost_script, connections, seconds, threads, folder),
                "GET map → 304": wrk(base + MAP, WRK_304 % lua_string(etag), connections, seconds, threads, folder)}

    async def cost(client, i):
        return await client.post("/v1/cost", content=bodies[i % len(bodies)],
                                 headers={"Content-Type": "application/json"})

    async def not_modified(client, i):
        return await client.get(MAP, headers={"If-None-Match": etag})

    return {"POST /v1/cost": asyncio.run(httpx_load(base, cost, connections, seconds, 200)),
            "GET map → 304": asyncio.run(httpx_load(base, not_modified, connections, seconds, 304))}


# --- in process ----------------------------------------------------------------------------


def in_process(url: str, feeds: Path, resold: list[tuple[str, str]], calls: int) -> dict[str, float]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import logging

    import litellm

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.ERROR)  # register_model warns per entry it cannot enrich
    cost_map = json.loads((feeds / "litellm_model_cost_map.json").read_bytes())
    litellm.register_model(cost_map)
    keys = [k for k in (litellm_key(p, m) for p, m in resold)
            if k in cost_map and litellm.get_model_info(k)["key"] == k]
    usage_object = litellm.Usage(prompt_tokens=PLAIN["input_tokens"], completion_tokens=PLAIN["output_tokens"])

    def litellm_cost(key):
        prompt, completion = litellm.cost_per_token(model=key, usage_object=usage_object)
        return prompt + completion

    book, usage, at = PriceBook.load(url), Usage(**PLAIN), datetime.now(UTC)
    runs = [(per_call_us(litellm_cost, [(k,) for k in keys], max(calls // 5, 500)),
             per_call_us(lambda p, m: book.cost(p, m, usage, at=at), resold, calls)) for _ in range(3)]
    return {"litellm_us": statistics.median(r[0] for r in runs), "book_us": statistics.median(r[1] for r in runs),
            "models": len(keys)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the service has the other core)")
    parser.add_argument("--workers", type=int, default=1, help="the service's worker processes")
    parser.add_argument("--calls", type=int, default=20_000, help="in-process calls per timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, feeds, resold = publish(folder)
        process, base = start_service(url, feeds, folder / "serve.log", args.workers)
        try:
            etag = httpx.get(base + MAP, headers={"Accept-Encoding": "identity"}).headers["etag"]
            tool = "wrk" if shutil.which("wrk") else "httpx (asyncio)"
            print(f"{len(resold)} resold models; service: pricing-pipeline serve (uvicorn, {args.workers} "
                  f"process(es)); load: {tool}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
            print(f"{'endpoint':<16} {'connections':>11} {'req/s':>9} {'p50':>9} {'p99':>9} {'max':>9}  errors")
            for connections in (args.connections, 1):
                for name, figures in load(base, resold, etag, connections, args.seconds, args.threads, folder).items():
                    print(f"{name:<16} {connections:>11} {figures['rps']:9.0f} {figures['p50_ms']:6.2f} ms "
                          f"{figures['p99_ms']:6.2f} ms {figures['max_ms']:6.1f} ms  "
                          f"{figures['non_2xx_3xx'] + figures['socket_errors']}")
        finally:
            process.terminate()
            process.wait(timeout=30)
        figures = in_process(url, feeds, resold, args.calls)
        print(f"in process, one call ({figures['models']} models LiteLLM resolves to our entry): "
              f"litellm.cost_per_token {figures['litellm_us']:.1f} µs, PriceBook.cost {figures['book_us']:.1f} µs "
              f"({figures['litellm_us'] / figures['book_us']:.0f}x)")


if __name__ == "__main__":
    main()
