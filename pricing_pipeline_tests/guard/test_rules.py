"""The guard rules on real recordings, and on real payloads mutated the way real incidents
looked. Pure Python: no Dagster, no database."""

from decimal import Decimal

import pytest

from pricing_pipeline.pricing.diff import diff_snapshot
from pricing_pipeline.pricing.guard import RULES, evaluate, offending_models
from pricing_pipeline.pricing.guard_settings import GuardOverride, GuardThresholds
from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline_tests.guard.conftest import MODELSDEV_DAY1, MODELSDEV_DAY2
from pricing_pipeline_tests.recordings import REPLAY_FILES

# LiteLLM's 2026-08-01 catalog really contains these unit mistakes: W&B's gpt-oss-120b at
# 0.015 USD per token ($15,000 per 1M; W&B charges $0.15 per 1M, a 100,000x overcharge),
# Azure's jais-30b at its per-1K price written per token, watsonx's per-1K output prices.
LITELLM_UNIT_MISTAKES = {
    "azure_ai/jais-30b-chat",
    "watsonx/bigscience/mt0-xxl-13b",
    "watsonx/core42/jais-13b-chat",
    *(
        f"wandb/{model}"
        for model in (
            "openai/gpt-oss-120b",
            "openai/gpt-oss-20b",
            "zai-org/GLM-4.5",
            "Qwen/Qwen3-235B-A22B-Instruct-2507",
            "Qwen/Qwen3-Coder-480B-A35B-Instruct",
            "Qwen/Qwen3-235B-A22B-Thinking-2507",
            "meta-llama/Llama-3.1-8B-Instruct",
            "deepseek-ai/DeepSeek-V3.1",
            "deepseek-ai/DeepSeek-R1-0528",
            "deepseek-ai/DeepSeek-V3-0324",
            "meta-llama/Llama-3.3-70B-Instruct",
            "meta-llama/Llama-4-Scout-17B-16E-Instruct",
            "microsoft/Phi-4-mini-instruct",
        )
    ),
}


def by_id(records):
    return {r.model_id: r for r in records}


def counts(results):
    return {rule: len(offenders) for rule, offenders in results.items()}


NOTHING = dict.fromkeys(RULES, 0)


# --- real data: the guard must not cry wolf ---------------------------------------------


# The real zero-priced entries no upstream marks free: each held on a first sync (unmarked_free).
UNMARKED_FREE = {
    "openrouter": {"google/lyria-3-clip-preview", "google/lyria-3-pro-preview", "openrouter/free"},
    "vercel": {"meituan/longcat-flash-chat"},
    "together": {"ServiceNow-AI/Apriel-1.5-15b-Thinker", "ServiceNow-AI/Apriel-1.6-15b-Thinker",
                 "google/gemma-2b-it-Ishan", "togethercomputer/MoA-1", "togethercomputer/MoA-1-Turbo"},
    "novita": {"meta-llama/llama-3.2-1b-instruct"},
}


@pytest.mark.parametrize("provider", [p for p in REPLAY_FILES if p != "litellm"])
def test_no_rule_fires_on_a_real_first_snapshot_but_on_unmarked_free_models(payloads, provider):
    records = payloads.records(provider)
    assert records
    results = evaluate({}, records, reference_catalog=get_adapter(provider).reference_catalog)
    assert set(results.pop("unmarked_free")) == UNMARKED_FREE.get(provider, set())
    assert counts(results) == {name: 0 for name in results}


def test_a_new_model_priced_zero_is_held_unless_marked_free():
    zero = {"input_usd_per_mtok": Decimal(0), "output_usd_per_mtok": Decimal(0)}
    snapshot = [
        PriceRecord("openrouter", "acme/broken", **zero),
        PriceRecord("openrouter", "acme/gift:free", **zero),
        PriceRecord("openrouter", "acme/broken#azure", **zero, upstream_tag="azure"),
        PriceRecord("openrouter", "acme/gift:free#chutes", **zero, upstream_tag="chutes"),
        PriceRecord("openrouter", "acme/paid", input_usd_per_mtok=Decimal(0), output_usd_per_mtok=Decimal(1)),
        PriceRecord("openrouter", "acme/unknown"),
    ]
    assert set(evaluate({}, snapshot)["unmarked_free"]) == {"acme/broken", "acme/broken#azure"}
    # published already (it passed the guard or a person accepted it): not judged again
    assert evaluate({"acme/broken": snapshot[0]}, snapshot[:1])["unmarked_free"] == {}
    # a reference catalog's zero prices are its own business
    assert evaluate({}, snapshot, reference_catalog=True)["unmarked_free"] == {}


