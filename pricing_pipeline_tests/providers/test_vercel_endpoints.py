"""Vercel AI Gateway's per-provider prices: a model whose pricing ``varies_by_provider`` gets
one record per provider from the documented ``GET /v1/models/{creator}/{model}/endpoints``
(the body here is written to that documented shape: no recording of it exists), and a request
is costed at the provider that served it."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from pricing_pipeline.pricing.cost import Usage
from pricing_pipeline.providers.vercel import ADAPTER
from pricing_pipeline_tests.recordings import REPLAY_FILES

MODEL = "anthropic/claude-sonnet-4"


def endpoint(provider: str, prompt: str, completion: str, **pricing) -> dict:
    return {"name": f"{provider} | {MODEL}", "model_name": "Claude Sonnet 4", "provider_name": provider,
            "context_length": 200000, "pricing": {"prompt": prompt, "completion": completion, **pricing},
            "supported_parameters": ["tools"], "uptime_last_1h": 99.9, "tags": ["tool-use"], "quantization": None}


def endpoints_body(*endpoints: dict) -> bytes:
    return json.dumps({"data": {"id": MODEL, "name": "Claude Sonnet 4", "created": 1747872000, "description": "",
                                "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"]},
                                "endpoints": list(endpoints)}}).encode()


ANTHROPIC = endpoint("anthropic", "0.000003", "0.000015", input_cache_read="0.0000003", input_cache_write="0.00000375")
BEDROCK = endpoint("bedrock", "0.0000033", "0.0000165", discount="0")


def varying_list() -> bytes:
    body = json.loads(REPLAY_FILES["vercel"].read_bytes())
    for entry in body["data"]:
        if entry["id"] == MODEL:
            entry["pricing"]["varies_by_provider"] = True
    return json.dumps(body).encode()


def test_only_models_whose_pricing_varies_by_provider_are_asked_for():
    urls = ADAPTER.detail_urls(varying_list())
    assert list(urls) == [MODEL]
    assert urls[MODEL] == "https://ai-gateway.vercel.sh/v1/models/anthropic/claude-sonnet-4/endpoints"


def test_each_provider_is_a_record_at_its_own_price():
    records, quarantined = ADAPTER.detail_records(MODEL, endpoints_body(ANTHROPIC, BEDROCK))
    by_id = {r.model_id: r for r in records}
    assert set(by_id) == {f"{MODEL}#anthropic", f"{MODEL}#bedrock"} and quarantined == {}
    bedrock = by_id[f"{MODEL}#bedrock"]
    assert (bedrock.input_usd_per_mtok, bedrock.output_usd_per_mtok) == (Decimal("3.3"), Decimal("16.5"))
    assert (bedrock.upstream_provider, bedrock.upstream_tag, bedrock.upstream_model_id) == ("bedrock", "bedrock", MODEL)
    assert by_id[f"{MODEL}#anthropic"].cache_read_usd_per_mtok == Decimal("0.3")
    assert bedrock.unknown_keys == ()  # discount is read (kept raw, never applied again)


def test_unknown_keys_are_reported_and_bad_entries_quarantined_alone():
    odd = endpoint("vertex", "0.000003", "0.000015", audio_seconds="0.0001")
    twice = [endpoint("azure", "0.000003", "0.000015"), endpoint("azure", "0.000004", "0.000015")]
    junk = endpoint("groq", "cheap", "0.000015")
    records, quarantined = ADAPTER.detail_records(MODEL, endpoints_body(odd, *twice, junk))
    assert [r.model_id for r in records] == [f"{MODEL}#vertex"] and records[0].unknown_keys == ("pricing.audio_seconds",)
    assert set(quarantined) == {f"{MODEL}#azure", f"{MODEL}#groq"}
    with pytest.raises(TypeError, match="provider_name"):
        ADAPTER.detail_records(MODEL, endpoints_body({**ANTHROPIC, "provider_name": None}))


def test_a_sync_publishes_them_and_a_request_is_costed_where_it_was_served(replay, run_sync, store):
    from pricing_pipeline.gateway.cost import request_cost

    replay.serve("/vercel", varying_list())
    replay.serve(f"/vercel/{MODEL}/endpoints", endpoints_body(ANTHROPIC, BEDROCK))
    assert run_sync("vercel").success
    usage = Usage(input_tokens=1000, output_tokens=100)
    served = request_cost("vercel", MODEL, usage, store=store, upstream_provider="Bedrock")
    headline = request_cost("vercel", MODEL, usage, store=store)
    assert served.total_usd == Decimal("0.0000033") * 1000 + Decimal("0.0000165") * 100
    assert headline.total_usd == Decimal("0.000003") * 1000 + Decimal("0.000015") * 100
    assert [r.path for r in replay.requests if r.path.startswith("/vercel/")] == [f"/vercel/{MODEL}/endpoints"]
