"""How a set of price changes is written: history closed and opened, the live rows, the change
log. One set-based statement per kind of write, whatever the number of models (bulk.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from pricing_pipeline.pricing.diff import PriceChange
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.store import bulk
from pricing_pipeline.store.rows import component_rows, record_columns
from pricing_pipeline.store.schema import model_prices, price_changes, price_components, price_history


@dataclass(frozen=True)
class Acceptance:
    """An operator's sign-off on a change the price guard held."""

    accepted_by: str
    reason: str


def apply_changes(
    conn: Connection,
    provider: str,
    changes: list[PriceChange],
    now: datetime,
    sync_id: int,
    run_id: str | None,
    acceptances: Mapping[str, Acceptance],
    known: set[str],
) -> None:
    """Write a diff with one set-based statement per kind of write."""
    if not changes:
        return
    closing = [c.model_id for c in changes if c.before is not None or c.model_id in known]
    for table in (price_history, price_components):
        bulk.update_models(conn, table, provider, closing, {"valid_to": now}, table.c.valid_to.is_(None))
    bulk.update_models(conn, model_prices, provider, [c.model_id for c in changes if c.after is None], {"removed_at": now})
    published = [c.after for c in changes if c.after is not None]
    bulk.insert_rows(conn, price_history, ({**record_columns(r), "valid_from": now, "sync_id": sync_id} for r in published))
    bulk.insert_rows(conn, price_components, (row for r in published for row in component_rows(r, now, sync_id)))

    def live_row(record: PriceRecord, **more) -> dict:
        return {**record_columns(record), "price_fingerprint": record.price_fingerprint(), "valid_from": now, **more}

    # New models get their row; a changed model, or one that came back, has its row replaced.
    bulk.insert_rows(conn, model_prices, (live_row(r, first_seen_at=now) for r in published if r.model_id not in known))
    bulk.update_rows(
        conn, model_prices, ("provider", "model_id"), (live_row(r, removed_at=None) for r in published if r.model_id in known)
    )
    bulk.insert_rows(
        conn,
        price_changes,
        (
            {
                "provider": provider,
                "model_id": c.model_id,
                "kind": c.kind,
                "before": c.before.to_json() if c.before else None,
                "after": c.after.to_json() if c.after else None,
                "changed_at": now,
                "sync_id": sync_id,
                "run_id": run_id,
                "accepted_by": acceptances[c.model_id].accepted_by if c.model_id in acceptances else None,
                "accept_reason": acceptances[c.model_id].reason if c.model_id in acceptances else None,
            }
            for c in changes
        ),
    )