def test_no_rule_fires_on_the_real_models_dev_first_day(payloads):
    assert counts(evaluate({}, payloads.records("modelsdev", MODELSDEV_DAY1), reference_catalog=True)) == NOTHING


def test_the_real_models_dev_day_over_day_change_passes(payloads):
    day1 = by_id(payloads.records("modelsdev", MODELSDEV_DAY1))
    day2 = payloads.records("modelsdev", MODELSDEV_DAY2)
    diff = diff_snapshot(day1, day2)
    assert (len(diff.added), len(diff.changed), len(diff.removed)) == (16, 10, 28)
    assert counts(evaluate(day1, day2, reference_catalog=True)) == NOTHING
    # The six groq models whose cost disappeared are unknown now, which is not "paid -> free".
    whisper = by_id(day2)["groq/whisper-large-v3"]
    # (whisper, a transcription model listed at 0 per token, was never free: unknown on day 1 too)
    assert [c.usd for c in day1["groq/whisper-large-v3"].components()] == [None]
    assert whisper.input_usd_per_mtok is None


def test_the_real_litellm_catalog_is_blocked_for_its_real_unit_mistakes(payloads):
    results = evaluate({}, payloads.records("litellm"), reference_catalog=True)
    assert counts(results) == {**NOTHING, "price_bounds": len(LITELLM_UNIT_MISTAKES)}
    assert set(results["price_bounds"]) == LITELLM_UNIT_MISTAKES
    assert results["price_bounds"]["wandb/openai/gpt-oss-120b"] == (
        "input 15000 $/1M above 1000; output 60000 $/1M above 1000"
    )


# --- real payloads mutated like real incidents -----------------------------------------


def _openrouter_model(payload, model_id):
    [model] = [m for m in payload["data"] if m["id"] == model_id]
    return model


def _openrouter_with(payloads, model_id, change) -> dict:
    """The guard's results for the OpenRouter recording, against itself as published, after
    ``change`` edits one model's upstream pricing object."""
    published = by_id(payloads.records("openrouter"))
    payload = payloads.get("openrouter")
    change(_openrouter_model(payload, model_id)["pricing"])
    return evaluate(published, get_adapter("openrouter").records(payload))


def test_per_token_price_written_as_per_million_blocks(payloads):
    # The $/1M value in OpenRouter's per-token field: "5" instead of "0.000005".
    results = _openrouter_with(payloads, "anthropic/claude-opus-4.7", lambda pricing: pricing.update(prompt="5"))
    assert offending_models(results) == {"anthropic/claude-opus-4.7"}
    assert results["price_bounds"]["anthropic/claude-opus-4.7"] == "input 5000000 $/1M above 1000"
    assert results["price_jump"]["anthropic/claude-opus-4.7"] == "input 5 → 5000000 $/1M (up x1000000)"
    assert not results["zero_transition"] and not results["new_model_structure"]


