"""Every pricing key of every real recording read into the right component and unit, checked
against the recorded values by hand; model types; unknown keys reported, never dropped."""

import json
from decimal import Decimal

import pytest

from pricing_pipeline.pricing.units import round_price
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline_tests.recordings import recording


def parse(provider, name):
    return get_adapter(provider).parse(json.loads(recording(name).read_bytes()))


def by_id(snapshot):
    return {r.model_id: r for r in snapshot.records}


def prices(record):
    """{(component, unit, min_context_tokens, service_tier, region): usd string}"""
    return {
        (c.component, c.unit, c.min_context_tokens, c.service_tier, c.region): None if c.usd is None else f"{c.usd:f}"
        for c in record.components()
        if c.window is None
    }


def count(snapshot, component, unit):
    return sum(any(c.component == component and c.unit == unit and c.usd for c in r.components()) for r in snapshot.records)


def test_openrouter_reads_every_pricing_key():
    snapshot = parse("openrouter", "openrouter_api_v1_models_2026-08-01.json")
    assert snapshot.quarantined == {} and snapshot.unknown_keys == {}
    records = by_id(snapshot)
    # Non-zero counts the issue measured on this recording.
    assert count(snapshot, "web_search", "usd_per_search") == 98
    assert count(snapshot, "audio_input", "usd_per_mtok") == 21
    assert count(snapshot, "cache_write_1h", "usd_per_mtok") == 21
    assert count(snapshot, "reasoning", "usd_per_mtok") == 19
    assert count(snapshot, "audio_cache_read", "usd_per_mtok") == 18
    assert count(snapshot, "image_output", "usd_per_mtok") == 9
    assert count(snapshot, "audio_output", "usd_per_mtok") == 2
    sonnet = prices(records["anthropic/claude-sonnet-4.6"])
    assert sonnet == {
        ("input", "usd_per_mtok", 0, "standard", None): "3",
        ("output", "usd_per_mtok", 0, "standard", None): "15",
        ("cache_read", "usd_per_mtok", 0, "standard", None): "0.3",
        ("cache_write_5m", "usd_per_mtok", 0, "standard", None): "3.75",
        ("cache_write_1h", "usd_per_mtok", 0, "standard", None): "6",
        ("web_search", "usd_per_search", 0, "standard", None): "0.01",
    }


@pytest.mark.parametrize("key, component, unit", [
    ("internal_reasoning", "reasoning", "usd_per_mtok"),
    ("audio", "audio_input", "usd_per_mtok"),
    ("audio_output", "audio_output", "usd_per_mtok"),
    ("input_audio_cache", "audio_cache_read", "usd_per_mtok"),
    ("image_output", "image_output", "usd_per_mtok"),
    ("image", "image_input", "usd_per_image"),
])
def test_openrouter_key_lands_in_its_component_with_the_recorded_value(key, component, unit):
    payload = json.loads(recording("openrouter_api_v1_models_2026-08-01.json").read_bytes())
    model = next(m for m in payload["data"] if m["pricing"].get(key) not in (None, "0"))
    record = by_id(get_adapter("openrouter").parse(payload))[model["id"]]
    scale = Decimal(1) if unit == "usd_per_image" else Decimal(1_000_000)
    expected = f"{(Decimal(model['pricing'][key]) * scale).normalize():f}"
    assert prices(record)[(component, unit, 0, "standard", None)] == expected


# Hand-checked against the LiteLLM file: (model, component, context tier, service tier, USD).
LITELLM_HAND_CHECKED = [
    # gpt-5: per token 1.25e-06 in, flex 6.25e-07, priority 2.5e-06 / 2e-05, cache read
    # 1.25e-07, flex cache read 6.25e-08.
    ("gpt-5", "input", 0, "standard", "1.25"),
    ("gpt-5", "input", 0, "flex", "0.625"),
    ("gpt-5", "output", 0, "priority", "20"),
    ("gpt-5", "cache_read", 0, "flex", "0.0625"),
    ("gpt-5", "cache_read", 0, "standard", "0.125"),
    # gpt-4o-search-preview: batch at half price (1.25e-06 in, 5e-06 out).
    ("gpt-4o-search-preview", "input", 0, "batch", "1.25"),
    ("gpt-4o-search-preview", "output", 0, "batch", "5"),
    # claude-sonnet-4-5: 5-minute and 1-hour cache writes, and the 200k context tier.
    ("claude-sonnet-4-5", "cache_write_5m", 0, "standard", "3.75"),
    ("claude-sonnet-4-5", "cache_write_1h", 0, "standard", "6"),
    ("claude-sonnet-4-5", "input", 200000, "standard", "6"),
    ("claude-sonnet-4-5", "cache_write_1h", 200000, "standard", "12"),
    # Priced only through tiered_pricing ranges (published with every price unknown before).
    ("dashscope/qwen-flash", "input", 0, "standard", "0.05"),
    ("dashscope/qwen-flash", "output", 256000, "standard", "2"),
    # search_context_cost_per_query: USD per search by context size.
    ("gpt-4o-search-preview", "web_search_low_context", 0, "standard", "0.03"),
    ("gpt-4o-search-preview", "web_search_medium_context", 0, "standard", "0.035"),
    ("gpt-4o-search-preview", "web_search_high_context", 0, "standard", "0.05"),
]


