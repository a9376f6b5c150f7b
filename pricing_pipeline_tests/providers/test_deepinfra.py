from decimal import Decimal

from pricing_pipeline.providers.deepinfra import ADAPTER
from pricing_pipeline_tests.recordings import RECORDINGS_DIR, REPLAY_FILES, require_file

RECORDING = "deepinfra_v1_openai_models_2026-04-17.json"
PAYLOAD = RECORDINGS_DIR / RECORDING


def test_models_with_metadata_are_records_and_null_metadata_is_skipped(payload, records):
    assert len(payload["data"]) == 154
    assert len(records) == 88
    skipped = {m["id"] for m in payload["data"] if m["metadata"] is None}
    assert len(skipped) == 66
    assert "google/embeddinggemma-300m" in skipped and "black-forest-labs/FLUX-2-klein-9b" in skipped
    assert not skipped & set(records)
    assert REPLAY_FILES["deepinfra"].name == RECORDING


def test_float_noise_is_rounded_away(records):
    r = records["Qwen/Qwen3.5-27B"]  # output_tokens 2.5999999999999996
    assert r.input_usd_per_mtok == Decimal("0.26")
    assert r.output_usd_per_mtok == Decimal("2.6")
    assert records["anthropic/claude-4-sonnet"].input_usd_per_mtok == Decimal("3.3")  # 3.3000000000000003
    assert records["zai-org/GLM-4.7-Flash"].input_usd_per_mtok == Decimal("0.06")  # 0.060000000000000005
    assert records["meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"].output_usd_per_mtok == Decimal("0.03")
    assert records["deepseek-ai/DeepSeek-R1-0528-Turbo"].output_usd_per_mtok == Decimal(3)  # 2.9999999999999996


def test_prices_are_already_per_mtok_and_cache_read_is_kept(records):
    r = records["ByteDance/Seed-1.8"]  # 0.25 / 2 / 0.05, JSON int for output
    assert r.input_usd_per_mtok == Decimal("0.25")
    assert r.output_usd_per_mtok == Decimal(2)
    assert r.cache_read_usd_per_mtok == Decimal("0.05")
    assert r.cache_write_usd_per_mtok is None
    assert records["google/gemini-2.5-pro"].output_usd_per_mtok == Decimal(10)
    no_cache = records["Qwen/Qwen3.5-27B"]
    assert no_cache.cache_read_usd_per_mtok is None


def test_no_float_leaks_into_a_record(records):
    for r in records.values():
        for value in r.prices().values():
            assert value is None or (isinstance(value, Decimal) and value >= 0), r
            assert value is None or len(value.as_tuple().digits) <= 10


def test_metadata_without_pricing_is_an_unknown_price_not_a_skip():
    (r,) = ADAPTER.records({"data": [{"id": "m", "metadata": {"context_length": 8192}}]})
    assert r.model_id == "m" and all(v is None for v in r.prices().values())


def test_fetch_through_a_real_http_server(upstream, monkeypatch):
    url = upstream.serve_file("/v1/openai/models", require_file(PAYLOAD))
    monkeypatch.setenv(ADAPTER.url_env, url)
    records = {r.model_id: r for r in ADAPTER.records(ADAPTER.fetch().json())}
    assert len(records) == 88
    assert records["Qwen/Qwen3.5-27B"].output_usd_per_mtok == Decimal("2.6")
    assert upstream.requests[-1].path == "/v1/openai/models"
