"""Novita. No public recording exists: the fixture is hand-written in the shape of the
documented GET /openai/v1/models (integer prices in 0.0001 USD per 1M tokens)."""

from decimal import Decimal

import pytest

from pricing_pipeline.providers.errors import InvalidResponse, UpstreamError
from pricing_pipeline.providers.novita import ADAPTER
from pricing_pipeline_tests.recordings import OWN_FIXTURES_DIR, REPLAY_FILES

PAYLOAD = FIXTURE = OWN_FIXTURES_DIR / "novita_models.json"


def test_every_listed_model_is_a_record(records):
    assert len(records) == 8
    assert REPLAY_FILES["novita"] == FIXTURE


def test_integer_prices_are_ten_thousandths_of_a_dollar_per_mtok(records):
    r = records["meta-llama/llama-3.3-70b-instruct"]  # 3900 -> $0.39 per 1M
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("0.39"), Decimal("0.39"))
    r = records["xiaomimimo/mimo-v2.5-pro"]  # 20000 / 60000
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal(2), Decimal(6))
    r = records["moonshotai/kimi-k2-instruct"]  # 5700 / 23000
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("0.57"), Decimal("2.3"))
    assert r.cache_read_usd_per_mtok is None


def test_cache_read_comes_from_the_pricing_object(records):
    r = records["zai-org/glm-5.3-flash"]  # 1500 / 5000 / cache read 300
    assert r.input_usd_per_mtok == Decimal("0.15")
    assert r.output_usd_per_mtok == Decimal("0.5")
    assert r.cache_read_usd_per_mtok == Decimal("0.03")
    assert records["deepseek/deepseek-v3.2"].cache_read_usd_per_mtok == Decimal("0.1345")


def test_tiered_billing_zeros_are_unknown_but_other_zeros_are_free(records):
    tiered = records["qwen/qwen3.6-plus"]
    assert all(value is None for value in tiered.prices().values())
    free = records["meta-llama/llama-3.2-1b-instruct"]
    assert (free.input_usd_per_mtok, free.output_usd_per_mtok) == (Decimal(0), Decimal(0))
    embedding = records["baai/bge-m3"]
    assert (embedding.input_usd_per_mtok, embedding.output_usd_per_mtok) == (Decimal("0.01"), Decimal(0))


def test_a_string_where_a_number_belongs_is_rejected():
    payload = {"data": [{"id": "m", "input_token_price_per_m": "1500", "output_token_price_per_m": 5000}]}
    with pytest.raises(InvalidResponse, match="novita: model 'm': input_token_price_per_m is str"):
        ADAPTER.records(payload)
    nested = {"data": [{"id": "m", "input_token_price_per_m": 1, "pricing": {"input_cache_read": {"price_per_m": "3"}}}]}
    with pytest.raises(InvalidResponse, match="novita: model 'm': pricing.input_cache_read.price_per_m is str"):
        ADAPTER.records(nested)


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NOVITA_API_KEY", raising=False)
    with pytest.raises(UpstreamError, match="novita: NOVITA_API_KEY is not set"):
        ADAPTER.fetch()