def test_litellm_reads_tiers_service_tiers_media_and_search_prices():
    snapshot = parse("litellm", "litellm_model_prices_and_context_window_2026-08-01.json")
    assert snapshot.quarantined == {}
    # Keys with no dimension here are reported, not dropped.
    assert snapshot.unknown_keys == {
        "input_cost_per_video_per_second_above_15s_interval": 2,
        "input_cost_per_video_per_second_above_8s_interval": 2,
        "ocr_cost_per_credit": 2,
        "output_cost_per_second_1080p": 1,
        "tiered_pricing[].input_cost_per_query": 2,
        "tiered_pricing[].max_results_range": 2,
    }
    records = by_id(snapshot)
    assert count(snapshot, "web_search_medium_context", "usd_per_search") > 0
    assert sum(any(c.service_tier == "batch" for c in r.components()) for r in snapshot.records) == 109
    assert sum(any(c.service_tier == "flex" for c in r.components()) for r in snapshot.records) == 33

    for model_id, component, min_context, tier, usd in LITELLM_HAND_CHECKED:
        assert prices(records[model_id])[(component, "usd_per_mtok" if "search" not in component else "usd_per_search",
                                         min_context, tier, None)] == usd, (model_id, component, min_context, tier)
    # Regional uplift: 10% more in the EU and US data zones.
    regional = prices(records["gpt-5.5"])
    base = Decimal(regional[("input", "usd_per_mtok", 0, "standard", None)])
    assert Decimal(regional[("input", "usd_per_mtok", 0, "standard", "eu")]) == base * Decimal("1.1")
    assert records["gpt-5"].model_type == "chat"
    assert records["dall-e-3"].model_type == "image"


LITELLM_KEYS = {
    "cache_creation_input_token_cost_above_1hr": ("cache_write_1h", "usd_per_mtok", 1_000_000),
    "input_cost_per_audio_token": ("audio_input", "usd_per_mtok", 1_000_000),
    "output_cost_per_audio_token": ("audio_output", "usd_per_mtok", 1_000_000),
    "output_cost_per_reasoning_token": ("reasoning", "usd_per_mtok", 1_000_000),
    "input_cost_per_image": ("image_input", "usd_per_image", 1),
    "output_cost_per_image": ("image_output", "usd_per_image", 1),
    "input_cost_per_second": ("input", "usd_per_second", 1),
    "input_cost_per_character": ("input", "usd_per_mchar", 1_000_000),
    "input_cost_per_token_batches": ("input", "usd_per_mtok", 1_000_000),
    "output_cost_per_token_flex": ("output", "usd_per_mtok", 1_000_000),
    "input_cost_per_token_priority": ("input", "usd_per_mtok", 1_000_000),
}


@pytest.mark.parametrize("key", sorted(LITELLM_KEYS))
def test_litellm_key_lands_in_its_component_on_every_model_that_has_it(key):
    payload = json.loads(recording("litellm_model_prices_and_context_window_2026-08-01.json").read_bytes())
    records = by_id(get_adapter("litellm").parse(payload))
    component, unit, scale = LITELLM_KEYS[key]
    tier = next((t for suffix, t in (("_batches", "batch"), ("_flex", "flex"), ("_priority", "priority")) if key.endswith(suffix)), "standard")
    carriers = {k: v[key] for k, v in payload.items() if k != "sample_spec" and isinstance(v, dict) and v.get(key)}
    assert len(carriers) > 25
    for model_id, value in carriers.items():
        expected = f"{round_price(Decimal(repr(value)) * scale):f}"  # the 10-significant-digit rule
        assert prices(records[model_id])[(component, unit, 0, tier, None)] == expected, model_id


def test_modelsdev_reads_reasoning_and_audio():
    snapshot = parse("modelsdev", "models_dev_api_2026-06-10.json")
    # digitalocean's stable-diffusion-3.5-large (input 0.08) and wan2-2-t2v (input 0.6) are media
    # models with one price "per 1M tokens", and scaleway's and nearai's whisper (0.003, 0.01:
    # Scaleway bills whisper per minute) transcription models with an input price alone: their
    # unit is not established (pricing/modality.py)
    assert snapshot.quarantined == {} and snapshot.unknown_keys == {
        "input: unit ambiguous (transcription model with an input price and no output price: per minute or per second)": 2,
        "input: unit ambiguous (image model priced by input alone, without an input and output token pair)": 1,
        "input: unit ambiguous (video model priced by input alone, without an input and output token pair)": 1,
    }
    assert count(snapshot, "reasoning", "usd_per_mtok") == 68
    assert count(snapshot, "audio_input", "usd_per_mtok") == 62
    assert count(snapshot, "audio_output", "usd_per_mtok") == 15
    payload = json.loads(recording("models_dev_api_2026-06-10.json").read_bytes())
    provider_id, key, model = next(
        (p, k, m) for p, v in payload.items() for k, m in v["models"].items()
        if (m.get("cost") or {}).get("input_audio") and (m.get("cost") or {}).get("output_audio")
    )
    record = by_id(snapshot)[f"{provider_id}/{key}"]
    assert prices(record)[("audio_input", "usd_per_mtok", 0, "standard", None)] == f"{Decimal(repr(model['cost']['input_audio'])).normalize():f}"
    assert prices(record)[("audio_output", "usd_per_mtok", 0, "standard", None)] == f"{Decimal(repr(model['cost']['output_audio'])).normalize():f}"


