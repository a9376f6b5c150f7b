"""The point-in-time reads behind PricingStore's queries: live rows, the rows live at an
instant, and their components, by model id or by an id prefix (a model's endpoints)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from pricing_pipeline.pricing.records import PriceComponent, PriceRecord
from pricing_pipeline.store.rows import row_component, row_record
from pricing_pipeline.store.schema import model_prices, price_components


def live_records(conn: Connection, provider: str) -> dict[str, PriceRecord]:
    query = select(model_prices).where(model_prices.c.provider == provider, model_prices.c.removed_at.is_(None))
    components = live_components(conn, provider)
    return {
        row["model_id"]: row_record(row, components.get((provider, row["model_id"]), ()))
        for row in conn.execute(query).mappings()
    }


def live_at(table, at: datetime):
    return and_(table.c.valid_from <= at, or_(table.c.valid_to.is_(None), table.c.valid_to > at))


def model_is(table, model_id: str, prefix: bool = False):
    if not prefix:
        return table.c.model_id == model_id
    escaped = model_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return table.c.model_id.like(escaped + "%", escape="\\")


def live_components(
    conn: Connection, provider: str | None = None, model_id: str | None = None, at: datetime | None = None,
    prefix: bool = False,
) -> dict[tuple[str, str], list[PriceComponent]]:
    """The components live now (or at ``at``), by (provider, model_id) (``prefix``: of the
    models whose id starts with ``model_id``)."""
    table = price_components
    query = select(table).where(table.c.valid_to.is_(None) if at is None else live_at(table, at))
    if provider:
        query = query.where(table.c.provider == provider)
    if model_id:
        query = query.where(model_is(table, model_id, prefix))
    out: dict[tuple[str, str], list[PriceComponent]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        out[(row["provider"], row["model_id"])].append(row_component(row))
    return out


