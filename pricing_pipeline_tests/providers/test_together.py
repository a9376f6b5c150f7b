"""Together AI. No public recording exists: the fixture is hand-written in the shape of the
Together API reference for GET /v1/models (a bare list, ``pricing`` numbers per 1M)."""

from decimal import Decimal

import pytest

from pricing_pipeline.providers.errors import InvalidResponse, UpstreamError
from pricing_pipeline.providers.together import ADAPTER
from pricing_pipeline_tests.recordings import OWN_FIXTURES_DIR, REPLAY_FILES

PAYLOAD = FIXTURE = OWN_FIXTURES_DIR / "together_models.json"


def test_the_payload_is_a_bare_list(payload):
    assert isinstance(payload, list)


def test_every_listed_model_is_a_record(records):
    assert len(records) == 10
    # `make sync REPLAY=` replays the real recording; this fixture keeps shapes it lacks
    # (a dedicated-endpoint-only model).
    assert REPLAY_FILES["together"].name == "together_v1_models_2026-01-23.json"


def test_numbers_are_already_usd_per_mtok(records):
    r = records["meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("0.88"), Decimal("0.88"))
    r = records["deepseek-ai/DeepSeek-V3.1"]
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("0.6"), Decimal("1.7"))
    r = records["deepseek-ai/DeepSeek-R1"]  # JSON ints
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal(3), Decimal(7))
    assert r.cache_read_usd_per_mtok is None and r.cache_write_usd_per_mtok is None


def test_hourly_base_and_finetune_are_not_token_prices(records):
    r = records["meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"]
    assert r.input_usd_per_mtok == Decimal("0.18")
    assert r.raw == {"hourly": 0, "input": 0.18, "output": 0.18, "base": 0, "finetune": 0}
    assert r.request_usd is None and r.image_usd is None


def test_zero_prices_are_kept_as_zero(records):
    free = records["meta-llama/Llama-3.3-70B-Instruct-Turbo-Free"]
    assert (free.input_usd_per_mtok, free.output_usd_per_mtok) == (Decimal(0), Decimal(0))
    image = records["black-forest-labs/FLUX.1-schnell"]  # listed 0/0: priced per image elsewhere
    assert (image.input_usd_per_mtok, image.output_usd_per_mtok) == (None, None)
    assert [(c.component, c.unit, c.usd) for c in image.components()] == [("image_output", "usd_per_image", None)]
    embedding = records["BAAI/bge-large-en-v1.5"]
    assert (embedding.input_usd_per_mtok, embedding.output_usd_per_mtok) == (Decimal("0.02"), Decimal(0))


def test_dedicated_only_model_has_no_token_price_rather_than_a_free_one(records):
    r = records["Qwen/Qwen2.5-72B-Instruct"]  # hourly 3.44, input/output 0
    assert r.input_usd_per_mtok is None and r.output_usd_per_mtok is None


def test_openai_style_wrapper_is_accepted_and_other_objects_are_not():
    (r,) = ADAPTER.records({"data": [{"id": "m", "pricing": {"input": 0.2, "output": 0.6}}]})
    assert r.output_usd_per_mtok == Decimal("0.6")
    with pytest.raises(InvalidResponse, match="together: response has no 'data' key"):
        ADAPTER.records({"error": {"message": "Invalid API key provided"}})
    with pytest.raises(InvalidResponse, match="together: expected a JSON list of models, got str"):
        ADAPTER.records("models")


def test_missing_key_is_a_clear_error_and_sends_nothing(upstream, monkeypatch):
    url = upstream.serve_file("/v1/models", FIXTURE)
    monkeypatch.setenv(ADAPTER.url_env, url)
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    with pytest.raises(UpstreamError, match="together: TOGETHER_API_KEY is not set") as info:
        ADAPTER.fetch()
    assert info.value.error_type == "configuration" and not info.value.transient
    assert upstream.requests == []
