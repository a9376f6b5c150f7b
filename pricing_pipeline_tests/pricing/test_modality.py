"""The domain's modality-to-unit resolver and never-free rule (pricing/modality.py)."""

from decimal import Decimal

import pytest

from pricing_pipeline.pricing.modality import apply_unit_rules, type_from_modalities
from pricing_pipeline.pricing.records import UNIT_AMBIGUOUS, USD_PER_MTOK, PriceComponent, PriceRecord


def record(model_type, *prices, model_id="m"):
    components = [PriceComponent(name, USD_PER_MTOK, Decimal(usd)) for name, usd in prices]
    return PriceRecord.from_components("p", model_id, components, model_type=model_type)


def shown(r):
    return [(c.component, c.unit, None if c.usd is None else str(c.usd)) for c in r.components()]


@pytest.mark.parametrize(
    ("outputs", "inputs", "speech", "expected"),
    [
        (["text"], ["text", "image"], "speech", "chat"),
        (["image", "text"], ["text"], "speech", "chat"),
        (["text", "audio"], ["text", "audio"], "speech", "chat"),  # OpenRouter: conversational audio
        (["audio"], ["text"], "speech", "chat"),
        (["speech"], ["text"], "speech", "audio"),
        (["transcription"], ["audio"], "speech", "transcription"),
        (["text"], ["audio"], "speech", "transcription"),
        (["video"], ["text", "image"], "speech", "video"),
        (["image"], ["text"], "speech", "image"),
        (["embeddings"], ["text"], "speech", "embedding"),
        (["rerank"], ["text"], "speech", "rerank"),
        (["audio"], ["text"], "audio", "audio"),  # models.dev: audio out is text to speech
        ([], ["text"], "audio", None),
    ],
)
def test_model_type_from_modalities(outputs, inputs, speech, expected):
    assert type_from_modalities(outputs, inputs, speech=speech) == expected


def test_tts_input_price_alone_is_per_character():
    r = apply_unit_rules(record("audio", ("input", "15"), ("output", "0")), keys_name_units=False)
    assert shown(r) == [("input", "usd_per_mchar", "15")]


def test_tts_with_an_output_price_is_a_token_priced_speech_model():
    r = apply_unit_rules(record("audio", ("input", "0.27"), ("output", "0.85")), keys_name_units=False)
    assert shown(r) == [("input", USD_PER_MTOK, "0.27"), ("output", USD_PER_MTOK, "0.85")]


def test_stt_input_price_alone_has_no_established_unit():
    # deepgram/nova-3 "0.0043" per minute read per token would be $4,300 per 1M tokens
    r = apply_unit_rules(record("transcription", ("input", "4300"), ("output", "0")), keys_name_units=False)
    assert shown(r) == [("input", UNIT_AMBIGUOUS, None)]
    assert r.input_usd_per_mtok is None
    assert r.unknown_keys == (
        "input: unit ambiguous (transcription model with an input price and no output price: per minute or per second)",
    )


def test_stt_with_an_output_price_is_per_token():
    r = apply_unit_rules(record("transcription", ("input", "2.5"), ("output", "10")), keys_name_units=False)
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("2.5"), Decimal(10))


@pytest.mark.parametrize(("model_type", "real"), [("image", ("image_output", "usd_per_image")),
                                                  ("video", ("video_output", "usd_per_second")),
                                                  ("audio", ("input", "usd_per_mchar")),
                                                  ("transcription", ("input", UNIT_AMBIGUOUS))])
def test_a_media_model_at_zero_per_token_is_unknown_in_its_real_unit_not_free(model_type, real):
    r = apply_unit_rules(record(model_type, ("input", "0"), ("output", "0")), keys_name_units=False)
    assert shown(r) == [(*real, None)]


def test_never_free_applies_to_adapters_whose_keys_name_units():
    r = apply_unit_rules(record("video", ("input", "0"), ("output", "0")), keys_name_units=True)
    assert shown(r) == [("video_output", "usd_per_second", None)]
    # a unit stated by the key is kept as stated
    r = apply_unit_rules(record("transcription", ("input", "4")), keys_name_units=True)
    assert shown(r) == [("input", USD_PER_MTOK, "4")]


def test_only_a_model_marked_free_keeps_a_zero():
    r = apply_unit_rules(record("image", ("input", "0"), ("output", "0"), model_id="x/flux:free"), keys_name_units=False)
    assert shown(r) == [("input", USD_PER_MTOK, "0"), ("output", USD_PER_MTOK, "0")]


def test_an_image_model_with_one_token_price_is_ambiguous_and_a_pair_is_tokens():
    lone = apply_unit_rules(record("image", ("input", "0.08"), ("output", "0")), keys_name_units=False)
    assert shown(lone) == [("input", UNIT_AMBIGUOUS, None)]
    pair = apply_unit_rules(record("image", ("input", "5"), ("output", "40")), keys_name_units=False)
    assert shown(pair) == [("input", USD_PER_MTOK, "5"), ("output", USD_PER_MTOK, "40")]


def test_token_types_are_untouched():
    r = record("chat", ("input", "0"), ("output", "0"))
    assert apply_unit_rules(r, keys_name_units=False) is r


def test_a_price_of_ambiguous_unit_can_never_carry_a_value():
    with pytest.raises(ValueError, match="ambiguous unit"):
        PriceComponent("input", UNIT_AMBIGUOUS, Decimal(1))


def test_the_litellm_feed_carries_media_units_under_litellm_keys_and_leaves_out_the_rest():
    from pricing_pipeline.pricing.feeds import litellm_entry

    r = PriceRecord.from_components("openrouter", "tts", [
        PriceComponent("input", "usd_per_mchar", Decimal(15)),
        PriceComponent("video_output", "usd_per_second", Decimal("0.4")),
        PriceComponent("audio_input", "usd_per_minute", Decimal("0.006")),
        PriceComponent("output", UNIT_AMBIGUOUS, None),
    ], model_type="audio")
    entry = litellm_entry(r)
    assert entry == {"litellm_provider": "openrouter", "mode": "audio_speech", "input_cost_per_character": 1.5e-05,
                     "output_cost_per_video_per_second": 0.4}


def test_an_image_output_price_alone_on_an_image_model_is_ambiguous():
    # OpenRouter documents image_output as "USD per output image"; on chat models that make
    # images its values are per token ($30/1M): on a pure image model its unit is not established
    r = PriceRecord.from_components("p", "flux", [
        PriceComponent("input", USD_PER_MTOK, Decimal(0)), PriceComponent("output", USD_PER_MTOK, Decimal(0)),
        PriceComponent("image_output", USD_PER_MTOK, Decimal(40000)),
    ], model_type="image")
    assert shown(apply_unit_rules(r, keys_name_units=False)) == [("image_output", UNIT_AMBIGUOUS, None)]
