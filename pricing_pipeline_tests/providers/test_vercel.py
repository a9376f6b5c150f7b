"""Vercel AI Gateway. No public recording exists: the fixture is hand-written in the shape
Vercel documents for GET /v1/models (string prices per token, ``*_tiers`` brackets)."""

from decimal import Decimal

import pytest

from pricing_pipeline.pricing.records import PRICE_FIELDS
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.vercel import ADAPTER
from pricing_pipeline_tests.recordings import OWN_FIXTURES_DIR, REPLAY_FILES

PAYLOAD = FIXTURE = OWN_FIXTURES_DIR / "vercel_models.json"




def test_every_listed_model_is_a_record(records):
    assert len(records) == 9
    assert REPLAY_FILES["vercel"] == FIXTURE


def test_per_token_strings_become_usd_per_mtok(records):
    r = records["alibaba/qwen3.5-flash"]  # "0.0000001" per token and so on
    assert r.input_usd_per_mtok == Decimal("0.1")
    assert r.output_usd_per_mtok == Decimal("0.4")
    assert r.cache_read_usd_per_mtok == Decimal("0.001")
    assert r.cache_write_usd_per_mtok == Decimal("0.125")
    assert r.tiers == ()
    flat = records["alibaba/qwen-3-14b"]
    assert (flat.input_usd_per_mtok, flat.output_usd_per_mtok) == (Decimal("0.12"), Decimal("0.24"))
    assert flat.cache_read_usd_per_mtok is None and flat.cache_write_usd_per_mtok is None


def test_inclusive_bracket_start_becomes_a_longer_than_tier(records):
    r = records["anthropic/claude-sonnet-4"]
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal(3), Decimal(15))
    assert (r.cache_read_usd_per_mtok, r.cache_write_usd_per_mtok) == (Decimal("0.3"), Decimal("3.75"))
    (tier,) = r.tiers
    assert tier.min_context_tokens == 200000  # Vercel "min": 200001 is inclusive
    assert tier.input_usd_per_mtok == Decimal(6)
    assert tier.output_usd_per_mtok == Decimal("22.5")
    assert tier.cache_read_usd_per_mtok == Decimal("0.6")
    assert tier.cache_write_usd_per_mtok == Decimal("7.5")


def test_three_brackets_make_two_tiers_and_untiered_components_stay_none(records):
    r = records["alibaba/qwen3-max"]
    assert [t.min_context_tokens for t in r.tiers] == [32000, 128000]
    assert [t.input_usd_per_mtok for t in r.tiers] == [Decimal("2.4"), Decimal(3)]
    assert [t.output_usd_per_mtok for t in r.tiers] == [Decimal(12), Decimal(15)]
    assert r.cache_read_usd_per_mtok == Decimal("0.24")
    assert all(t.cache_read_usd_per_mtok is None for t in r.tiers)


def test_free_model_is_zero_not_unknown(records):
    r = records["meituan/longcat-flash-chat"]
    assert r.input_usd_per_mtok == Decimal(0) and r.output_usd_per_mtok == Decimal(0)


def test_embedding_image_and_video_models(records):
    embedding = records["openai/text-embedding-3-small"]
    assert embedding.input_usd_per_mtok == Decimal("0.02")
    assert embedding.output_usd_per_mtok is None
    image = records["bfl/flux-kontext-max"]
    assert image.image_usd == Decimal("0.08")
    assert image.input_usd_per_mtok is None and image.output_usd_per_mtok is None
    video = records["google/veo-3.1-generate-001"]  # priced in units we do not store
    assert all(value is None for value in video.prices().values())
    assert set(video.prices()) == set(PRICE_FIELDS)


def test_brackets_without_a_base_price_give_the_base_from_the_first_bracket():
    pricing = {"input_tiers": [{"cost": "0.000002", "min": 0}], "output": "0.00001"}
    (r,) = ADAPTER.records({"data": [{"id": "m", "pricing": pricing}]})
    assert r.input_usd_per_mtok == Decimal(2) and r.output_usd_per_mtok == Decimal(10)
    assert r.tiers == ()


def test_a_number_where_a_decimal_string_belongs_is_rejected():
    payload = {"data": [{"id": "m", "pricing": {"input": 0.000001, "output": "0.000002"}}]}
    with pytest.raises(InvalidResponse, match="vercel: model 'm': pricing.input is float"):
        ADAPTER.records(payload)


def test_a_malformed_bracket_is_rejected():
    pricing = {"input": "0.000001", "input_tiers": [{"cost": "0.000001", "min": "0"}]}
    with pytest.raises(InvalidResponse, match="vercel: model 'm': input_tiers min is '0'"):
        ADAPTER.records({"data": [{"id": "m", "pricing": pricing}]})


def test_missing_data_key_is_rejected():
    with pytest.raises(InvalidResponse, match="vercel: response has no 'data' key"):
        ADAPTER.records({"object": "list", "models": []})


def test_duplicate_ids_are_rejected():
    item = {"id": "openai/gpt-5", "pricing": {"input": "0.00000125", "output": "0.00001"}}
    with pytest.raises(InvalidResponse, match="vercel: 1 duplicate model ids: openai/gpt-5"):
        ADAPTER.records({"data": [item, dict(item)]})


def test_fetch_through_a_real_http_server(upstream, monkeypatch):
    url = upstream.serve_file("/v1/models", FIXTURE)
    monkeypatch.setenv(ADAPTER.url_env, url)
    monkeypatch.delenv("AI_GATEWAY_API_KEY", raising=False)
    records = {r.model_id: r for r in ADAPTER.records(ADAPTER.fetch().json())}
    assert len(records) == 9
    assert records["anthropic/claude-sonnet-4"].tiers[0].output_usd_per_mtok == Decimal("22.5")
    assert upstream.requests[-1].path == "/v1/models"
    assert "Authorization" not in upstream.requests[-1].headers


def test_tiers_min_inclusive_max_exclusive_and_varies_by_provider():
    model = {"id": "google/gemini-3-pro", "type": "language", "pricing": {
        "input": "0.000002", "output": "0.000012", "varies_by_provider": True,
        "input_tiers": [{"cost": "0.000002", "min": 0, "max": 200001}, {"cost": "0.000004", "min": 200001}],
    }}
    (r,) = ADAPTER.records({"data": [model]})
    assert r.unknown_keys == ()
    assert [(t.min_context_tokens, t.input_usd_per_mtok) for t in r.tiers] == [(200000, Decimal(4))]
    assert r.input_usd_per_mtok == Decimal(2)
    model["pricing"]["varies_by_provider"] = "yes"
    assert "varies_by_provider" in ADAPTER.parse({"data": [model]}).quarantined["google/gemini-3-pro"]


@pytest.mark.parametrize(("kind", "model_type"), [("speech", "audio"), ("transcription", "transcription"),
                                                  ("reranking", "rerank"), ("realtime", "other")])
def test_type_vocabulary(kind, model_type):
    (r,) = ADAPTER.records({"data": [{"id": "m", "type": kind, "pricing": {"input": "0.000001", "output": "0.000002"}}]})
    assert r.model_type == model_type
