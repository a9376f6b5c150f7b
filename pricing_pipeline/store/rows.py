"""PriceRecords as rows of the pricing tables and back (the one mapping both directions use)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.records import WEEKDAY_NAMES, PriceComponent, PriceRecord, TimeWindow


def component_rows(record: PriceRecord, valid_from: datetime, sync_id: int) -> list[dict[str, Any]]:
    return [
        {
            "provider": record.provider,
            "model_id": record.model_id,
            "component": c.component,
            "unit": c.unit,
            "min_context_tokens": c.min_context_tokens,
            "window_start_minute": c.window.start_minute if c.window else None,
            "window_end_minute": c.window.end_minute if c.window else None,
            "weekdays": ",".join(map(str, c.window.weekdays)) if c.window and c.window.weekdays else None,
            "service_tier": c.service_tier,
            "region": c.region,
            "usd": c.usd,
            "valid_from": valid_from,
            "sync_id": sync_id,
        }
        for c in record.components()
    ]


def row_component(row: Mapping[str, Any]) -> PriceComponent:
    window = None
    if row["window_start_minute"] is not None:
        days = row["weekdays"]
        window = TimeWindow(
            row["window_start_minute"],
            row["window_end_minute"],
            tuple(int(d) for d in days.split(",")) if days else None,
        )
    return PriceComponent(
        row["component"], row["unit"], row["usd"], row["min_context_tokens"], window, row["service_tier"], row["region"]
    )


def record_columns(record: PriceRecord) -> dict[str, Any]:
    return {
        "provider": record.provider,
        "model_id": record.model_id,
        **record.prices(),
        **record.description(),
        "raw_pricing": record.raw,
    }


def row_record(row: Mapping[str, Any], components: Iterable[PriceComponent]) -> PriceRecord:
    """A published row and its components. The components are the prices (the row's price
    columns are their denormalized copy); the row gives the rest."""
    return PriceRecord.from_components(
        row["provider"],
        row["model_id"],
        list(components),
        variable_pricing=bool(row["variable_pricing"]),
        upstream_provider=row["upstream_provider"],
        upstream_model_id=row["upstream_model_id"],
        upstream_tag=row["upstream_tag"],
        quantization=row["quantization"],
        model_type=row["model_type"],
        raw=row["raw_pricing"],
    )


def record_from_json(data: Mapping[str, Any], raw: Any = None) -> PriceRecord:
    """A record from :meth:`PriceRecord.to_json` (a held proposal): its components are the
    prices, as in :func:`row_record`."""
    components = []
    for c in data["components"]:
        window = c.get("window_utc")
        components.append(
            PriceComponent(
                c["component"],
                c["unit"],
                None if c["usd"] is None else Decimal(c["usd"]),
                c["min_context_tokens"],
                None if window is None else TimeWindow(
                    _minutes(window["start"]),
                    _minutes(window["end"]),
                    None if window["weekdays"] is None else tuple(WEEKDAY_NAMES.index(d) + 1 for d in window["weekdays"]),
                ),
                c["service_tier"],
                c["region"],
            )
        )
    return PriceRecord.from_components(
        data["provider"],
        data["model_id"],
        components,
        variable_pricing=bool(data["variable_pricing"]),
        upstream_provider=data["upstream_provider"],
        upstream_model_id=data["upstream_model_id"],
        upstream_tag=data.get("upstream_tag"),  # proposals held before endpoints existed have neither
        quantization=data.get("quantization"),
        model_type=data["model_type"],
        raw=raw,
    )


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)
