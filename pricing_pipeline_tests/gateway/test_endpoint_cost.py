"""The cost of a request at the endpoint that served it, on OpenRouter's real endpoint lists:
request_cost, the price book and the `cost` command agree, and match the recording's own prices."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import UnknownUpstream, Usage
from pricing_pipeline.pricing.endpoints import endpoint_model, is_endpoint_id
from pricing_pipeline_tests.gateway.conftest import DAY1, PUBLISHED_AT, billed, raw_endpoint

AT = PUBLISHED_AT[DAY1] + timedelta(hours=1)
USAGE = Usage(input_tokens=12_000, output_tokens=800, cache_read_tokens=2_000)


def test_an_azure_served_request_is_billed_at_azures_price(day1):
    azure = raw_endpoint(DAY1, "deepseek/deepseek-r1", "azure")["pricing"]
    cost = request_cost("openrouter", "deepseek/deepseek-r1", USAGE, at=AT, store=day1, upstream_provider="Azure")
    assert cost.total_usd == billed(azure, 12_000, 800, cached=2_000)  # no cache price at Azure: input
    headline = request_cost("openrouter", "deepseek/deepseek-r1", USAGE, at=AT, store=day1)
    assert headline.total_usd < cost.total_usd  # the model's list price ($0.70 / $2.50) is not Azure's
    assert {(line.upstream_provider, line.upstream_tag) for line in cost.lines} == {("Azure", "azure")}
    assert {(line.upstream_provider, line.upstream_tag) for line in headline.lines} == {(None, None)}
    assert (cost.to_json()["upstream_provider"], cost.to_json()["upstream_tag"]) == ("Azure", "azure")


def test_a_provider_with_several_endpoints_bills_its_base_one_unless_the_tag_is_given(day1):
    def at(upstream):
        return request_cost("openrouter", "openai/gpt-5.4", USAGE, at=AT, store=day1, upstream_provider=upstream)

    base, eu = (raw_endpoint(DAY1, "openai/gpt-5.4", tag)["pricing"] for tag in ("azure", "azure/eu"))
    assert at("Azure").total_usd == billed(base, 12_000, 800, cached=2_000) and at("Azure").lines[0].upstream_tag == "azure"
    assert at("azure/EU").total_usd == billed(eu, 12_000, 800, cached=2_000) != at("azure").total_usd
    # Amazon Bedrock serves Sonnet 4.5 as `amazon-bedrock` and `anthropic/claude-on-aws`: the base one
    sonnet = request_cost("openrouter", "anthropic/claude-sonnet-4.5", USAGE, at=AT, store=day1,
                          upstream_provider="amazon bedrock")
    assert sonnet.upstream_tag == "amazon-bedrock"


def test_an_unknown_upstream_names_the_endpoints_the_model_has(day1):
    with pytest.raises(UnknownUpstream, match=r"no endpoint at 'Nowhere' \(its endpoints: .*Azure \(azure\)"):
        request_cost("openrouter", "deepseek/deepseek-r1", USAGE, at=AT, store=day1, upstream_provider="Nowhere")


def test_a_discount_is_billed_as_listed_never_applied_again(day1):
    raw = raw_endpoint(DAY1, "deepseek/deepseek-v3.2", "streamlake/fp8")["pricing"]
    assert raw["discount"] == 0.25
    cost = request_cost("openrouter", "deepseek/deepseek-v3.2", Usage(input_tokens=1_000_000), at=AT, store=day1,
                        upstream_provider="streamlake/fp8")
    assert cost.total_usd == Decimal(raw["prompt"]) * 1_000_000  # $0.2145, as listed


def test_a_long_prompt_override_applies_per_endpoint(day1):
    raw = raw_endpoint(DAY1, "anthropic/claude-sonnet-4.5", "amazon-bedrock")["pricing"]
    [override] = raw["overrides"]
    long = Usage(input_tokens=override["min_prompt_tokens"] + 1, output_tokens=1_000)
    cost = request_cost("openrouter", "anthropic/claude-sonnet-4.5", long, at=AT, store=day1,
                        upstream_provider="amazon-bedrock")
    assert cost.total_usd == billed(raw, long.input_tokens, 1_000)
    assert {line.tier for line in cost.lines} == {override["min_prompt_tokens"]}


def test_the_price_book_equals_request_cost_at_every_endpoint(day1):
    book = PriceBook(day1, history_window=timedelta(days=3650))
    endpoints = [p.record for p in day1.prices("openrouter") if is_endpoint_id(p.record.model_id)]
    assert len(endpoints) > 900
    for record in endpoints[::7]:  # every seventh: 130-odd endpoints, each against the database
        model = endpoint_model(record.model_id)
        for upstream in (record.upstream_tag, record.upstream_provider):
            try:
                ours = request_cost("openrouter", model, USAGE, at=AT, store=day1, upstream_provider=upstream)
            except Exception as error:  # noqa: BLE001 - the same error, from memory
                with pytest.raises(type(error), match=str(error)[:40].replace("(", r"\(").replace(")", r"\)")):
                    book.cost("openrouter", model, USAGE, at=AT, upstream_provider=upstream)
                continue
            assert book.cost("openrouter", model, USAGE, at=AT, upstream_provider=upstream) == ours


def test_the_cost_command_takes_the_serving_provider(day1, db_url, tmp_path):
    env = {"PRICING_DATABASE_URL": db_url, "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "pricing_pipeline.cli", "cost", "--provider", "openrouter", "--model", "deepseek/deepseek-r1",
               "--input-tokens", "1000000", "--at", AT.isoformat(), "--format", "json"]
    azure = json.loads(subprocess.run([*command, "--upstream-provider", "AZURE"], env=env, capture_output=True,
                                      text=True, check=True).stdout)
    assert azure["total_usd"] == "1.485" and azure["lines"][0]["upstream_tag"] == "azure"
    missing = subprocess.run([*command, "--upstream-provider", "Nowhere"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stdout == "" and "its endpoints:" in missing.stderr


def test_prices_json_lists_each_models_endpoints_and_the_litellm_map_has_none(day1):
    from datetime import UTC, datetime

    from pricing_pipeline.pricing.feeds import litellm_cost_map, prices_feed

    published = day1.prices("openrouter")
    feed = prices_feed(published, {}, datetime.now(UTC))
    r1 = feed["providers"]["openrouter"]["deepseek/deepseek-r1"]
    azure = r1["endpoints"]["azure"]
    assert (azure["upstream_provider"], azure["discount"]) == ("Azure", "0")
    assert {c["component"]: c["usd"] for c in azure["components"]} == {"input": "1.485", "output": "5.94"}
    assert not any("#" in model for model in feed["providers"]["openrouter"])
    # LiteLLM has no per-route price: its map carries the headline prices only
    cost_map = litellm_cost_map([p.record for p in published])
    assert "openrouter/deepseek/deepseek-r1" in cost_map and not any("#" in key for key in cost_map)
