"""A person's decision on held proposals: accept (publish the stored proposal, audited) or
reject (keep the published prices, silence the proposal). One transaction under the provider
lock, so it is serialized with a sync's publish of the same provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from pricing_pipeline.pricing.diff import PriceChange
from pricing_pipeline.pricing.holds import HELD
from pricing_pipeline.store import holds, live
from pricing_pipeline.store.schema import price_changes, price_holds, sync_log
from pricing_pipeline.store.write import Acceptance, apply_changes

DECISIONS = ("accept", "reject")
# The sync log statuses of a person's decision (a review run): never a sync's outcome.
REVIEW_STATUSES = ("accepted", "rejected")


class ReviewError(Exception):
    """Nothing to decide: no hold for a model, or upstream replaced the proposal."""


@dataclass(frozen=True)
class ReviewResult:
    decision: str
    models: list[str]  # the holds decided (a group's members included)
    changes: list[PriceChange]  # what an accept published


def nothing_held_message(conn: Connection, provider: str, model_id: str) -> str:
    last = holds.last_resolved(conn, provider, model_id)
    if last is None:
        return f"{provider}: nothing is held for {model_id!r}"
    if last["status"] == "superseded":
        return (
            f"{provider}: refused: upstream replaced the proposal held for {model_id!r} since "
            f"{last['held_since'].isoformat()} ({last['resolve_reason']}, {last['resolved_at'].isoformat()}); "
            "nothing is held now"
        )
    return f"{provider}: nothing is held for {model_id!r} (its last hold was {last['status']} at {last['resolved_at'].isoformat()})"


def decide(
    conn: Connection,
    provider: str,
    decision: str,
    model_ids: Sequence[str] | None,
    by: str,
    reason: str,
    run_id: str | None,
    expected: Mapping[str, str] | None = None,
) -> ReviewResult:
    """Accept or reject the held proposals of ``model_ids`` (None: every hold of the provider).
    ``expected`` maps a model to the proposal the person saw: a hold whose proposal upstream
    has since replaced is refused. The caller holds the provider lock."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    if not by.strip() or not reason.strip():
        raise ReviewError("a decision on held prices must say who decides (--by) and why (--reason)")
    held = {row["model_id"]: row for row in holds.rows(conn, provider, (HELD,))}
    if model_ids is None:
        if not held:
            raise ReviewError(f"{provider}: nothing is held")
        chosen = set(held)
    else:
        for model_id in model_ids:
            if model_id not in held:
                raise ReviewError(nothing_held_message(conn, provider, model_id))
        chosen = set(model_ids)
    for model_id, proposal in (expected or {}).items():
        if model_id in held and held[model_id]["proposal"] != proposal:
            raise ReviewError(
                f"{provider}: refused: upstream replaced the proposal for {model_id!r} since it was shown "
                f"(held since {held[model_id]['held_since'].isoformat()}); review it again"
            )
    # A mass addition or removal is held and released as one group.
    groups = {held[m]["hold_group"] for m in chosen if held[m]["hold_group"]}
    chosen |= {m for m, row in held.items() if row["hold_group"] in groups}
    chosen_ids = sorted(chosen)
    now = datetime.now(timezone.utc)
    sync_id = conn.execute(
        insert(sync_log).values(provider=provider, run_id=run_id, started_at=now, status="running")
    ).inserted_primary_key[0]
    changes: list[PriceChange] = []
    if decision == "accept":
        live_prints, gone = live.live_fingerprints(conn, provider)
        before = live.records_of(conn, provider, [m for m in chosen_ids if m in live_prints])
        for model_id, proposed in holds.proposals(held[m] for m in chosen_ids).items():
            current = before.get(model_id)
            if proposed is None:
                if current is not None:
                    changes.append(PriceChange(model_id, "removed", current, None))
            elif current is None:
                changes.append(PriceChange(model_id, "added", None, proposed))
            elif current.price_key() != proposed.price_key():
                changes.append(PriceChange(model_id, "changed", current, proposed))
        acceptance = Acceptance(accepted_by=by, reason=reason)
        known = {c.model_id for c in changes if c.model_id in live_prints or c.model_id in gone}
        apply_changes(conn, provider, changes, now, sync_id, run_id, {c.model_id: acceptance for c in changes}, known)
        holds.resolve(conn, provider, chosen_ids, "accepted", now, by, reason, run_id)
    else:
        holds.reject(conn, provider, chosen_ids, now, by, reason, sync_id, run_id)
    conn.execute(
        sync_log.update()
        .where(sync_log.c.id == sync_id)
        .values(
            status="accepted" if decision == "accept" else "rejected",
            finished_at=datetime.now(timezone.utc),
            models_added=sum(c.kind == "added" for c in changes),
            models_changed=sum(c.kind == "changed" for c in changes),
            models_removed=sum(c.kind == "removed" for c in changes),
            models_held=len(held) - len(chosen_ids),
        )
    )
    return ReviewResult(decision, chosen_ids, changes)


def decided_by(conn: Connection, run_id: str) -> str | None:
    """Who decided in the review run ``run_id``: the change log's ``accepted_by`` or
    ``decided_by`` of its rows, else the ``resolved_by`` of the holds it resolved."""
    by = conn.execute(
        select(func.max(func.coalesce(price_changes.c.accepted_by, price_changes.c.decided_by))).where(
            price_changes.c.run_id == run_id
        )
    ).scalar()
    if by:
        return by
    return conn.execute(
        select(func.max(price_holds.c.resolved_by)).where(
            price_holds.c.resolved_run_id == run_id, price_holds.c.resolved_by.is_not(None)
        )
    ).scalar()
