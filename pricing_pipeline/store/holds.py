"""The price guard's holds in the database: what a publish keeps back, and what a person
accepts or rejects. Every function takes the caller's connection: a publish and a review run
inside one transaction under the provider lock (database.py), so a concurrent accept and
sync are serialized and each sees what the other wrote."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pricing_pipeline.pricing.holds import HELD, REJECTED, Hold, StandingHold, Verdict
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.store import bulk
from pricing_pipeline.store.rows import record_from_json
from pricing_pipeline.store.schema import price_changes, price_holds

STANDING = (HELD, REJECTED)
GUARD = "price_guard"  # who decided a hold (the change log's decided_by)
CLEARED = "upstream returned to the published prices"


def canonical(record: PriceRecord) -> PriceRecord:
    """The record as a hold stores it and an accept publishes it (its JSON, read back)."""
    return record_from_json(record.to_json(), raw=record.raw)


def standing(conn: Connection, provider: str) -> dict[str, StandingHold]:
    rows = conn.execute(
        select(price_holds.c.model_id, price_holds.c.status, price_holds.c.proposal, price_holds.c.held_since).where(
            price_holds.c.provider == provider, price_holds.c.status.in_(STANDING)
        )
    )
    return {row.model_id: StandingHold(row.model_id, row.status, row.proposal, row.held_since) for row in rows}


def rows(conn: Connection, provider: str | None = None, statuses: Iterable[str] = (HELD,)) -> list[dict[str, Any]]:
    query = select(price_holds).where(price_holds.c.status.in_(list(statuses)))
    if provider:
        query = query.where(price_holds.c.provider == provider)
    return [dict(row) for row in conn.execute(query.order_by(price_holds.c.provider, price_holds.c.model_id)).mappings()]


def last_resolved(conn: Connection, provider: str, model_id: str) -> dict[str, Any] | None:
    """The latest hold of a model that is no longer standing (to say why nothing is held)."""
    row = conn.execute(
        select(price_holds)
        .where(price_holds.c.provider == provider, price_holds.c.model_id == model_id)
        .order_by(price_holds.c.id.desc())
        .limit(1)
    ).mappings().first()
    return dict(row) if row else None


def record_verdict(
    conn: Connection,
    provider: str,
    verdict: Verdict,
    published_ids: set[str],
    quarantined: set[str],
    now: datetime,
    sync_id: int,
    run_id: str | None,
) -> None:
    """Bring the standing holds in line with a publish's verdict, one statement per kind of
    write (a junk catalog holds thousands). ``published_ids``: the models whose snapshot record
    this publish wrote (added, changed or removed); a model quarantined in this snapshot keeps
    its hold untouched."""
    current = standing(conn, provider)
    still, resolved, cleared = [], {}, []
    new_holds = [hold for model_id, hold in verdict.held.items() if model_id not in current]
    for model_id, prior in current.items():
        hold = verdict.held.get(model_id)
        if model_id in quarantined or model_id in verdict.silenced or (hold is not None and hold.proposal == prior.proposal):
            still.append(model_id)
        elif hold is not None:  # a new proposal, flagged again: judged afresh
            resolved.setdefault(("superseded", None, "upstream proposed other prices"), []).append(model_id)
            new_holds.append(hold)
        elif model_id in verdict.accepted:
            resolved.setdefault(("accepted", verdict.override.accepted_by, verdict.override.reason), []).append(model_id)
        elif model_id in published_ids:
            resolved.setdefault(("superseded", None, "upstream proposed other prices, published"), []).append(model_id)
        else:
            cleared.append(model_id)
    resolved[("cleared", None, CLEARED)] = cleared
    bulk.update_models(conn, price_holds, provider, still, {"last_seen_at": now}, price_holds.c.status.in_(STANDING))
    for (status, by, reason), model_ids in resolved.items():
        resolve(conn, provider, model_ids, status, now, by, reason, run_id)
    bulk.insert_rows(conn, price_holds, (_hold_row(provider, hold, now, run_id) for hold in new_holds))
    log(conn, [
        *(_log_row(provider, m, "hold_cleared", None, None, now, sync_id, run_id, GUARD, CLEARED) for m in cleared),
        *(_log_row(provider, h.model_id, "held", h.published, h.proposed, now, sync_id, run_id, GUARD, h.reason)
          for h in new_holds),
    ])


def _hold_row(provider: str, hold: Hold, now: datetime, run_id: str | None) -> dict[str, Any]:
    return {
        "provider": provider,
        "model_id": hold.model_id,
        "kind": hold.kind,
        "rules": ",".join(hold.rules)[:200],
        "reason": hold.reason,
        "hold_group": hold.group,
        "proposal": hold.proposal,
        "published": hold.published.to_json() if hold.published else None,
        "proposed": hold.proposed.to_json() if hold.proposed else None,
        "proposed_raw": hold.proposed.raw if hold.proposed else None,
        "status": HELD,
        "held_since": now,
        "last_seen_at": now,
        "run_id": run_id,
        "resolved_at": None,
        "resolved_by": None,
        "resolve_reason": None,
        "resolved_run_id": None,
    }


def resolve(
    conn: Connection, provider: str, model_ids: list[str], status: str, now: datetime, by: str | None,
    reason: str | None, run_id: str | None,
) -> None:
    """End the standing holds of these models with ``status`` (accepted, rejected, cleared,
    superseded)."""
    values = {"status": status, "resolved_at": now, "resolved_by": by, "resolve_reason": reason, "resolved_run_id": run_id}
    bulk.update_models(conn, price_holds, provider, model_ids, values, price_holds.c.status.in_(STANDING))


def reject(conn: Connection, provider: str, model_ids: list[str], now: datetime, by: str, reason: str,
           sync_id: int, run_id: str | None) -> None:
    """The published prices stay; the proposal is silenced until upstream proposes another."""
    resolve(conn, provider, model_ids, REJECTED, now, by, reason, run_id)
    log(conn, [_log_row(provider, m, "rejected", None, None, now, sync_id, run_id, by, reason) for m in model_ids])


def proposals(held_rows: Iterable[Mapping[str, Any]]) -> dict[str, PriceRecord | None]:
    """The proposed record of each held row (None: a removal)."""
    return {
        row["model_id"]: None if row["proposed"] is None else record_from_json(row["proposed"], raw=row["proposed_raw"])
        for row in held_rows
    }


def log(conn: Connection, rows: list[dict[str, Any]]) -> None:
    bulk.insert_rows(conn, price_changes, rows)


def _log_row(provider, model_id, kind, before, after, now, sync_id, run_id, by, reason) -> dict[str, Any]:
    """A change-log row of the guard's decisions (held | rejected | hold_cleared)."""
    return {
        "provider": provider,
        "model_id": model_id,
        "kind": kind,
        "before": before.to_json() if before is not None else None,
        "after": after.to_json() if after is not None else None,
        "changed_at": now,
        "sync_id": sync_id,
        "run_id": run_id,
        "accepted_by": None,
        "accept_reason": None,
        "decided_by": by,
        "decision_reason": reason,
    }


def summary(conn: Connection, provider: str) -> tuple[int, datetime | None]:
    """How many models are held for the provider, and since when the oldest is."""
    count, oldest = conn.execute(
        select(func.count(), func.min(price_holds.c.held_since)).where(
            price_holds.c.provider == provider, price_holds.c.status == HELD
        )
    ).one()
    return count, oldest
