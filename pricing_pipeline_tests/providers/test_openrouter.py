from decimal import Decimal

import pytest

from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.openrouter import ADAPTER
from pricing_pipeline_tests.recordings import RECORDINGS_DIR

PAYLOAD = RECORDINGS_DIR / "openrouter_api_v1_models_2026-08-01.json"




def test_every_recorded_model_is_normalized(records):
    assert len(records) == 336


def test_per_token_strings_become_exact_usd_per_mtok(records):
    r = records["deepseek/deepseek-v4-flash-0731"]  # prompt "0.00000014" per token
    assert r.input_usd_per_mtok == Decimal("0.14")
    assert r.output_usd_per_mtok == Decimal("0.28")
    assert r.cache_read_usd_per_mtok == Decimal("0.0028")
    assert r.cache_write_usd_per_mtok is None


def test_minus_one_is_variable_pricing_not_a_price(records):
    r = records["openrouter/auto-beta"]
    assert r.variable_pricing
    assert r.input_usd_per_mtok is None and r.output_usd_per_mtok is None


def test_overrides_become_prompt_length_tiers(records):
    r = records["qwen/qwen3.7-flash"]
    assert [t.min_context_tokens for t in r.tiers] == [32000, 256000]
    assert r.tiers[0].input_usd_per_mtok == Decimal("0.1")
    assert r.tiers[1].cache_write_usd_per_mtok == Decimal("0.25")


def test_no_recorded_price_is_negative(records):
    for r in records.values():
        for value in r.prices().values():
            assert value is None or value >= 0, r


def test_a_number_where_a_decimal_string_belongs_is_rejected():
    payload = {"data": [{"id": "m", "pricing": {"prompt": 0.000001, "completion": "0.000002"}}]}
    with pytest.raises(InvalidResponse, match="openrouter: model 'm': pricing.prompt is float"):
        ADAPTER.records(payload)