def test_per_token_value_in_a_per_million_field_blocks_a_new_model(payloads):
    payload = payloads.get("deepinfra")
    [model] = [m for m in payload["data"] if m["id"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    model["metadata"]["pricing"] = {"input_tokens": 1e-07, "output_tokens": 3.2e-07}  # per token
    results = evaluate({}, get_adapter("deepinfra").records(payload))  # no history: bounds only
    assert offending_models(results) == {"meta-llama/Llama-3.3-70B-Instruct-Turbo"}
    assert results["price_bounds"]["meta-llama/Llama-3.3-70B-Instruct-Turbo"] == (
        "input 0.0000001 $/1M below 0.0001; output 0.00000032 $/1M below 0.0001"
    )


def test_a_price_times_1000_blocks(payloads):
    # was 0.0000004
    results = _openrouter_with(payloads, "deepseek/deepseek-v3.2", lambda pricing: pricing.update(completion="0.0004"))
    assert offending_models(results) == {"deepseek/deepseek-v3.2"}
    assert results["price_jump"]["deepseek/deepseek-v3.2"] == "output 0.4 → 400 $/1M (up x1000)"
    assert not results["price_bounds"]  # $400/1M is a possible price: only the jump shows it


def test_a_price_to_zero_blocks(payloads):
    results = _openrouter_with(payloads, "openai/gpt-5.4", lambda pricing: pricing.update(prompt="0", completion="0"))
    assert offending_models(results) == {"openai/gpt-5.4"}
    assert results["zero_transition"]["openai/gpt-5.4"] == (
        "input 2.5 → 0 $/1M (paid → free); output 15 → 0 $/1M (paid → free)"
    )


def test_a_free_model_becoming_paid_blocks(payloads):
    results = _openrouter_with(payloads, "openai/gpt-oss-20b:free", lambda pricing: pricing.update(prompt="0.00000003"))
    assert results["zero_transition"] == {"openai/gpt-oss-20b:free": "input 0 → 0.03 $/1M (free → paid)"}


def test_a_price_becoming_unknown_is_not_an_offence(payloads):
    published = by_id(payloads.records("openrouter"))
    snapshot = [
        r.replace(input_usd_per_mtok=None, output_usd_per_mtok=None) if r.model_id == "openai/gpt-5.4" else r
        for r in published.values()
    ]
    assert counts(evaluate(published, snapshot)) == NOTHING


def test_a_tenfold_move_is_allowed_and_more_is_not():
    before = PriceRecord("p", "m", input_usd_per_mtok=Decimal("0.2"), output_usd_per_mtok=Decimal(1))
    published = {"m": before}
    assert not evaluate(published, [before.replace(input_usd_per_mtok=Decimal(2))])["price_jump"]
    assert not evaluate(published, [before.replace(input_usd_per_mtok=Decimal("0.02"))])["price_jump"]
    assert evaluate(published, [before.replace(input_usd_per_mtok=Decimal("2.01"))])["price_jump"]
    assert evaluate(published, [before.replace(input_usd_per_mtok=Decimal("0.0199"))])["price_jump"] == {
        "m": "input 0.2 → 0.0199 $/1M (down x10)"
    }


def test_tier_and_unit_prices_are_guarded_too():
    tier = PriceTier(200_000, input_usd_per_mtok=Decimal(6))
    before = PriceRecord("p", "m", input_usd_per_mtok=Decimal(3), image_usd=Decimal("0.04"), tiers=(tier,))
    after = before.replace(
        image_usd=Decimal(60), tiers=(PriceTier(200_000, input_usd_per_mtok=Decimal(6000)),)
    )
    results = evaluate({"m": before}, [after])
    assert results["price_jump"]["m"] == (
        "image_output (usd_per_image) 0.04 → 60 $ (up x1500); input >200000 tokens 6 → 6000 $/1M (up x1000)"
    )
    assert results["price_bounds"]["m"] == (
        "image_output (usd_per_image) 60 $ per unit above 50; input >200000 tokens 6000 $/1M above 1000"
    )


def test_bounds_judge_only_new_and_changed_components():
    # An accepted out-of-bounds price stays quiet until it changes again.
    accepted = PriceRecord("p", "m", input_usd_per_mtok=Decimal(15000), output_usd_per_mtok=Decimal(1))
    assert not evaluate({"m": accepted}, [accepted])["price_bounds"]
    cheaper_output = accepted.replace(output_usd_per_mtok=Decimal("0.9"))
    assert not evaluate({"m": accepted}, [cheaper_output])["price_bounds"]
    assert evaluate({}, [accepted])["price_bounds"] == {"m": "input 15000 $/1M above 1000"}


# --- structural signals on new models ---------------------------------------------------


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        # output written per 1K while input is per 1M (x1000 too low)
        ({"input_usd_per_mtok": Decimal(3), "output_usd_per_mtok": Decimal("0.015")}, "output 0.015 below input 3 / 50"),
        # input written per 1K while output is per 1M
        ({"input_usd_per_mtok": Decimal("0.003"), "output_usd_per_mtok": Decimal(15)}, "output 15 above input 0.003 x 500"),
        # cache read per token written per 1K
        (
            {"input_usd_per_mtok": Decimal(3), "output_usd_per_mtok": Decimal(15), "cache_read_usd_per_mtok": Decimal(300)},
            "cache read 300 above input 3 x 10",
        ),
        (
            {
                "input_usd_per_mtok": Decimal(3),
                "output_usd_per_mtok": Decimal(15),
                "tiers": (PriceTier(200_000, input_usd_per_mtok=Decimal("0.006")),),
            },
            "input >200000 tokens 0.006 below base 3 / 10",
        ),
        (
            {
                "input_usd_per_mtok": Decimal(3),
                "output_usd_per_mtok": Decimal(15),
                "tiers": (PriceTier(200_000, output_usd_per_mtok=Decimal(15000)),),
            },
            "output >200000 tokens 15000 above base 15 x 500",
        ),
    ],
)
def test_structural_signals_on_a_new_model(prices, expected):
    record = PriceRecord("p", "new-model", **prices)
    results = evaluate({}, [record])
    assert results["new_model_structure"] == {"new-model": expected}
    # The same prices on a model that is already published with them are not judged.
    assert not evaluate({"new-model": record}, [record])["new_model_structure"]


