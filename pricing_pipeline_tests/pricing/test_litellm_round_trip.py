"""Our LiteLLM feed read by the real ``litellm`` package, both ways a LiteLLM user loads a
map: ``register_model`` over its bundled map, and replacing the map with ours
(``LITELLM_MODEL_COST_MAP_URL``). Every resold model on every usage shape costs what we bill,
or differs by a LiteLLM behaviour pinned here and stated in docs/pricing-rules.md ("The LiteLLM feed, read
by LiteLLM"). Each way runs in a fresh process: LiteLLM loads its map at import and keeps
registrations in module state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import CostError, Usage
from pricing_pipeline.pricing.feeds import litellm_cost_map, litellm_key
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter
from pricing_pipeline.store import PricingStore

RESOLD = [p for p in PROVIDER_NAMES if not get_adapter(p).reference_catalog]
# name -> (our usage, service tier, LiteLLM's usage object, cost_per_token's other arguments)
SHAPES = {
    "plain": (Usage(input_tokens=12_345, output_tokens=678), "standard",
              {"prompt_tokens": 12_345, "completion_tokens": 678}, {}),
    "prompt_over_200k": (Usage(input_tokens=300_000, output_tokens=2_000), "standard",
                         {"prompt_tokens": 300_000, "completion_tokens": 2_000}, {}),
    "cache_read": (Usage(input_tokens=50_000, cache_read_tokens=20_000, output_tokens=1_000), "standard",
                   {"prompt_tokens": 50_000, "completion_tokens": 1_000,
                    "prompt_tokens_details": {"cached_tokens": 20_000}}, {}),
    "cache_write_5m_1h": (
        Usage(input_tokens=50_000, cache_write_tokens=10_000, cache_write_1h_tokens=5_000, output_tokens=1_000),
        "standard",
        {"prompt_tokens": 50_000, "completion_tokens": 1_000, "prompt_tokens_details": {
            "cache_creation_tokens": 15_000,
            "cache_creation_token_details": {"ephemeral_5m_input_tokens": 10_000, "ephemeral_1h_input_tokens": 5_000}}},
        {}),
    "reasoning": (Usage(input_tokens=1_000, output_tokens=5_000, reasoning_tokens=3_000), "standard",
                  {"prompt_tokens": 1_000, "completion_tokens": 5_000,
                   "completion_tokens_details": {"reasoning_tokens": 3_000}}, {}),
    "web_search": (Usage(input_tokens=1_000, output_tokens=100, web_searches=2), "standard",
                   {"prompt_tokens": 1_000, "completion_tokens": 100,
                    "server_tool_use": {"web_search_requests": 2}}, {}),
    "speech_characters": (Usage(characters=1_000), "standard", {},
                          {"call_type": "speech", "prompt_characters": 1_000}),
    "batch": (Usage(input_tokens=12_345, output_tokens=678), "batch",
              {"prompt_tokens": 12_345, "completion_tokens": 678}, {"call_type": "retrieve_batch"}),
}
# A resold model with batch prices (no recorded resold provider publishes any).
BATCH_MODEL = PriceRecord.from_components("deepinfra", "test/batch-priced", [
    PriceComponent("input", "usd_per_mtok", Decimal("0.8")), PriceComponent("output", "usd_per_mtok", Decimal("3.2")),
    PriceComponent("input", "usd_per_mtok", Decimal("0.4"), service_tier="batch"),
    PriceComponent("output", "usd_per_mtok", Decimal("1.6"), service_tier="batch"),
])

CHILD = """
import json, os, sys
import litellm
litellm.suppress_debug_info = True
job = json.load(sys.stdin)
if job["register"]:
    litellm.register_model(json.load(open(job["feed"])))
shapes = job["shapes"]
out = {"ours_loaded": sum(k in litellm.model_cost for k in job["keys"]), "costs": {}, "resolved": {}}
for key in job["keys"]:
    try:
        out["resolved"][key] = litellm.get_model_info(key)["key"]
    except Exception as error:
        out["resolved"][key] = repr(error)[:200]
    for name, (usage, kwargs) in shapes.items():
        try:
            prompt, completion = litellm.cost_per_token(model=key, usage_object=litellm.Usage(**usage), **kwargs)
            out["costs"][key + " " + name] = prompt + completion
        except Exception as error:
            out["costs"][key + " " + name] = repr(error)[:200]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def feed(tmp_path_factory, payloads):
    """The resold providers' recordings published, our cost of every shape from the price
    book (equal to request_cost: test_pricebook.py), and the feed written to a file."""
    folder = tmp_path_factory.mktemp("litellm")
    url = f"sqlite:///{folder / 'pricing.db'}"
    store = PricingStore(url)
    store.migrate()
    for provider in RESOLD:
        records = get_adapter(provider).records(payloads.get(provider))
        store.publish(provider, records + [BATCH_MODEL] if provider == "deepinfra" else records)
    records = [p.record for provider in RESOLD for p in store.prices(provider=provider)]
    cost_map = litellm_cost_map(records)
    book, at = PriceBook.load(url), datetime.now(UTC)
    ours = {}
    for record in records:
        for name, (usage, tier, _, _) in SHAPES.items():
            try:
                ours[(litellm_key(record.provider, record.model_id), name)] = book.cost(
                    record.provider, record.model_id, usage, at=at, service_tier=tier)
            except CostError:
                pass  # a shape the model has no price for: nothing to compare
    path = folder / "litellm_model_cost_map.json"
    path.write_text(json.dumps(cost_map))
    store.dispose()
    return {"map": cost_map, "path": path, "ours": ours, "records": records}


