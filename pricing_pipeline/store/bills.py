"""What the providers billed (``billed_requests``, appended by a gateway) and our reconciliation
of each bill (``bill_reconciliations``): every SQL statement the bills need.

Functions of a ``PricingStore`` (as store/listings.py), not methods: the store's class stays
the publish's.

- ``append``: a gateway's bills, idempotent on (provider, request_id): a bill logged twice is
  stored once.
- ``unreconciled`` / ``oldest_unreconciled``: the bills of a provider with no reconciliation
  yet (an anti-join, not a cursor: a run that died half-way leaves its rest for the next one).
- ``write_reconciliations``: one row per bill, idempotent on the bill (two runs racing write it
  once).
- ``outcome_totals`` / ``exact_ratio_since``: what the metrics export (counts that only grow,
  and the exact share of recent bills).
- ``disagreements``: the bills that disagree with the price live now, since it last changed
  (the ``bills_match_prices`` check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from pricing_pipeline.store.schema import bill_reconciliations, billed_requests, model_prices

OUTCOMES = ("exact", "within_1pct", "off", "error")
DISAGREEING = ("off", "within_1pct")
RECONCILIATION_COLUMNS = (
    "billed_request_id", "provider", "model_id", "upstream_provider", "created_at", "outcome", "our_usd",
    "billed_usd", "fees_usd", "priced_model_id", "price_valid_from", "error", "reconciled_at", "run_id",
)


def _insert_ignoring_duplicates(conn: Connection, table, rows: list[dict], unique: list[str]) -> int:
    """Insert ``rows``, skipping those that collide on ``unique``; how many were inserted."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=unique).returning(table.c.id)
    # one batched statement ("insertmanyvalues"); RETURNING names the rows really inserted
    return len(conn.execute(statement, rows).all())


def json_safe(value: Any) -> Any:
    """A usage object as the JSON column stores it: a Decimal (the gateway read the response
    with ``parse_float=Decimal``) becomes a float when that float reads back as the same number,
    else its exact string (reconcile reads both)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if value.is_finite() and Decimal(repr(as_float)) == value else str(value)
    return value


def append(store, provider: str, bills: Iterable[Mapping[str, Any]], received_at: datetime | None = None) -> int:
    """Store bills (``request_id, model, upstream_provider, created_at, usage``); a bill whose
    (provider, request_id) is stored already is skipped. Returns how many were new."""
    rows = [
        {
            "provider": provider,
            "request_id": str(b["request_id"]),
            "model": str(b["model"]),
            "upstream_provider": b.get("upstream_provider"),
            "created_at": b["created_at"],
            "usage": json_safe(b["usage"]),
            "received_at": received_at or datetime.now(UTC),
        }
        for b in bills
    ]
    with store.engine.begin() as conn:
        return _insert_ignoring_duplicates(conn, billed_requests, rows, ["provider", "request_id"])


def _unreconciled_query(provider: str):
    r = bill_reconciliations
    return (
        select(billed_requests)
        .outerjoin(r, r.c.billed_request_id == billed_requests.c.id)
        .where(billed_requests.c.provider == provider, r.c.id.is_(None))
    )


def unreconciled(store, provider: str, after_id: int = 0, limit: int = 5000) -> list[dict[str, Any]]:
    """Up to ``limit`` bills of ``provider`` not reconciled yet, by id, from after ``after_id``."""
    query = _unreconciled_query(provider).where(billed_requests.c.id > after_id).order_by(billed_requests.c.id)
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query.limit(limit)).mappings()]


def oldest_unreconciled(store, provider: str) -> tuple[int, datetime | None]:
    """(how many bills of ``provider`` wait, the oldest one's ``created_at``)."""
    pending = _unreconciled_query(provider).subquery()
    with store.engine.connect() as conn:
        count, oldest = conn.execute(select(func.count(), func.min(pending.c.created_at))).one()
    return int(count), oldest


def write_reconciliations(store, rows: Iterable[Mapping[str, Any]]) -> int:
    """One row per reconciled bill, in one transaction; a bill reconciled already (a concurrent
    run) is skipped. Returns how many were written."""
    rows = [{name: row.get(name) for name in RECONCILIATION_COLUMNS} for row in rows]
    with store.engine.begin() as conn:
        return _insert_ignoring_duplicates(conn, bill_reconciliations, rows, ["billed_request_id"])


def outcome_totals(store, provider: str) -> dict[str, int]:
    """Every reconciliation of ``provider`` ever written, by outcome (each outcome present)."""
    r = bill_reconciliations
    query = select(r.c.outcome, func.count()).where(r.c.provider == provider).group_by(r.c.outcome)
    with store.engine.connect() as conn:
        counted = {outcome: int(n) for outcome, n in conn.execute(query)}
    return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}


def exact_ratio_since(store, provider: str, since: datetime) -> tuple[int, float | None]:
    """(reconciled bills of ``provider`` created at or after ``since``, the share of them that
    were exact; None without any)."""
    r = bill_reconciliations
    exact = func.sum(case((r.c.outcome == "exact", 1), else_=0))
    with store.engine.connect() as conn:
        total, exact_count = conn.execute(
            select(func.count(), exact).where(r.c.provider == provider, r.c.created_at >= since)
        ).one()
    return int(total), (int(exact_count or 0) / total if total else None)


@dataclass(frozen=True)
class Disagreement:
    """Bills of one model at one upstream that disagree with the price live now."""

    model_id: str
    upstream_provider: str | None
    priced_model_id: str
    price_valid_from: datetime
    bills: int
    off: int
    within_1pct: int
    largest_difference_usd: Decimal
    last_created_at: datetime


def disagreements(store, provider: str) -> list[Disagreement]:
    """Per (model, upstream provider, priced record): the reconciliations off or within 1% whose
    price is the one live now (``price_valid_from`` equal to the record's live ``valid_from``):
    the bills that disagree with our price since it last changed. Largest differences first."""
    r, m = bill_reconciliations, model_prices
    query = (
        select(r.c.model_id, r.c.upstream_provider, r.c.priced_model_id, r.c.price_valid_from, r.c.outcome,
               r.c.our_usd, r.c.billed_usd, r.c.created_at)
        .join(m, and_(m.c.provider == r.c.provider, m.c.model_id == r.c.priced_model_id,
                      m.c.valid_from == r.c.price_valid_from, m.c.removed_at.is_(None)))
        .where(r.c.provider == provider, r.c.outcome.in_(DISAGREEING))
    )
    groups: dict[tuple, list] = {}
    with store.engine.connect() as conn:
        for model_id, upstream, priced, valid_from, outcome, ours, billed, created in conn.execute(query):
            # the differences in Python: our_usd / billed_usd are exact strings on SQLite
            groups.setdefault((model_id, upstream, priced, valid_from), []).append((outcome, ours - billed, created))
    out = [
        Disagreement(model_id, upstream, priced, valid_from, len(rows), sum(o == "off" for o, _, _ in rows),
                     sum(o == "within_1pct" for o, _, _ in rows), max(abs(d) for _, d, _ in rows),
                     max(c for _, _, c in rows))
        for (model_id, upstream, priced, valid_from), rows in groups.items()
    ]
    return sorted(out, key=lambda d: (-d.largest_difference_usd, d.model_id, d.upstream_provider or ""))


def reconciliations(store, provider: str | None = None) -> list[dict[str, Any]]:
    query = select(bill_reconciliations).order_by(bill_reconciliations.c.id)
    if provider:
        query = query.where(bill_reconciliations.c.provider == provider)
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
