"""request_cost and the ``cost`` command with usage in seconds, characters and pixels, and
OpenRouter's weekday windows (``utc_days``, ``utc_end: 0``) and aliases billed by the
request's instant. Pricing objects written from issue 20; expected figures computed here
from the raw strings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing_pipeline import cli
from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.pricing.cost import UnknownPrice, Usage
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord
from pricing_pipeline.providers.openrouter import ADAPTER

T0 = datetime(2026, 8, 28, 0, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 8, 29, 10, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 8, 31, 2, 0, tzinfo=UTC)
MONDAY_EVENING = datetime(2026, 8, 31, 20, 0, tzinfo=UTC)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
PEAK = {"prompt": "0.00000056", "completion": "0.00000168"}
OFF_PEAK = {"prompt": "0.00000028", "completion": "0.00000084"}


def entry(model_id, pricing, **extra):
    return {"id": model_id, "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "pricing": pricing, **extra}


CATALOG = {"data": [
    # weekday windows (peak 01:00-04:00 and 06:00-10:00 Mon-Fri) over an off-peak base
    entry("deepseek/deepseek-chat", {**OFF_PEAK, "overrides": [
        {"utc_days": WEEKDAYS, "utc_start": 100, "utc_end": 400, **PEAK},
        {"utc_days": WEEKDAYS, "utc_start": 600, "utc_end": 1000, **PEAK},
    ]}),
    # a window ending at 0 (midnight) on weekdays, and whole weekend days
    entry("deepseek/deepseek-v3.2", {**PEAK, "overrides": [
        {"utc_days": ["saturday", "sunday"], **OFF_PEAK},
        {"utc_days": WEEKDAYS, "utc_start": 1600, "utc_end": 0, **OFF_PEAK},
    ]}),
    # a daily evening window and a weekend price that overlaps it on Saturday evening
    entry("moonshotai/kimi-k3", {**PEAK, "overrides": [
        {"utc_start": 1600, "utc_end": 2400, "prompt": "0.0000004", "completion": "0.0000012"},
        {"utc_days": ["saturday", "sunday"], **OFF_PEAK},
    ]}),
    # an alias: its own listed prices
    entry("~deepseek/deepseek-latest", dict(PEAK), alias_target={"slug": "deepseek/deepseek-v3.2", "name": "DeepSeek"}),
]}
USAGE = Usage(input_tokens=1_000_000, output_tokens=100_000)


def billed(prices):
    return 1_000_000 * Decimal(prices["prompt"]) + 100_000 * Decimal(prices["completion"])


@pytest.fixture
def store(sqlite_url):
    from pricing_pipeline.store import PricingStore

    store = PricingStore(sqlite_url)
    store.migrate()
    store.publish("openrouter", ADAPTER.records(CATALOG), published_at=T0)
    yield store
    store.dispose()


@pytest.mark.parametrize(
    ("model_id", "at", "prices"),
    [
        ("deepseek/deepseek-chat", SATURDAY, OFF_PEAK),
        ("deepseek/deepseek-chat", MONDAY_MORNING, PEAK),
        ("deepseek/deepseek-chat", MONDAY_EVENING, OFF_PEAK),
        ("deepseek/deepseek-v3.2", SATURDAY, OFF_PEAK),
        ("deepseek/deepseek-v3.2", MONDAY_MORNING, PEAK),
        ("deepseek/deepseek-v3.2", MONDAY_EVENING, OFF_PEAK),
        ("~deepseek/deepseek-latest", SATURDAY, PEAK),
        ("moonshotai/kimi-k3", MONDAY_EVENING, {"prompt": "0.0000004", "completion": "0.0000012"}),
        ("moonshotai/kimi-k3", datetime(2026, 8, 29, 20, 0, tzinfo=UTC), OFF_PEAK),  # the weekend price wins
        ("moonshotai/kimi-k3", MONDAY_MORNING, PEAK),
        ("~deepseek/deepseek-latest", MONDAY_EVENING, PEAK),
    ],
)
def test_weekday_windows_and_an_alias_bill_exactly_by_the_instant(store, model_id, at, prices):
    assert request_cost("openrouter", model_id, USAGE, at=at, store=store).total_usd == billed(prices)


def test_the_cost_command_reads_weekday_windows_from_at(store, sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("PRICING_DATABASE_URL", sqlite_url)
    for at, prices in (("2026-08-29T10:00:00", OFF_PEAK), ("2026-08-31T02:00:00", PEAK)):
        assert cli.main(["cost", "--provider", "openrouter", "--model", "deepseek/deepseek-chat", "--input-tokens",
                         "1000000", "--output-tokens", "100000", "--at", at, "--format", "json"]) == 0
        assert Decimal(json.loads(capsys.readouterr().out)["total_usd"]) == billed(prices)


MEDIA = [
    PriceRecord.from_components("openrouter", "tts", [PriceComponent("input", "usd_per_mchar", Decimal(15))],
                                model_type="audio"),
    PriceRecord.from_components("openrouter", "stt", [PriceComponent("input", "usd_per_minute", Decimal("0.006"))],
                                model_type="transcription"),
    PriceRecord.from_components("openrouter", "veo", [PriceComponent("video_output", "usd_per_second", Decimal("0.4"))],
                                model_type="video"),
    PriceRecord.from_components("openrouter", "flux", [PriceComponent("image_output", "usd_per_mpixel", Decimal("0.03"))],
                                model_type="image"),
    PriceRecord.from_components("openrouter", "nova", [PriceComponent("input", "unit_ambiguous", None)],
                                model_type="transcription"),
]


@pytest.fixture
def media(sqlite_url):
    from pricing_pipeline.store import PricingStore

    store = PricingStore(sqlite_url)
    store.migrate()
    store.publish("openrouter", MEDIA, published_at=T0)
    yield store
    store.dispose()


@pytest.mark.parametrize(
    ("model_id", "usage", "usd"),
    [
        ("tts", Usage(characters=2_000), Decimal("0.03")),  # 2,000 x $15 / 1M
        ("stt", Usage(seconds=Decimal(90)), Decimal("0.009")),  # 1.5 minutes x $0.006
        ("veo", Usage(seconds=Decimal(8)), Decimal("3.2")),
        ("flux", Usage(pixels=1024 * 1024), Decimal("0.03145728")),
    ],
)
def test_usage_in_the_unit_the_model_bills(media, model_id, usage, usd):
    assert request_cost("openrouter", model_id, usage, at=SATURDAY, store=media).total_usd == usd


def test_a_price_of_ambiguous_unit_is_never_billed(media):
    with pytest.raises(UnknownPrice):
        request_cost("openrouter", "nova", Usage(seconds=Decimal(60)), at=SATURDAY, store=media)


def test_the_cost_command_takes_seconds_characters_and_pixels(media, sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("PRICING_DATABASE_URL", sqlite_url)
    for model_id, flags, usd in (("stt", ["--seconds", "90"], "0.009"), ("tts", ["--characters", "2000"], "0.03"),
                                 ("flux", ["--pixels", "1048576"], "0.03145728")):
        assert cli.main(["cost", "--provider", "openrouter", "--model", model_id, *flags, "--at",
                         "2026-08-29T10:00:00", "--format", "json"]) == 0
        assert Decimal(json.loads(capsys.readouterr().out)["total_usd"]) == Decimal(usd)
