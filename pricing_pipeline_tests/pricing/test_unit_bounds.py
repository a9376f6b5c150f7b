"""The price guard's plausibility bounds apply per unit (units.PRICE_BOUNDS)."""

from decimal import Decimal

import pytest

from pricing_pipeline.pricing.guard import bounds_problem, components
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord


def problem(component, unit, usd):
    record = PriceRecord.from_components("p", "m", [PriceComponent(component, unit, Decimal(usd))], model_type="audio")
    (judged,) = components(record).values()
    return bounds_problem(judged, GuardThresholds())


@pytest.mark.parametrize(
    ("component", "unit", "usd", "flagged"),
    [
        ("input", "usd_per_second", "0.0000166667", False),  # voxtral: $0.001 per minute
        ("video_output", "usd_per_second", "0.75", False),
        ("video_output", "usd_per_second", "50", True),  # a per-video price in a per-second field
        ("input", "usd_per_minute", "0.006", False),  # whisper-1
        ("input", "usd_per_minute", "4300", True),
        ("input", "usd_per_mchar", "15", False),  # TTS $15 per 1M characters
        ("input", "usd_per_mchar", "15000000", True),  # per character read as per 1M
        ("image_output", "usd_per_mpixel", "0.04", False),
        ("image_output", "usd_per_mpixel", "40000", True),
        ("image_output", "usd_per_image", "0.04", False),
        ("image_output", "usd_per_image", "60", True),
        ("input", "usd_per_mtok", "4300", True),  # deepgram per minute read per token
    ],
)
def test_bounds_per_unit(component, unit, usd, flagged):
    assert (problem(component, unit, usd) is not None) == flagged
