"""OpenRouter's per-endpoint prices (issue 27) from the shared recordings, as records of their
own (pricing/endpoints.py: id ``<model>#<tag>``, ``upstream_provider``, ``upstream_tag``), read
with the OpenRouter adapter's own ``normalize``: for the tests and benchmarks of the price book at
an endpoint, until the sync fetches them itself."""

from __future__ import annotations

import dataclasses
import json

from pricing_dev.recordings import RECORDINGS_DIR
from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.registry import get_adapter

DAY = "2026-07-20"


DAYS = ("2026-07-20", "2026-07-21")


def endpoint_records(day: str = DAY) -> list[PriceRecord]:
    """Every endpoint of every model recorded that day (those the adapter cannot read left out)."""
    adapter = get_adapter("openrouter")
    out = []
    for path in sorted((RECORDINGS_DIR / "openrouter_endpoints" / day / "endpoints").rglob("*.json")):
        model = json.loads(path.read_bytes())["data"]
        for endpoint in model.get("endpoints") or []:
            tag = endpoint.get("tag") or str(endpoint.get("provider_name", "")).lower()
            try:
                record = adapter.normalize(endpoint_id(model["id"], tag),
                                           {"pricing": endpoint["pricing"], "architecture": model.get("architecture")})
            except (TypeError, ValueError, KeyError):
                continue
            if record is not None:
                out.append(dataclasses.replace(record, upstream_provider=endpoint.get("provider_name"),
                                               upstream_tag=tag, quantization=endpoint.get("quantization")))
    return out


def day_records(day: str = DAY) -> list[PriceRecord]:
    """That day's OpenRouter model list (its headline prices) and every endpoint's prices."""
    models = json.loads((RECORDINGS_DIR / "openrouter_endpoints" / day / "models.json").read_bytes())
    return get_adapter("openrouter").parse(models).records + endpoint_records(day)
