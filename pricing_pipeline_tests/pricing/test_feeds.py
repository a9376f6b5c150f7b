"""The price feeds: prices.json carries every component exactly; the LiteLLM map's decimals
round-trip; files are replaced atomically. LiteLLM itself reading the map:
test_litellm_round_trip.py."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.pricing.feeds import litellm_cost_map, prices_feed
from pricing_pipeline.providers.registry import get_adapter

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def openrouter_store(store, payloads):
    store.publish("openrouter", get_adapter("openrouter").records(payloads.get("openrouter")), published_at=T0)
    return store


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


def test_every_service_tier_has_a_litellm_spelling():
    from pricing_pipeline.pricing.feeds import TIER_SUFFIX
    from pricing_pipeline.pricing.records import SERVICE_TIERS

    assert set(TIER_SUFFIX) == set(SERVICE_TIERS)


def test_a_cache_part_without_its_own_price_is_written_at_the_input_price():
    """Our rule (the part stays in the input), said to LiteLLM, which would otherwise keep a
    bundled entry's cache prices or drop them (register_model on a model it does not know)."""
    from pricing_pipeline.pricing.feeds import litellm_entry
    from pricing_pipeline.pricing.records import PriceComponent, PriceRecord

    def record(*components):
        return PriceRecord.from_components("together", "acme/model", list(components))

    tiered = litellm_entry(record(
        PriceComponent("input", "usd_per_mtok", Decimal("1")),
        PriceComponent("output", "usd_per_mtok", Decimal("4")),
        PriceComponent("input", "usd_per_mtok", Decimal("2"), min_context_tokens=200_000),
        PriceComponent("output", "usd_per_mtok", Decimal("8"), min_context_tokens=200_000),
    ))
    assert tiered["litellm_provider"] == "together_ai"
    assert {k: v for k, v in tiered.items() if k.startswith("cache_")} == {
        "cache_read_input_token_cost": 1e-6, "cache_creation_input_token_cost": 1e-6,
        "cache_creation_input_token_cost_above_1hr": 1e-6,
        "cache_read_input_token_cost_above_200k_tokens": 2e-6,
        "cache_creation_input_token_cost_above_200k_tokens": 2e-6,
    }
    priced = litellm_entry(record(
        PriceComponent("input", "usd_per_mtok", Decimal("1")),
        PriceComponent("cache_read", "usd_per_mtok", Decimal("0.1")),
        PriceComponent("input", "usd_per_mtok", Decimal("2"), min_context_tokens=200_000),
    ))
    # a cache read priced once keeps that price in every tier (no tiered key written)
    assert priced["cache_read_input_token_cost"] == 1e-7
    assert "cache_read_input_token_cost_above_200k_tokens" not in priced
