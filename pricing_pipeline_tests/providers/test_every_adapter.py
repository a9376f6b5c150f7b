"""What every adapter does with a payload of the wrong shape, and how the adapters that need a
key send it: one table per behaviour, one row per adapter."""

from decimal import Decimal

import pytest

from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline_tests.recordings import OWN_FIXTURES_DIR


@pytest.mark.parametrize(
    ("provider", "payload", "message"),
    [
        ("chutes", {"data": [{"id": "m", "pricing": {"prompt": "0.104", "completion": 0.416}}]}, "pricing.prompt"),
        ("deepinfra", {"data": [{"id": "m", "metadata": {"pricing": {"input_tokens": "0.26", "output_tokens": 2.6}}}]},
         "metadata.pricing.input_tokens"),
        ("together", [{"id": "m", "pricing": {"hourly": 0, "input": "0.88", "output": 0.88}}], "pricing.input"),
    ],
)
def test_a_string_where_a_number_belongs_is_rejected(provider, payload, message):
    with pytest.raises(InvalidResponse, match=f"{provider}: model 'm': {message} is str"):
        get_adapter(provider).records(payload)


@pytest.mark.parametrize(
    ("provider", "payload"),
    [
        ("chutes", {"detail": "Not Found"}),
        ("deepinfra", {"object": "list"}),
        ("novita", {"code": 401, "reason": "INVALID_API_KEY"}),
    ],
)
def test_missing_data_key_is_rejected(provider, payload):
    with pytest.raises(InvalidResponse, match=f"{provider}: response has no 'data' key"):
        get_adapter(provider).records(payload)


@pytest.mark.parametrize(
    ("provider", "item", "listed"),
    [
        ("chutes", {"id": "Qwen/Qwen3-32B-TEE", "pricing": {"prompt": 0.104, "completion": 0.416}},
         lambda items: {"data": items}),
        ("deepinfra", {"id": "Qwen/Qwen3.5-27B", "metadata": {"pricing": {"input_tokens": 0.26, "output_tokens": 2.6}}},
         lambda items: {"data": items}),
        ("novita", {"id": "deepseek/deepseek-v3.2", "input_token_price_per_m": 2690, "output_token_price_per_m": 4000},
         lambda items: {"data": items}),
        ("together", {"id": "deepseek-ai/DeepSeek-R1", "pricing": {"input": 3, "output": 7}}, list),
    ],
)
def test_duplicate_ids_are_rejected(provider, item, listed):
    with pytest.raises(InvalidResponse, match=f"{provider}: 1 duplicate model ids: {item['id']}"):
        get_adapter(provider).records(listed([item, item]))


@pytest.mark.parametrize(
    ("provider", "path", "key", "models", "model_id", "price", "usd"),
    [
        ("novita", "/openai/v1/models", "sk_novita_test", 8, "zai-org/glm-5.3-flash", "cache_read_usd_per_mtok", "0.03"),
        ("together", "/v1/models", "tgp-test-key", 10, "deepseek-ai/DeepSeek-R1", "output_usd_per_mtok", "7"),
    ],
)
def test_fetch_sends_the_bearer_key_to_a_real_http_server(upstream, monkeypatch, provider, path, key, models,
                                                          model_id, price, usd):
    adapter = get_adapter(provider)
    monkeypatch.setenv(adapter.url_env, upstream.serve_file(path, OWN_FIXTURES_DIR / f"{provider}_models.json"))
    monkeypatch.setenv(adapter.api_key_env, key)
    records = {r.model_id: r for r in adapter.records(adapter.fetch().json())}
    assert len(records) == models
    assert getattr(records[model_id], price) == Decimal(usd)
    assert upstream.requests[-1].headers["Authorization"] == f"Bearer {key}"


# A video model listed at zero per token, in each upstream's own shape: never published free
# (the domain's never-free rule, pricing/modality.py, applied once for every adapter).
VIDEO_AT_ZERO = {
    "openrouter": {"data": [{"id": "v", "architecture": {"input_modalities": ["text"], "output_modalities": ["video"]},
                             "pricing": {"prompt": "0", "completion": "0"}}]},
    "vercel": {"data": [{"id": "v", "type": "video", "pricing": {"input": "0", "output": "0"}}]},
    "together": [{"id": "v", "type": "video", "pricing": {"hourly": 0, "input": 0, "output": 0, "base": 0, "finetune": 0}}],
    "novita": {"data": [{"id": "v", "model_type": "video", "input_token_price_per_m": 0, "output_token_price_per_m": 0}]},
    "modelsdev": {"p": {"id": "p", "models": {"v": {"id": "v", "modalities": {"input": ["text"], "output": ["video"]},
                                                    "cost": {"input": 0, "output": 0}}}}},
    "litellm": {"v": {"litellm_provider": "vertex_ai", "mode": "video_generation", "input_cost_per_token": 0,
                      "output_cost_per_token": 0}},
}
# DeepInfra and Chutes list chat models only (DeepInfra marks others with metadata: null, skipped).
NOT_LISTED = {
    "deepinfra": {"data": [{"id": "v", "metadata": None}]},
}


@pytest.mark.parametrize("provider", sorted(VIDEO_AT_ZERO))
def test_a_media_model_at_zero_per_token_is_never_free_on_any_adapter(provider):
    (record,) = get_adapter(provider).records(VIDEO_AT_ZERO[provider])
    assert record.model_type == "video"
    assert [(c.component, c.unit, c.usd) for c in record.components()] == [("video_output", "usd_per_second", None)]
    assert record.input_usd_per_mtok is None and record.output_usd_per_mtok is None


@pytest.mark.parametrize("provider", sorted(NOT_LISTED))
def test_adapters_without_media_types_record_no_media_model(provider):
    assert get_adapter(provider).records(NOT_LISTED[provider]) == []


def test_every_adapter_is_covered_by_the_media_table():
    from pricing_pipeline.providers.registry import PROVIDER_NAMES

    assert set(PROVIDER_NAMES) - set(VIDEO_AT_ZERO) - set(NOT_LISTED) == {"chutes"}  # chat-only upstream
