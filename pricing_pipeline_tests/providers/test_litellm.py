from decimal import Decimal

import pytest

from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.litellm import ADAPTER
from pricing_pipeline_tests.recordings import RECORDINGS_DIR, REPLAY_FILES, require_file

RECORDING = "litellm_model_prices_and_context_window_2026-08-01.json"
PAYLOAD = RECORDINGS_DIR / RECORDING






def test_every_model_key_is_a_record_and_non_models_are_not(payload, records):
    assert len(payload) == 2986
    assert len(records) == 2984
    assert "sample_spec" not in records and "fallback_generalizations" not in records
    assert set(records) == {k for k, v in payload.items() if "litellm_provider" in v and k != "sample_spec"}
    assert REPLAY_FILES["litellm"].name == RECORDING


def test_per_token_floats_become_usd_per_mtok(records):
    r = records["claude-sonnet-4-5"]  # 3e-06 / 1.5e-05 / 3e-07 / 3.75e-06 per token
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal(3), Decimal(15))
    assert (r.cache_read_usd_per_mtok, r.cache_write_usd_per_mtok) == (Decimal("0.3"), Decimal("3.75"))
    assert (r.upstream_provider, r.upstream_model_id) == ("anthropic", "claude-sonnet-4-5")
    r = records["gemini/gemini-2.5-pro"]  # 1.25e-06 / 1e-05 / 1.25e-07
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("1.25"), Decimal(10))
    assert r.cache_read_usd_per_mtok == Decimal("0.125") and r.cache_write_usd_per_mtok is None


def test_above_nk_tokens_become_tiers_at_every_threshold(records):
    (tier,) = records["claude-sonnet-4-5"].tiers
    assert tier.min_context_tokens == 200000
    assert (tier.input_usd_per_mtok, tier.output_usd_per_mtok) == (Decimal(6), Decimal("22.5"))
    assert (tier.cache_read_usd_per_mtok, tier.cache_write_usd_per_mtok) == (Decimal("0.6"), Decimal("7.5"))
    (tier,) = records["gpt-5.4"].tiers  # _above_272k_tokens; _priority/_flex variants not stored
    assert tier.min_context_tokens == 272000
    assert (tier.input_usd_per_mtok, tier.output_usd_per_mtok) == (Decimal(5), Decimal("22.5"))
    assert records["gpt-5.4"].input_usd_per_mtok == Decimal("2.5")
    assert [t.min_context_tokens for t in records["xai/grok-4-fast-reasoning"].tiers] == [128000]
    assert [t.min_context_tokens for t in records["minimax/MiniMax-M3"].tiers] == [512000]
    assert records["minimax/MiniMax-M3"].tiers[0].cache_read_usd_per_mtok == Decimal("0.12")


def test_upstream_model_id_drops_only_the_provider_prefix(records):
    r = records["openrouter/deepseek/deepseek-r1"]
    assert (r.upstream_provider, r.upstream_model_id) == ("openrouter", "deepseek/deepseek-r1")
    r = records["amazon.titan-image-generator-v1"]
    assert (r.upstream_provider, r.upstream_model_id) == ("bedrock", "amazon.titan-image-generator-v1")


def test_cache_hit_fallback_request_and_image_prices(records):
    assert records["deepseek/deepseek-r1"].cache_read_usd_per_mtok == Decimal("0.14")  # cache_hit 1.4e-07
    r = records["perplexity/pplx-70b-online"]
    assert r.request_usd == Decimal("0.005") and r.input_usd_per_mtok == Decimal(0)
    r = records["amazon.titan-image-generator-v1"]  # output_cost_per_image 0.008
    assert r.image_usd == Decimal("0.008") and r.input_usd_per_mtok is None


def test_entries_without_a_storable_price_are_unknown_not_free(payload, records):
    for model_id in ("assemblyai/best", "exa_ai/search", "chatgpt/gpt-5.4", "azure/tts-1"):
        assert all(value is None for value in records[model_id].prices().values()), model_id
        assert records[model_id].tiers == ()
    assert "input_cost_per_second" in payload["assemblyai/best"]
    unpriced = [r for r in records.values() if all(v is None for v in r.prices().values())]
    # 352 before tiered_pricing was read: 19 entries are priced only through its ranges. 343
    # since media models listed at 0 per token are not free (7 DALL-E sizes priced per pixel,
    # 3 transcription models): their zero token prices are placeholders (pricing/modality.py).
    assert len(unpriced) == 343
    # Priced per second of audio, not per token: its own components.
    assert [(c.component, c.unit, str(c.usd)) for c in records["assemblyai/best"].components()] == [
        ("input", "usd_per_second", "0.00003333"),
        ("output", "usd_per_second", "0"),
    ]


