"""Issue 30's acceptance check: ``pricing-pipeline serve`` (the real command, its own process) on
published prices. ``/v1/cost`` answers what ``pricing-pipeline cost`` prints for every resold
model; the real ``litellm`` loads the map from the service's URL, bills what we bill (as
test_litellm_round_trip.py does from a file), and its ETag gets a 304 while the map is unchanged."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pricing_pipeline import cli
from pricing_pipeline.pricing.feeds import litellm_key
from pricing_pipeline_tests.pricing.test_litellm_round_trip import (
    CHILD,
    PINNED,
    SHAPES,
    check,
    feed,  # noqa: F401 - the published prices
)

PRICING_PIPELINE = Path(sys.executable).parent / "pricing-pipeline"
# pricing-pipeline cost's usage flags per shape; each model gets one, in turn
CLI_SHAPES = [
    ["--input-tokens", "12345", "--output-tokens", "678"],
    ["--input-tokens", "300000", "--output-tokens", "2000"],
    ["--input-tokens", "50000", "--cache-read-tokens", "20000", "--output-tokens", "1000"],
    ["--input-tokens", "50000", "--cache-write-tokens", "10000", "--cache-write-1h-tokens", "5000",
     "--output-tokens", "1000"],
    ["--input-tokens", "1000", "--output-tokens", "5000", "--reasoning-tokens", "3000"],
    ["--input-tokens", "1000", "--output-tokens", "100", "--web-searches", "2"],
    ["--characters", "1000"],
]


def body_of(flags: list[str]) -> dict:
    return {flag.removeprefix("--").replace("-", "_"): int(value) for flag, value in zip(flags[::2], flags[1::2])}


@pytest.fixture(scope="module")
def served(feed):  # noqa: F811
    """``pricing-pipeline serve`` over the feed fixture's database and map, on a free port."""
    folder = feed["path"].parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite:///{folder / 'pricing.db'}"
    log = open(folder / "serve.log", "wb")
    process = subprocess.Popen([str(PRICING_PIPELINE), "serve", "--port", str(port), "--feeds-dir", str(folder)],
                               env={**os.environ, "PRICING_DATABASE_URL": url}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (folder / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.2)
        yield {"url": base, "database_url": url, "log": folder / "serve.log"}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def cli_cost(capsys, argv: list[str]) -> dict | str:
    """``pricing-pipeline cost ARGV --format json`` (its code, in this process): the JSON, or the error."""
    capsys.readouterr()
    status = cli.main(["cost", *argv, "--format", "json"])
    out = capsys.readouterr()
    return json.loads(out.out) if status == 0 else out.err.strip().removeprefix("error: ")


def test_cost_equals_the_cli_on_every_resold_model(served, feed, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PRICING_DATABASE_URL", served["database_url"])
    at = datetime.now(UTC).isoformat()
    compared, errors = 0, 0
    with httpx.Client(base_url=served["url"], timeout=60) as client:
        for i, record in enumerate(feed["records"]):
            flags = CLI_SHAPES[i % len(CLI_SHAPES)]
            argv = ["--provider", record.provider, "--model", record.model_id, *flags, "--at", at]
            ours = cli_cost(capsys, argv)
            response = client.post("/v1/cost", json={"provider": record.provider, "model": record.model_id,
                                                     **body_of(flags), "at": at})
            if isinstance(ours, str):
                assert response.status_code in (404, 422) and response.json()["message"] == ours, (argv, ours)
                errors += 1
            else:
                assert response.status_code == 200 and response.json() == ours, argv
            compared += 1
    assert compared == len(feed["records"]) > 400 and errors < compared / 2, (compared, errors)
    # and the command itself, in its own process, on two models
    for record in feed["records"][:2]:
        argv = ["cost", "--provider", record.provider, "--model", record.model_id, *CLI_SHAPES[0], "--at", at,
                "--format", "json"]
        printed = subprocess.run([str(PRICING_PIPELINE), *argv], capture_output=True, text=True, check=True,
                                 env={**os.environ, "PRICING_DATABASE_URL": served["database_url"]}).stdout
        response = httpx.post(f"{served['url']}/v1/cost", json={"provider": record.provider, "model": record.model_id,
                                                                 **body_of(CLI_SHAPES[0]), "at": at}, timeout=60)
        assert response.json() == json.loads(printed)


LITELLM_CHILD = CHILD.replace("print(json.dumps(out))", """
from litellm.litellm_core_utils.get_model_cost_map import get_model_cost_map_source_info
out["source"] = get_model_cost_map_source_info()
print(json.dumps(out))""")


def test_litellm_loads_the_map_from_the_service_and_its_etag_gets_a_304(served, feed):  # noqa: F811
    map_url = f"{served['url']}/v1/feeds/litellm_model_cost_map.json"
    job = {"register": False, "feed": str(feed["path"]), "keys": sorted(feed["map"]),
           "shapes": {name: (shape[2], shape[3]) for name, shape in SHAPES.items()}}
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "MODEL_COST_MAP_"))}
    result = subprocess.run([sys.executable, "-c", LITELLM_CHILD], input=json.dumps(job), capture_output=True,
                            text=True, timeout=300, check=True,
                            env={**environment, "LITELLM_MODEL_COST_MAP_URL": map_url,
                                 "MODEL_COST_MAP_MAX_SHRINK_RATIO": "0"})
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    assert theirs["source"]["source"] == "remote" and theirs["source"]["url"] == map_url, theirs["source"]
    assert theirs["ours_loaded"] == len(feed["map"])
    check(feed, theirs, PINNED)  # every model, every shape: our bill, or a pinned LiteLLM behaviour
    etag = theirs["source"]["etag"]
    again = httpx.get(map_url, headers={"If-None-Match": etag}, timeout=60)
    assert again.status_code == 304, (etag, again.headers)
    assert litellm_key(feed["records"][0].provider, feed["records"][0].model_id) in feed["map"]