def litellm_answers(feed, env: dict, register: bool, costs: bool = True) -> dict:
    job = {"register": register, "feed": str(feed["path"]), "keys": sorted(feed["map"]),
           "shapes": {name: (shape[2], shape[3]) for name, shape in SHAPES.items()} if costs else {}}
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "MODEL_COST_MAP_"))}
    result = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(job), capture_output=True, text=True,
                            env={**environment, **env}, timeout=300, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def explain(feed, theirs: dict) -> tuple[int, dict[str, list[str]]]:
    """Compare every (model, shape) we can bill with LiteLLM's cost: the number that agree, and
    the others by the LiteLLM behaviour that explains them ("unexplained" fails the test)."""
    agree, reasons = 0, {}
    dated_bases = {key: other for key, other in theirs["resolved"].items() if other != key}
    for (key, shape), cost in feed["ours"].items():
        answer, ours = theirs["costs"][f"{key} {shape}"], float(cost.total_usd)
        if isinstance(answer, float) and answer == pytest.approx(ours, rel=1e-9, abs=1e-15):
            agree += 1
            continue
        entry = feed["map"][key]
        if key in dated_bases or key in dated_bases.values():
            reason = DATED
        elif shape == "web_search" and answer == pytest.approx(
                ours - sum(float(line.usd) for line in cost.lines if line.component.startswith("web_search")), rel=1e-9):
            reason = "cost_per_token bills no web search"
        elif shape == "cache_write_5m_1h" and any("_above_" in k for k in entry) and answer == pytest.approx(
                ours - 5_000 * (one_hour_write_usd_per_token(cost) - entry["cache_creation_input_token_cost_above_1hr"]),
                rel=1e-9):
            reason = "a 1-hour cache write has one price in every context tier"
        else:
            reason = "unexplained"
        reasons.setdefault(reason, []).append(f"{key} {shape}: ours {cost.total_usd}, LiteLLM {answer}")
    return agree, reasons


def one_hour_write_usd_per_token(cost) -> float:
    """What we bill a 1-hour cache write token: its own price, else the input's (it stays in the input)."""
    lines = {line.component: line for line in cost.lines}
    return float((lines.get("cache_write_1h") or lines["input"]).unit_price_usd) / 1e6


DATED = "a dated name resolves to the undated entry"
PINNED = {"cost_per_token bills no web search", "a 1-hour cache write has one price in every context tier"}


def check(feed, theirs: dict, pinned: set[str]) -> dict[str, list[str]]:
    agree, reasons = explain(feed, theirs)
    assert "unexplained" not in reasons, reasons["unexplained"][:20]
    assert set(reasons) == pinned, set(reasons)  # a LiteLLM behaviour gone: update docs/pricing-rules.md
    # the dated names whose undated name is in the feed at another price (the example:
    # LiteLLM bills gpt-4o-2024-05-13 at gpt-4o's $2.5/$10 instead of its $5/$15)
    if DATED in pinned:
        dated = {r.split(" ")[0] for r in reasons[DATED]}
        assert "openrouter/openai/gpt-4o-2024-05-13" in dated and len(dated) <= 3, dated
    shapes = {shape for _, shape in feed["ours"]}
    assert shapes == set(SHAPES), shapes
    assert agree > 2000, agree
    assert theirs["costs"][f"{litellm_key('deepinfra', 'test/batch-priced')} batch"] == pytest.approx(
        12_345 * 0.4e-6 + 678 * 1.6e-6, rel=1e-9)
    return reasons


def test_register_model_over_the_bundled_map(feed):
    theirs = litellm_answers(feed, {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}, register=True)
    # register_model writes a name onto the bundled entry LiteLLM resolves it to, and a dated
    # name resolves to the undated one: the two share one price
    check(feed, theirs, PINNED | {DATED})


def test_our_map_in_place_of_litellms(feed, upstream):
    url = upstream.serve_file("/litellm_model_cost_map.json", feed["path"])
    # LiteLLM rejects a fetched map under half the size of its bundled one (and falls back to
    # the bundled map, with a warning): a map of our resold models alone needs the check off.
    refused = litellm_answers(feed, {"LITELLM_MODEL_COST_MAP_URL": url}, register=False, costs=False)
    assert refused["ours_loaded"] < len(feed["map"]) / 2
    theirs = litellm_answers(feed, {"LITELLM_MODEL_COST_MAP_URL": url, "MODEL_COST_MAP_MAX_SHRINK_RATIO": "0"},
                             register=False)
    assert theirs["ours_loaded"] == len(feed["map"])
    check(feed, theirs, PINNED)  # every name its own entry: the dated ones are exact
