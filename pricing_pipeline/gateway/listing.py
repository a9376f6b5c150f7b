"""The JSON of the published prices, as ``pricing-pipeline prices --format json`` prints it and
``GET /v1/prices`` serves it (serve.py): one function for both, and the record shapes that
``held`` shows too."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pricing_pipeline.pricing.endpoints import endpoint_model, is_endpoint_id
from pricing_pipeline.pricing.units import decimal_str

PRICE_JSON_KEYS = (
    "provider",
    "model_id",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "valid_from",
)


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant; without an offset, UTC. ValueError when it is none."""
    instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def prices_json(store, provider: str | None = None, model_id: str | None = None,
                at: datetime | None = None) -> list[dict[str, Any]]:
    """The live prices (or those live at ``at``) of every model, or of one provider or model;
    a model asked for by id lists its endpoints and their components too."""
    published = store.prices(provider=provider, model_id=model_id, at=at)
    if model_id:
        published += store.prices(provider=provider, model_id=model_id, at=at, endpoints=True)
    endpoints: dict[tuple[str, str], list] = {}
    for price in published:
        if is_endpoint_id(price.record.model_id):
            endpoints.setdefault((price.record.provider, endpoint_model(price.record.model_id)), []).append(price)
    return [
        price_json(p.record, p.valid_from, endpoints.get((p.record.provider, p.record.model_id), ()))
        for p in published if not is_endpoint_id(p.record.model_id)
    ]


def price_json(record, valid_from: datetime | None, endpoints=()) -> dict[str, Any]:
    """A price record as `prices` prints it (also `held`'s published and proposed). Its
    ``components`` are the model's own (``upstream_provider`` null) followed by those of its
    ``endpoints`` (PublishedPrices of its endpoint records), each naming its endpoint."""
    out = {
        "provider": record.provider,
        "model_id": record.model_id,
        **{key: decimal_str(getattr(record, key)) for key in PRICE_JSON_KEYS[2:6]},
        "valid_from": valid_from.isoformat() if valid_from else None,
        "model_type": record.model_type,
        "components": component_json(record),
    }
    if record.upstream_tag:  # an endpoint record of its own (a held endpoint)
        out.update(endpoint_json(record, valid_from))
    if endpoints:
        out["endpoints"] = [endpoint_json(p.record, p.valid_from) for p in endpoints]
        for price in endpoints:
            out["components"] += component_json(price.record)
    return out


def component_json(record) -> list[dict[str, Any]]:
    upstream = {"upstream_provider": record.upstream_provider if record.upstream_tag else None,
                "upstream_tag": record.upstream_tag}
    return [{**c.to_json(), **upstream} for c in record.components()]


def endpoint_json(record, valid_from: datetime | None) -> dict[str, Any]:
    """Which endpoint a record prices, and its listed discount (already in its prices)."""
    discount = record.raw.get("discount") if isinstance(record.raw, dict) else None
    return {
        "upstream_provider": record.upstream_provider,
        "upstream_tag": record.upstream_tag,
        "quantization": record.quantization,
        "discount": None if discount is None else str(discount),
        "valid_from": valid_from.isoformat() if valid_from else None,
    }
