"""What the price book (gateway/pricebook.py) reads: every model's listing span, the prices
live at any instant since a given one, and a cheap generation that moves when a publish
changed something."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from pricing_pipeline.pricing.records import PriceComponent
from pricing_pipeline.store.rows import row_component
from pricing_pipeline.store.schema import model_prices, price_components, price_history, sync_log

COMPONENT_COLUMNS = (
    "component", "unit", "usd", "min_context_tokens", "window_start_minute", "window_end_minute", "weekdays",
    "service_tier", "region",
)


def _generation_query():
    changed = or_(sync_log.c.models_added > 0, sync_log.c.models_changed > 0, sync_log.c.models_removed > 0)
    # "accepted": a person's accept of held prices publishes too (store/review.py)
    return select(func.count(), func.max(sync_log.c.id)).where(sync_log.c.status.in_(("success", "accepted")), changed)


def publish_generation(store) -> tuple[int, int | None]:
    """Moves whenever a publish that changed prices commits: the number of successful syncs (and
    accepts of held prices) that added, changed or removed a model, and the newest one's id. A count, not only the
    newest id: a publish committing after a later-numbered one still moves it."""
    with store.engine.connect() as conn:
        count, newest = conn.execute(_generation_query()).one()
    return int(count), newest


def last_publish(store) -> tuple[tuple[int, int | None], datetime | None]:
    """The publish generation (``publish_generation``) and when the newest successful sync (or
    accept of held prices) finished, changed prices or not: how old the published prices are."""
    newest = select(func.max(sync_log.c.finished_at)).where(sync_log.c.status.in_(("success", "accepted")))
    with store.engine.connect() as conn:
        count, newest_id = conn.execute(_generation_query()).one()
        finished = conn.execute(newest).scalar()
    return (int(count), newest_id), finished


@dataclass(frozen=True)
class Listings:
    generation: tuple[int, int | None]
    # (provider, model_id, first listed, listed until (None: still listed)) of every model
    # ever published: its first history row's start, its last one's end
    spans: list[tuple]
    # (provider, model_id, valid_from, valid_to, variable_pricing, upstream_provider,
    # upstream_tag) of every history row live at some instant from ``since`` on
    history: list[tuple]
    # (provider, model_id, valid_from) -> the components of that history row; equal
    # components are one shared object
    components: dict[tuple, list[PriceComponent]]


def read_listings(store, since: datetime) -> Listings:
    """Everything the price book holds, read in one snapshot of the database (a publish
    committing meanwhile is in all of it or in none)."""
    spans = select(model_prices.c.provider, model_prices.c.model_id, model_prices.c.first_seen_at,
                   model_prices.c.removed_at)
    history = select(price_history.c.provider, price_history.c.model_id, price_history.c.valid_from,
                     price_history.c.valid_to, price_history.c.variable_pricing, price_history.c.upstream_provider,
                     price_history.c.upstream_tag).where(
        or_(price_history.c.valid_to.is_(None), price_history.c.valid_to > since))
    components = select(price_components.c.provider, price_components.c.model_id, price_components.c.valid_from,
                        *(price_components.c[name] for name in COMPONENT_COLUMNS)).where(
        or_(price_components.c.valid_to.is_(None), price_components.c.valid_to > since))
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # pysqlite starts no transaction for reads
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            count, newest = conn.execute(_generation_query()).one()
            # streamed (a server-side cursor on PostgreSQL): a component row is kept only as
            # its shared PriceComponent, not as a row of its own
            streamed = conn.execution_options(stream_results=True, yield_per=10_000)
            return Listings((int(count), newest), list(conn.execute(spans).tuples()),
                            list(conn.execute(history).tuples()), _components(streamed.execute(components).tuples()))
        finally:
            conn.rollback()


def _components(rows) -> dict[tuple, list[PriceComponent]]:
    interned: dict[tuple, PriceComponent] = {}
    out: dict[tuple, list[PriceComponent]] = {}
    for provider, model_id, valid_from, *columns in rows:
        columns = tuple(columns)
        component = interned.get(columns)
        if component is None:
            component = interned[columns] = row_component(dict(zip(COMPONENT_COLUMNS, columns)))
        key = (provider, model_id, valid_from)
        listed = out.get(key)
        if listed is None:
            out[key] = [component]
        else:
            listed.append(component)
    return out