def test_structural_signals_spare_embeddings_and_image_models(payloads):
    embedding = PriceRecord("p", "embed", input_usd_per_mtok=Decimal("0.02"), output_usd_per_mtok=Decimal(0))
    image = PriceRecord("p", "img", input_usd_per_mtok=Decimal("0.3"), output_usd_per_mtok=Decimal(30))
    assert counts(evaluate({}, [embedding, image])) == NOTHING


# --- thresholds and override ------------------------------------------------------------


def test_thresholds_are_configurable_and_read_from_the_environment():
    before = PriceRecord("p", "m", input_usd_per_mtok=Decimal(1))
    after = before.replace(input_usd_per_mtok=Decimal(15))
    assert evaluate({"m": before}, [after])["price_jump"]
    relaxed = GuardThresholds.from_env({"PRICING_GUARD_MAX_JUMP_RATIO": "20"})
    assert relaxed.max_jump_ratio == 20 and relaxed.max_token_price == 1000
    assert not evaluate({"m": before}, [after], relaxed)["price_jump"]
    with pytest.raises(ValueError, match="PRICING_GUARD_MIN_TOKEN_PRICE"):
        GuardThresholds.from_env({"PRICING_GUARD_MIN_TOKEN_PRICE": "cheap"})
    with pytest.raises(ValueError, match="positive"):
        GuardThresholds.from_env({"PRICING_GUARD_MAX_JUMP_RATIO": "0"})


def test_an_override_needs_a_reason_and_a_name():
    assert GuardOverride().problem() is None and not GuardOverride().active
    nameless = GuardOverride(accept_models=frozenset({"m"}), reason="provider cut prices")
    assert "no accepted_by" in nameless.problem()
    assert not nameless.accepts("m")
    silent = GuardOverride(accept_all=True, accepted_by="ops")
    assert "no reason" in silent.problem() and not silent.accepts("m")
    ok = GuardOverride(accept_models=frozenset({"m"}), reason="provider cut prices", accepted_by="ops")
    assert ok.problem() is None and ok.accepts("m") and not ok.accepts("other")
    assert GuardOverride(accept_all=True, reason="r", accepted_by="ops").accepts("anything")


def test_negative_prices_are_left_to_the_sync_checks():
    before = PriceRecord("p", "m", input_usd_per_mtok=Decimal(1), output_usd_per_mtok=Decimal(2))
    after = before.replace(input_usd_per_mtok=Decimal("-0.5"), output_usd_per_mtok=Decimal("-3"))
    assert counts(evaluate({"m": before}, [after])) == NOTHING
    assert counts(evaluate({}, [after])) == NOTHING


def _openrouter_records():
    import json

    payload = json.loads(REPLAY_FILES["openrouter"].read_bytes())
    return payload, {r.model_id: r for r in get_adapter("openrouter").records(payload)}


def test_a_web_search_price_jump_blocks_like_an_input_price_jump():
    payload, published = _openrouter_records()
    model = next(m for m in payload["data"] if m["pricing"].get("web_search") not in (None, "0"))
    before = model["pricing"]["web_search"]
    model["pricing"]["web_search"] = str(Decimal(before) * 20)
    snapshot = get_adapter("openrouter").records(payload)
    results = evaluate(published, snapshot)
    assert set(results["price_jump"]) == {model["id"]}
    assert f"web_search {Decimal(before).normalize():f} → " in results["price_jump"][model["id"]]


def test_a_batch_price_above_standard_is_a_structural_signal_on_new_models():
    from pricing_pipeline.pricing.records import PriceComponent

    def record(batch_input):
        return PriceRecord.from_components(
            "litellm",
            "new/model",
            [
                PriceComponent("input", "usd_per_mtok", Decimal(2)),
                PriceComponent("output", "usd_per_mtok", Decimal(8)),
                PriceComponent("input", "usd_per_mtok", batch_input, service_tier="batch"),
            ],
        )

    assert evaluate({}, [record(Decimal(1))])["new_model_structure"] == {}
    flagged = evaluate({}, [record(Decimal(3))])["new_model_structure"]
    assert flagged == {"new/model": "input [batch] 3 above its standard price 2"}


def test_the_real_catalogs_have_no_discount_tier_above_its_standard_price():
    import json

    payload = json.loads(REPLAY_FILES["litellm"].read_bytes())
    records = get_adapter("litellm").records(payload)
    batch_priced = [r for r in records if any(c.service_tier == "batch" for c in r.components())]
    assert len(batch_priced) > 100
    assert evaluate({}, batch_priced)["new_model_structure"] == {}
