"""OpenRouter's per-endpoint prices (issue 27) from the shared recordings, read exactly as a sync
reads them (the adapter's ``with_details``: ids ``<model>#<tag>``, the unit rules, quarantines):
for the tests and benchmarks of the price book at an endpoint, without an HTTP round trip."""

from __future__ import annotations

from pricing_dev.recordings import ENDPOINTS_DIR
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.registry import get_adapter

DAY = "2026-07-20"
DAYS = ("2026-07-20", "2026-07-21")


def day_records(day: str = DAY) -> list[PriceRecord]:
    """That day's OpenRouter model list (its headline prices) and every endpoint's prices."""
    adapter = get_adapter("openrouter")
    folder = ENDPOINTS_DIR / day
    listed = (folder / "models.json").read_bytes()
    snapshot = adapter.parse_body(listed)
    # the endpoint lists a sync asks for: those of the listed models
    bodies = {model_id: (folder / "endpoints" / f"{model_id}.json").read_bytes() for model_id in adapter.detail_urls(listed)}
    return adapter.with_details(snapshot, bodies, {}).records


def endpoint_records(day: str = DAY) -> list[PriceRecord]:
    """Every endpoint of every model recorded that day (those the adapter quarantines left out)."""
    return [record for record in day_records(day) if is_endpoint_id(record.model_id)]
