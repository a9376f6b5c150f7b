"""request_cost on real recordings published to the store (SQLite and PostgreSQL), checked
by hand: each expected figure is computed here from the raw upstream strings, not by the
code under test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.pricing.cost import (
    NotListedAt,
    ServiceTierUnavailable,
    UnknownModel,
    UnknownPrice,
    Usage,
    VariablePricing,
)
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.registry import get_adapter

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def d(value) -> Decimal:
    return Decimal(str(value))


def raw(payload, model_id):
    return next(m for m in payload["data"] if m["id"] == model_id)["pricing"]


@pytest.fixture
def openrouter(payloads):
    # the list these tests' models are on (the replayed one is the endpoint recordings' day)
    return payloads.get("openrouter_api_v1_models_2026-08-01.json")


@pytest.fixture
def published(store, openrouter, payloads):
    store.publish("openrouter", get_adapter("openrouter").records(openrouter), published_at=T0)
    store.publish("litellm", get_adapter("litellm").records(payloads.get("litellm")), published_at=T0)
    return store


def cost(store, model, usage, provider="openrouter", at=T0 + timedelta(hours=1), **kwargs):
    return request_cost(provider, model, usage, at=at, store=store, **kwargs)


def test_a_long_prompt_is_billed_at_its_context_tier(published, openrouter):
    pricing = raw(openrouter, "qwen/qwen3.7-flash")
    tier_32k, tier_256k = pricing["overrides"][0], pricing["overrides"][1]
    mid = cost(published, "qwen/qwen3.7-flash", Usage(input_tokens=100_000, output_tokens=2_000))
    assert mid.total_usd == 100_000 * d(tier_32k["prompt"]) + 2_000 * d(tier_32k["completion"])
    long = cost(published, "qwen/qwen3.7-flash", Usage(input_tokens=300_000, output_tokens=2_000))
    assert long.total_usd == 300_000 * d(tier_256k["prompt"]) + 2_000 * d(tier_256k["completion"])
    assert {line.tier for line in long.lines} == {256_000}
    short = cost(published, "qwen/qwen3.7-flash", Usage(input_tokens=32_000))  # "longer than", not equal
    assert short.total_usd == 32_000 * d(pricing["prompt"])


def test_cache_reads_and_writes_are_not_billed_again_as_input(published, openrouter):
    p = raw(openrouter, "anthropic/claude-sonnet-4.6")
    usage = Usage(input_tokens=10_000, cache_read_tokens=4_000, cache_write_tokens=2_000,
                  cache_write_1h_tokens=1_000, output_tokens=500, web_searches=2)
    result = cost(published, "anthropic/claude-sonnet-4.6", usage)
    assert result.total_usd == (
        3_000 * d(p["prompt"]) + 4_000 * d(p["input_cache_read"]) + 2_000 * d(p["input_cache_write"])
        + 1_000 * d(p["input_cache_write_1h"]) + 500 * d(p["completion"]) + 2 * d(p["web_search"])
    )
    assert [line.component for line in result.lines][:4] == ["input", "cache_read", "cache_write_5m", "cache_write_1h"]
    assert all(line.valid_from == T0 for line in result.lines)


def test_reasoning_tokens_at_their_own_price(published, openrouter):
    p = raw(openrouter, "google/gemini-3.6-flash")
    result = cost(published, "google/gemini-3.6-flash", Usage(input_tokens=1_000, output_tokens=5_000, reasoning_tokens=3_000))
    assert result.total_usd == 1_000 * d(p["prompt"]) + 2_000 * d(p["completion"]) + 3_000 * d(p["internal_reasoning"])


def test_a_batch_request_at_the_batch_price(published, payloads):
    p = payloads.get("litellm")["ft:gpt-3.5-turbo"]
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    batch = cost(published, "ft:gpt-3.5-turbo", usage, provider="litellm", service_tier="batch")
    assert batch.total_usd == d(p["input_cost_per_token_batches"]) * 10**6 + d(p["output_cost_per_token_batches"]) * 10**6
    assert cost(published, "ft:gpt-3.5-turbo", usage, provider="litellm").total_usd == (
        d(p["input_cost_per_token"]) * 10**6 + d(p["output_cost_per_token"]) * 10**6)


def test_time_of_day_windows_by_the_request_instant(store, openrouter):
    payload = copy.deepcopy(openrouter)
    model = next(m for m in payload["data"] if m["id"] == "anthropic/claude-sonnet-4.6")
    model["pricing"]["overrides"] = [{"utc_start": 1630, "utc_end": 30, "prompt": "0.0000015", "completion": "0.0000075"}]
    store.publish("openrouter", get_adapter("openrouter").records(payload), published_at=T0)
    usage = Usage(input_tokens=1_000, output_tokens=1_000)
    inside = cost(store, "anthropic/claude-sonnet-4.6", usage, at=datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    assert inside.total_usd == 1_000 * d("0.0000015") + 1_000 * d("0.0000075")
    assert inside.lines[0].window_utc is not None
    outside = cost(store, "anthropic/claude-sonnet-4.6", usage, at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert outside.total_usd == 1_000 * d("0.000003") + 1_000 * d("0.000015")


def test_a_price_change_between_two_syncs_bills_by_the_request_instant(store, openrouter):
    store.publish("openrouter", get_adapter("openrouter").records(openrouter), published_at=T0)
    changed = copy.deepcopy(openrouter)
    raw(changed, "openai/gpt-5.4-mini")["prompt"] = "0.0000005"
    store.publish("openrouter", get_adapter("openrouter").records(changed), published_at=T1)
    usage = Usage(input_tokens=1_000_000)
    before = cost(store, "openai/gpt-5.4-mini", usage, at=T1 - timedelta(seconds=1))
    after = cost(store, "openai/gpt-5.4-mini", usage, at=T1 + timedelta(seconds=1))
    assert before.total_usd == d(raw(openrouter, "openai/gpt-5.4-mini")["prompt"]) * 10**6
    assert after.total_usd == Decimal("0.5") and after.lines[0].valid_from == T1
    with pytest.raises(NotListedAt, match="not listed at 2026-11-30T11:00:00\\+00:00 \\(listed from 2026-11-30T12:00:00"):
        cost(store, "openai/gpt-5.4-mini", usage, at=T0 - timedelta(hours=1))


def test_errors_say_what_is_missing_and_never_answer_zero(published, store):
    with pytest.raises(UnknownModel, match="never listed 'no/such-model'"):
        cost(published, "no/such-model", Usage(input_tokens=1))
    with pytest.raises(UnknownModel, match="unknown provider"):
        cost(published, "x", Usage(input_tokens=1), provider="nosuch")
    with pytest.raises(VariablePricing):
        cost(published, "openrouter/auto-beta", Usage(input_tokens=1))
    with pytest.raises(UnknownPrice, match="no price for web searches"):
        cost(published, "ai21/jamba-large-1.7", Usage(input_tokens=1, web_searches=1))
    with pytest.raises(ServiceTierUnavailable, match="no batch prices"):
        cost(published, "anthropic/claude-sonnet-4.6", Usage(input_tokens=1), service_tier="batch")
    store.publish("vercel", [PriceRecord("vercel", "acme/unknown-output", input_usd_per_mtok=Decimal(1))],
                  published_at=T0)
    with pytest.raises(UnknownPrice, match="output"):
        cost(published, "acme/unknown-output", Usage(input_tokens=1, output_tokens=1), provider="vercel")
    assert cost(published, "acme/unknown-output", Usage(input_tokens=1_000_000), provider="vercel").total_usd == 1


def test_to_json_keeps_the_contract(published):
    result = cost(published, "anthropic/claude-sonnet-4.6", Usage(input_tokens=10, output_tokens=10)).to_json()
    assert list(result) == ["provider", "model_id", "at", "total_usd", "upstream_provider", "upstream_tag", "lines"]
    assert list(result["lines"][0]) == ["component", "quantity", "unit", "unit_price_usd", "usd", "tier",
                                        "window_utc", "service_tier", "valid_from", "upstream_provider", "upstream_tag"]
    # without --upstream-provider: the headline price, and every line says so
    assert result["upstream_provider"] is None and {line["upstream_provider"] for line in result["lines"]} == {None}
    assert isinstance(result["total_usd"], str)