def test_together_types_models_and_never_publishes_media_as_free():
    snapshot = parse("together", "together_v1_models_2026-01-23.json")
    assert snapshot.quarantined == {} and snapshot.unknown_keys == {}
    records = by_id(snapshot)
    types = [r.model_type for r in snapshot.records]
    assert types.count("image") == 29 and types.count("video") == 22
    for record in snapshot.records:
        if record.model_type in ("image", "video"):
            assert record.input_usd_per_mtok is None and record.output_usd_per_mtok is None
            [component] = record.components()
            assert component.usd is None  # unknown, in its real unit
            assert component.unit == ("usd_per_image" if record.model_type == "image" else "usd_per_second")
    sonic = records["cartesia/sonic-2"]
    assert sonic.model_type == "audio" and sonic.input_usd_per_mtok is None
    assert prices(sonic) == {("input", "usd_per_mchar", 0, "standard", None): "65"}
    assert records["openai/whisper-large-v3"].model_type == "transcription"
    assert records["Salesforce/Llama-Rank-V1"].model_type == "rerank"


def test_chutes_reads_pricing_and_the_usd_price_object():
    day1 = by_id(parse("chutes", "chutes_v1_models_2026-08-03.json"))
    day2 = by_id(parse("chutes", "chutes_v1_models_2026-08-04.json"))
    qwen1, qwen2 = prices(day1["Qwen/Qwen3-32B-TEE"]), prices(day2["Qwen/Qwen3-32B-TEE"])
    assert qwen1[("cache_read", "usd_per_mtok", 0, "standard", None)] == "0.052"  # 50% of 0.104
    # 08-04: 10% of input, from the float 0.010400000000000001 or similar noise
    assert qwen2[("cache_read", "usd_per_mtok", 0, "standard", None)] == "0.0104"
    kimi1, kimi2 = prices(day1["moonshotai/Kimi-K2.6-TEE"]), prices(day2["moonshotai/Kimi-K2.6-TEE"])
    assert (kimi1[("input", "usd_per_mtok", 0, "standard", None)], kimi2[("input", "usd_per_mtok", 0, "standard", None)]) == ("0.66", "0.58")


def test_chutes_price_object_disagreeing_with_pricing_quarantines_the_model():
    payload = json.loads(recording("chutes_v1_models_2026-08-04.json").read_bytes())
    payload["data"][0]["price"]["input"]["usd"] = 9.99
    snapshot = get_adapter("chutes").parse(payload)
    assert list(snapshot.quarantined) == [payload["data"][0]["id"]]
    assert "price.input.usd 9.99 disagrees" in snapshot.quarantined[payload["data"][0]["id"]]


def test_deepinfra_reads_every_key():
    snapshot = parse("deepinfra", "deepinfra_v1_openai_models_2026-04-17.json")
    assert snapshot.quarantined == {} and snapshot.unknown_keys == {}
    assert count(snapshot, "cache_read", "usd_per_mtok") == 25


@pytest.mark.parametrize("provider, name", [
    ("openrouter", "openrouter_api_v1_models_2026-08-01.json"),
    ("litellm", "litellm_model_prices_and_context_window_2026-08-01.json"),
    ("modelsdev", "models_dev_api_2026-06-10.json"),
    ("together", "together_v1_models_2026-01-23.json"),
])
def test_a_new_pricing_key_is_reported_not_dropped(provider, name):
    payload = json.loads(recording(name).read_bytes())
    if provider == "openrouter":
        payload["data"][0]["pricing"]["input_cache_write_24h"] = "0.00001"
        expected = "pricing.input_cache_write_24h"
    elif provider == "litellm":
        next(v for k, v in payload.items() if k != "sample_spec")["input_cost_per_hologram"] = 1.0
        expected = "input_cost_per_hologram"
    elif provider == "modelsdev":
        next(m for p in payload.values() for m in p["models"].values() if m.get("cost"))["cost"]["video"] = 3
        expected = "cost.video"
    else:
        payload[0]["pricing"]["per_minute"] = 0.1
        expected = "pricing.per_minute"
    snapshot = get_adapter(provider).parse(payload)
    assert snapshot.unknown_keys.get(expected) == 1
