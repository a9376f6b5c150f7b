"""Chutes. No recording in the shared folder: the fixture is hand-written in the shape of
GET https://llm.chutes.ai/v1/models (``pricing`` numbers per 1M next to ``price`` in
USD/TAO), partly after a public snapshot of that endpoint."""

import json
from decimal import Decimal

from pricing_pipeline.providers.chutes import ADAPTER
from pricing_pipeline_tests.recordings import OWN_FIXTURES_DIR, REPLAY_FILES

PAYLOAD = FIXTURE = OWN_FIXTURES_DIR / "chutes_models.json"


def test_every_listed_model_is_a_record(records):
    assert len(records) == 8
    # `make sync REPLAY=` replays the real recording; this fixture keeps shapes it lacks.
    assert REPLAY_FILES["chutes"].name == "chutes_v1_models_2026-08-04.json"


def test_pricing_numbers_are_usd_per_mtok(records):
    r = records["zai-org/GLM-5.1-TEE"]
    assert r.input_usd_per_mtok == Decimal("0.98")
    assert r.output_usd_per_mtok == Decimal("3.08")
    assert r.cache_read_usd_per_mtok == Decimal("0.49")
    assert r.cache_write_usd_per_mtok is None
    r = records["Qwen/Qwen3-235B-A22B-Thinking-2507-TEE"]
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("0.2989"), Decimal("1.1957"))
    assert r.cache_read_usd_per_mtok == Decimal("0.14945")
    assert records["deepseek-ai/DeepSeek-V3.2-TEE"].output_usd_per_mtok == Decimal(1)  # JSON 1.0


def test_missing_cache_price_is_unknown_and_zero_is_free(records):
    no_cache = records["chutesai/Mistral-Small-3.2-24B-Instruct-2506"]
    assert no_cache.cache_read_usd_per_mtok is None
    free = records["chutesai/Llama-4-Scout-17B-16E-Instruct-free"]
    assert (free.input_usd_per_mtok, free.output_usd_per_mtok) == (Decimal(0), Decimal(0))
    embedding = records["Qwen/Qwen3-Embedding-8B-TEE"]
    assert (embedding.input_usd_per_mtok, embedding.output_usd_per_mtok) == (Decimal("0.01"), Decimal(0))


def test_tao_prices_are_not_read(payload):
    # Same USD, different TAO (exchange rate moved): not a price change.
    moved = json.loads(json.dumps(payload))
    for item in moved["data"]:
        for component in item["price"].values():
            component["tao"] *= 1.5
    before = {r.model_id: r.price_key() for r in ADAPTER.records(payload)}
    after = {r.model_id: r.price_key() for r in ADAPTER.records(moved)}
    assert before == after


def test_model_without_pricing_is_recorded_as_unknown():
    (r,) = ADAPTER.records({"object": "list", "data": [{"id": "m", "max_model_len": 8192}]})
    assert all(value is None for value in r.prices().values())


def test_fetch_through_a_real_http_server(upstream, monkeypatch):
    url = upstream.serve_file("/v1/models", FIXTURE)
    monkeypatch.setenv(ADAPTER.url_env, url)
    records = {r.model_id: r for r in ADAPTER.records(ADAPTER.fetch().json())}
    assert len(records) == 8
    assert records["Qwen/Qwen3-32B-TEE"].input_usd_per_mtok == Decimal("0.104")
    assert upstream.requests[-1].path == "/v1/models"
