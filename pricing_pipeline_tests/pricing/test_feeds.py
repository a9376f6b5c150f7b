"""The price feeds: LiteLLM reads our cost map and computes the same costs as request_cost;
prices.json carries every component exactly; files are replaced atomically."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.pricing.cost import Usage, request_cost
from pricing_pipeline.pricing.feeds import litellm_cost_map, prices_feed
from pricing_pipeline.providers.registry import get_adapter

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def litellm(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network: its bundled map
    import litellm

    return litellm


@pytest.fixture
def openrouter_store(store, payloads):
    store.publish("openrouter", get_adapter("openrouter").records(payloads.get("openrouter")), published_at=T0)
    return store


def usages(entry: dict) -> list[Usage]:
    out = [Usage(input_tokens=12_345, output_tokens=678), Usage(input_tokens=300_000, output_tokens=2_000)]
    if "cache_read_input_token_cost" in entry:
        out.append(Usage(input_tokens=50_000, cache_read_tokens=20_000, output_tokens=1_000))
    return out


def test_litellm_computes_the_same_cost_from_our_feed(litellm, openrouter_store):
    records = [p.record for p in openrouter_store.prices(provider="openrouter")]
    cost_map = litellm_cost_map(records)
    # Our map replaces LiteLLM's bundled one (its "custom model cost map" use), so no model
    # resolves to a bundled entry of the same name.
    bundled = dict(litellm.model_cost)
    litellm.model_cost.clear()
    litellm.register_model(cost_map)
    try:
        compare_costs(litellm, cost_map, openrouter_store)
    finally:
        litellm.model_cost.clear()
        litellm.model_cost.update(bundled)


def compare_costs(litellm, cost_map, openrouter_store):
    compared = tiered = cached = 0
    resolved_elsewhere = []
    at = T0 + timedelta(hours=1)
    for key, entry in cost_map.items():
        model_id = key.removeprefix("openrouter/")
        if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
            continue
        if litellm.get_model_info(key)["key"] != key:  # LiteLLM's own name resolution picks another entry
            resolved_elsewhere.append(key)
            continue
        for usage in usages(entry):
            ours = request_cost("openrouter", model_id, usage, at=at, store=openrouter_store).total_usd
            prompt, completion = litellm.cost_per_token(
                model=key, prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens,
                cache_read_input_tokens=usage.cache_read_tokens,
            )
            assert float(ours) == pytest.approx(prompt + completion, rel=1e-9), (key, usage, ours, prompt + completion)
            compared += 1
            tiered += usage.input_tokens == 300_000 and any("_above_" in k for k in entry)
            cached += usage.cache_read_tokens > 0
    assert compared > 600 and tiered > 50 and cached > 150, (compared, tiered, cached)
    assert len(resolved_elsewhere) < 10, resolved_elsewhere


def test_prices_feed_has_every_component_as_decimal_strings(openrouter_store):
    published = openrouter_store.prices(provider="openrouter")
    changes = {(c["provider"], c["model_id"]): c for c in openrouter_store.changes()}
    feed = prices_feed(published, changes, T0)
    sonnet = feed["providers"]["openrouter"]["anthropic/claude-sonnet-4.6"]
    assert feed["schema_version"] == 1 and sonnet["last_change"]["guard"] == "passed"
    assert {"component": "web_search", "unit": "usd_per_search", "usd": "0.01"}.items() <= next(
        c for c in sonnet["components"] if c["component"] == "web_search").items()
    total = sum(len(p.record.components()) for p in published)
    assert sum(len(m["components"]) for m in feed["providers"]["openrouter"].values()) == total
    assert all(isinstance(c["usd"], (str, type(None))) for m in feed["providers"]["openrouter"].values()
               for c in m["components"])
    json.dumps(feed)  # plain JSON


def test_feeds_are_replaced_atomically(tmp_path, monkeypatch):
    feeds = FeedsOutput(directory=str(tmp_path))
    feeds.write_atomically("prices.json", b'{"version": 1}')

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        feeds.write_atomically("prices.json", b'{"version": 2, "half": ')
    assert (tmp_path / "prices.json").read_bytes() == b'{"version": 1}'  # the old feed, whole
    assert [p.name for p in tmp_path.iterdir()] == ["prices.json"]  # no temp file left behind


def test_exact_decimals_in_the_cost_map_round_trip(openrouter_store):
    cost_map = litellm_cost_map([p.record for p in openrouter_store.prices(provider="openrouter")])
    entry = cost_map["openrouter/anthropic/claude-sonnet-4.6"]
    assert Decimal(str(entry["input_cost_per_token"])) == Decimal("0.000003")
    assert entry["litellm_provider"] == "openrouter" and entry["mode"] == "chat"
