"""What the pricing-pipeline commands share: the instance folder, the store, output."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

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


def ensure_dagster_home() -> Path:
    """Runs must land on a persistent instance so `dagster dev` shows them."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path.cwd() / ".dagster_home")
        os.environ["DAGSTER_HOME"] = home
        print(f"DAGSTER_HOME not set; using {home}", file=sys.stderr)
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = Path.cwd() / "dagster.yaml"
    if config.exists() and not (path / "dagster.yaml").exists():
        (path / "dagster.yaml").symlink_to(config)
    return path


def open_store():
    from pricing_pipeline.store import PricingStore, default_database_url

    store = PricingStore(default_database_url())
    store.migrate()
    return store


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


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    if not rows:
        print("(none)")