def test_a_string_where_a_number_belongs_is_rejected():
    payload = {"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "3e-06"}}
    with pytest.raises(InvalidResponse, match="litellm: model 'm': input_cost_per_token is str"):
        ADAPTER.records(payload)
    tiered = {"m": {"litellm_provider": "x", "input_cost_per_token": 1e-06, "input_cost_per_token_above_200k_tokens": "2e-06"}}
    with pytest.raises(InvalidResponse, match="input_cost_per_token_above_200k_tokens is str"):
        ADAPTER.records(tiered)


def test_a_priced_entry_without_provider_is_rejected():
    with pytest.raises(InvalidResponse, match="litellm: model 'gpt-x' has prices but no litellm_provider"):
        ADAPTER.records({"gpt-x": {"mode": "chat", "input_cost_per_token": 1e-06}})


def test_a_payload_without_models_is_rejected():
    with pytest.raises(InvalidResponse, match="litellm: catalog has no models"):
        ADAPTER.records({"sample_spec": {"input_cost_per_token": 0.0}})
    with pytest.raises(InvalidResponse, match="litellm: expected a JSON object of models, got list"):
        ADAPTER.records([{"litellm_provider": "openai"}])


def test_duplicate_ids_are_rejected():
    entries = iter([("gpt-4o", {"litellm_provider": "openai"}), ("gpt-4o", {"litellm_provider": "azure"})])

    class Twice(type(ADAPTER)):  # JSON objects cannot repeat a key once parsed; the guard still holds
        def entries(self, payload):
            return entries

    with pytest.raises(InvalidResponse, match="litellm: 1 duplicate model ids: gpt-4o"):
        Twice().records({})


def test_fetch_through_a_real_http_server(upstream, monkeypatch):
    url = upstream.serve_file("/BerriAI/litellm/main/model_prices_and_context_window.json", require_file(PAYLOAD))
    monkeypatch.setenv(ADAPTER.url_env, url)
    records = {r.model_id: r for r in ADAPTER.records(ADAPTER.fetch().json())}
    assert len(records) == 2984
    assert records["claude-sonnet-4-5"].tiers[0].output_usd_per_mtok == Decimal("22.5")


def shown(record):
    return sorted((c.component, c.unit, str(c.usd), c.min_context_tokens, c.service_tier,
                   c.window.label() if c.window else None) for c in record.components())


def test_off_peak_pricing_becomes_time_windows_and_the_2026_keys_are_read():
    # shapes of LiteLLM's docs ("Off-Peak Pricing") and keys seen in its map in July-September 2026
    entry = {
        "litellm_provider": "deepseek", "mode": "chat", "prompt_cache_min_tokens": 1024,
        "input_cost_per_token": 2.8e-07, "output_cost_per_token": 4.2e-07,
        "off_peak_pricing": {"hours_utc": ["16:30-00:30", "10:00-10:00"], "input_cost_per_token": 1.4e-07,
                             "output_cost_per_token": 2.1e-07},
        "cache_creation_input_token_cost_priority": 1e-06, "cache_creation_input_token_cost_flex": 2.5e-07,
        "input_cost_per_token_above_272k_tokens_flex": 1.25e-06,
    }
    video = {"litellm_provider": "vertex_ai", "mode": "video_generation", "output_cost_per_video_token": 1.2e-05}
    records = {r.model_id: r for r in ADAPTER.records({"deepseek/deepseek-chat": entry, "vertex_ai/veo": video})}
    r = records["deepseek/deepseek-chat"]
    assert r.unknown_keys == ()
    assert shown(r) == sorted([
        ("input", "usd_per_mtok", "0.28", 0, "standard", None),
        ("output", "usd_per_mtok", "0.42", 0, "standard", None),
        ("input", "usd_per_mtok", "0.14", 0, "standard", "16:30-00:30 UTC"),
        ("output", "usd_per_mtok", "0.21", 0, "standard", "16:30-00:30 UTC"),
        ("input", "usd_per_mtok", "0.14", 0, "standard", "00:00-24:00 UTC"),  # start = end: the whole day
        ("output", "usd_per_mtok", "0.21", 0, "standard", "00:00-24:00 UTC"),
        ("cache_write_5m", "usd_per_mtok", "1", 0, "priority", None),
        ("cache_write_5m", "usd_per_mtok", "0.25", 0, "flex", None),
        ("input", "usd_per_mtok", "1.25", 272000, "flex", None),
    ])
    assert shown(records["vertex_ai/veo"]) == [("video_output", "usd_per_mtok", "12", 0, "standard", None)]


@pytest.mark.parametrize("hours", ["25:00-01:00", "4pm-6pm", 1630, []])
def test_an_unreadable_off_peak_window_quarantines_the_model(hours):
    entry = {"litellm_provider": "deepseek", "input_cost_per_token": 1e-07,
             "off_peak_pricing": {"hours_utc": hours, "input_cost_per_token": 5e-08}}
    assert "off_peak_pricing.hours_utc" in ADAPTER.parse({"m": entry}).quarantined["m"]
