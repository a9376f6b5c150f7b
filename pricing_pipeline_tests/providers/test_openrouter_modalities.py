"""OpenRouter's full catalog (``?output_modalities=all``): shapes written from issue 20 and
OpenRouter's API docs (output modalities ``speech``, ``transcription``, ``video``, ...;
``image_token``; ``utc_days``; ``alias_target``; ``:batch`` ids)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing_pipeline.pricing.records import UNIT_AMBIGUOUS, USD_PER_MTOK
from pricing_pipeline.providers.openrouter import ADAPTER

SATURDAY = datetime(2026, 8, 29, 10, 0, tzinfo=UTC)
SUNDAY_LATE = datetime(2026, 8, 30, 23, 59, tzinfo=UTC)
MONDAY_NOON = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
MONDAY_EVENING = datetime(2026, 8, 31, 23, 59, tzinfo=UTC)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def model(model_id, outputs, pricing, inputs=("text",), **extra):
    return {"id": model_id, "architecture": {"input_modalities": list(inputs), "output_modalities": outputs},
            "pricing": pricing, **extra}


def parse(*models):
    return ADAPTER.parse({"data": list(models)})


def one(*models):
    snapshot = parse(*models)
    assert snapshot.quarantined == {}
    return snapshot.records[0]


def shown(r):
    return [(c.component, c.unit, None if c.usd is None else str(c.usd)) for c in r.components()]


def test_the_full_catalog_is_fetched():
    assert ADAPTER.default_url.endswith("/api/v1/models?output_modalities=all")


def test_a_video_model_at_zero_per_token_is_not_free():
    r = one(model("google/veo-3.1", ["video"], {"prompt": "0", "completion": "0"}))
    assert r.model_type == "video"
    assert shown(r) == [("video_output", "usd_per_second", None)]


def test_text_to_speech_is_priced_per_character():
    r = one(model("openai/tts-1", ["speech"], {"prompt": "0.000015", "completion": "0"}))
    assert r.model_type == "audio"
    assert shown(r) == [("input", "usd_per_mchar", "15")]  # $15 per 1M characters
    assert r.input_usd_per_mtok is None


@pytest.mark.parametrize(("model_id", "prompt"), [("deepgram/nova-3", "0.0043"), ("openai/whisper-1", "0.006"),
                                                  ("mistralai/voxtral-mini-3b-2507", "0.0000166667")])
def test_speech_to_text_with_a_prompt_price_alone_is_unit_ambiguous(model_id, prompt):
    r = one(model(model_id, ["transcription"], {"prompt": prompt, "completion": "0"}, inputs=("audio",)))
    assert r.model_type == "transcription"
    assert shown(r) == [("input", UNIT_AMBIGUOUS, None)]
    assert any("unit ambiguous" in note for note in r.unknown_keys)


def test_speech_to_text_with_a_completion_price_is_per_token():
    r = one(model("openai/gpt-4o-transcribe", ["text"], {"prompt": "0.0000025", "completion": "0.00001"},
                  inputs=("audio",)))
    assert r.model_type == "transcription"
    assert (r.input_usd_per_mtok, r.output_usd_per_mtok) == (Decimal("2.5"), Decimal(10))


def test_image_models_and_image_token():
    flux = one(model("black-forest-labs/flux.2-pro", ["image"], {"prompt": "0", "completion": "0"}))
    assert (flux.model_type, shown(flux)) == ("image", [("image_output", "usd_per_image", None)])
    gpt = one(model("openai/gpt-image-1", ["image"], {"prompt": "0.000005", "completion": "0.00004",
                                                      "image_token": "0.00001"}, inputs=("text", "image")))
    assert gpt.unknown_keys == ()
    assert ("image_input", USD_PER_MTOK, "10") in shown(gpt)
    assert gpt.output_usd_per_mtok == Decimal(40)


def test_model_types_of_the_other_outputs():
    records = {r.model_id: r.model_type for r in parse(
        model("e", ["embeddings"], {"prompt": "0.00000002", "completion": "0"}),
        model("r", ["rerank"], {"prompt": "0.000001", "completion": "0"}),
        model("c", ["text", "image"], {"prompt": "0.0000003", "completion": "0.0000025"}),
    ).records}
    assert records == {"e": "embedding", "r": "rerank", "c": "chat"}


def deepseek_pricing():
    """Peak prices, off-peak on weekdays from 16:00 to midnight (``utc_end: 0``) and all weekend."""
    return {
        "prompt": "0.00000056", "completion": "0.00000168",
        "overrides": [
            {"utc_days": ["saturday", "sunday"], "prompt": "0.00000028", "completion": "0.00000084"},
            {"utc_days": WEEKDAYS, "utc_start": 1600, "utc_end": 0, "prompt": "0.00000028", "completion": "0.00000084"},
        ],
    }


def price_at(record, at, component="input"):
    matching = [c for c in record.components() if c.component == component and (c.window is None or c.window.contains(at))]
    return max(matching, key=lambda c: c.window is not None).usd


def test_utc_days_alone_cover_whole_days_and_with_a_window_are_weekday_windows():
    r = one(model("deepseek/deepseek-v3.2", ["text"], deepseek_pricing()))
    assert r.unknown_keys == ()
    windows = sorted(c.window.label() for c in r.components() if c.window and c.component == "input")
    assert windows == ["00:00-24:00 UTC sat,sun", "16:00-24:00 UTC mon,tue,wed,thu,fri"]
    assert price_at(r, SATURDAY) == price_at(r, SUNDAY_LATE) == Decimal("0.28")
    assert price_at(r, MONDAY_NOON) == Decimal("0.56")
    assert price_at(r, MONDAY_EVENING) == Decimal("0.28")


@pytest.mark.parametrize("bad", [["Saturday"], ["sat"], "saturday", []])
def test_utc_days_must_be_lowercase_english_day_names(bad):
    snapshot = parse(model("m", ["text"], {"prompt": "0.000001", "completion": "0.000002",
                                           "overrides": [{"utc_days": bad, "prompt": "0.0000005"}]}))
    assert "utc_days" in snapshot.quarantined["m"]


def test_an_alias_bills_its_own_prices_and_records_its_target():
    r = one(model("~deepseek/deepseek-latest", ["text"], {"prompt": "0.00000056", "completion": "0.00000168"},
                  alias_target={"slug": "deepseek/deepseek-v3.2", "name": "DeepSeek: DeepSeek V3.2"}))
    assert r.upstream_model_id == "deepseek/deepseek-v3.2" and r.upstream_provider is None
    assert r.input_usd_per_mtok == Decimal("0.56")
    assert r.unknown_keys == ()


def test_a_batch_id_stays_its_own_model_linked_to_its_base():
    snapshot = parse(model("openai/gpt-5", ["text"], {"prompt": "0.00000125", "completion": "0.00001"}),
                     model("openai/gpt-5:batch", ["text"], {"prompt": "0.000000625", "completion": "0.000005"}))
    records = {r.model_id: r for r in snapshot.records}
    batch = records["openai/gpt-5:batch"]
    assert batch.upstream_model_id == "openai/gpt-5"
    assert (batch.input_usd_per_mtok, records["openai/gpt-5"].input_usd_per_mtok) == (Decimal("0.625"), Decimal("1.25"))
