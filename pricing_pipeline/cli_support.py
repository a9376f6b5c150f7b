"""What the pricing-pipeline commands share: the instance folder, the store, output."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# the JSON of the published prices: one home for `prices`, `held` and the HTTP service
from pricing_pipeline.gateway.listing import PRICE_JSON_KEYS, component_json, endpoint_json, price_json  # noqa: F401


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


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    if not rows:
        print("(none)")
