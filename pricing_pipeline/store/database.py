"""PricingStore: publish snapshots with full history, and answer the gateway's queries."""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, and_, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from pricing_pipeline.pricing.diff import SnapshotDiff
from pricing_pipeline.pricing.endpoints import endpoint_model, endpoints_prefix, is_endpoint_id
from pricing_pipeline.pricing.holds import StandingHold, Verdict
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord
from pricing_pipeline.redaction import redact
from pricing_pipeline.store import bulk, holds, live, migrations, queries, write
from pricing_pipeline.store import review as hold_review
from pricing_pipeline.store.engine import create_engine_for, lock_provider
from pricing_pipeline.store.rows import row_component, row_record
from pricing_pipeline.store.schema import (
    model_prices,
    price_changes,
    price_components,
    price_history,
    raw_snapshots,
    sync_log,
)
from pricing_pipeline.store.write import Acceptance

# A publish that changed this many models refreshes the planner's statistics afterwards.
ANALYZE_AFTER_CHANGES = 10_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    sync_id: int
    diff: SnapshotDiff
    models: int
    published_at: datetime
    duration_seconds: float
    verdict: Verdict | None = None  # the price guard's decision, when the publish was reviewed
    oldest_hold_since: datetime | None = None  # of the provider's holds after this publish


# The price guard's review of a snapshot, run inside the publish under the provider lock:
# (published records as a comparison needs them, standing holds, baseline model ids, the
# snapshot records that are new or may have moved) -> Verdict.
Review = Callable[
    [Mapping[str, PriceRecord], Mapping[str, StandingHold], frozenset[str] | None, list[PriceRecord]], Verdict
]


@dataclass(frozen=True)
class PublishedPrice:
    record: PriceRecord
    valid_from: datetime
    valid_to: datetime | None = None


class PricingStore:
    def __init__(self, url: str, engine: Engine | None = None):
        self.url = url
        self.engine = engine or create_engine_for(url)

    # --- schema ------------------------------------------------------------------------

    def migrate(self) -> None:
        migrations.upgrade(self.engine)

    # --- sync log ----------------------------------------------------------------------

    def start_sync(self, provider: str, run_id: str | None, started_at: datetime | None = None) -> int:
        """The sync log row of this run (re-used when a step is retried)."""
        with self.engine.begin() as conn:
            if run_id is not None:
                existing = conn.execute(select(sync_log.c.id).where(sync_log.c.run_id == run_id)).scalar()
                if existing is not None:
                    return existing
            return conn.execute(
                insert(sync_log).values(
                    provider=provider,
                    run_id=run_id,
                    started_at=started_at or _now(),
                    status="running",
                )
            ).inserted_primary_key[0]

    def fail_sync(
        self,
        provider: str,
        run_id: str,
        error_type: str | None,
        error: str,
        status: str = "failure",
        models_fetched: int | None = None,
    ) -> None:
        sync_id = self.start_sync(provider, run_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(sync_log)
                .where(sync_log.c.id == sync_id)
                .values(
                    status=status,
                    finished_at=_now(),
                    error_type=error_type,
                    error=redact(error)[:4000],
                    models_fetched=models_fetched,
                )
            )

    def running_syncs(self) -> list[dict[str, Any]]:
        """Sync log rows not closed yet (their runs may have ended without saying so)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sync_log).where(sync_log.c.status == "running").order_by(sync_log.c.id))
            return [dict(row) for row in rows.mappings()]

    def sync_row(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sync_log).where(sync_log.c.run_id == run_id)).mappings().first()
            return dict(row) if row else None

    def sync_rows(self, provider: str | None = None) -> list[dict[str, Any]]:
        query = select(sync_log).order_by(sync_log.c.id)
        if provider:
            query = query.where(sync_log.c.provider == provider)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # --- raw snapshots -----------------------------------------------------------------

    def archive_raw_snapshot(
        self, provider: str, url: str, body: bytes, fetched_at: datetime, run_id: str | None = None
    ) -> tuple[int, bool]:
        """Keep an upstream body (once per distinct content). Returns (id, newly stored)."""
        sha256 = hashlib.sha256(body).hexdigest()
        where = and_(raw_snapshots.c.provider == provider, raw_snapshots.c.sha256 == sha256)
        with self.engine.begin() as conn:
            existing = conn.execute(select(raw_snapshots.c.id).where(where)).scalar()
            if existing is not None:
                return existing, False
            new_id = conn.execute(
                insert(raw_snapshots).values(
                    provider=provider,
                    sha256=sha256,
                    url=url,
                    first_fetched_at=fetched_at,
                    first_run_id=run_id,
                    size_bytes=len(body),
                    body_gzip=gzip.compress(body, mtime=0),
                )
            ).inserted_primary_key[0]
            return new_id, True

    def raw_snapshot_body(self, snapshot_id: int) -> bytes:
        with self.engine.connect() as conn:
            compressed = conn.execute(select(raw_snapshots.c.body_gzip).where(raw_snapshots.c.id == snapshot_id)).scalar_one()
        return gzip.decompress(compressed)

    def raw_snapshots(self, provider: str) -> list[dict[str, Any]]:
        columns = [c for c in raw_snapshots.c if c.name != "body_gzip"]
        query = select(*columns).where(raw_snapshots.c.provider == provider).order_by(raw_snapshots.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # --- publish -----------------------------------------------------------------------

    def published_records(self, provider: str) -> dict[str, PriceRecord]:
        """The provider's live prices (removed models excluded), by model id."""
        with self.engine.connect() as conn:
            return queries.live_records(conn, provider)

    def published_against(self, provider: str, snapshot: list[PriceRecord]) -> dict[str, PriceRecord]:
        """``published_records`` for comparing with a snapshot, without reading back the
        models whose prices did not change (they map to the snapshot's own record)."""
        with self.engine.connect() as conn:
            return dict(live.compare(conn, provider, snapshot).published)

    def live_model_ids(self, provider: str) -> set[str]:
        with self.engine.connect() as conn:
            return live.live_model_ids(conn, provider)

    def live_model_count(self, provider: str) -> int:
        with self.engine.connect() as conn:
            return live.live_model_count(conn, provider)

    def baseline_model_ids(self, provider: str) -> set[str]:
        """The models live just before the provider's latest successful publish (what the
        count checks compare a snapshot with); the live models when there was no publish
        before it."""
        with self.engine.connect() as conn:
            return live.baseline_model_ids(conn, provider)

    def publish(
        self,
        provider: str,
        records: Iterable[PriceRecord],
        run_id: str | None = None,
        acceptances: Mapping[str, Acceptance] | None = None,
        published_at: datetime | None = None,
        quarantined: Mapping[str, str] | None = None,
        review: Review | None = None,
        endpoints_unread: Mapping[str, str] | None = None,
        endpoints_kept: Collection[str] = (),
    ) -> PublishResult:
        """Make ``records`` (the provider's complete snapshot) the live prices, in one
        transaction: history rows closed and opened, removed models marked, the change log
        and the sync log written together, or nothing at all. ``quarantined`` models
        (``{model_id: reason}``, entries that could not be read) keep their published
        prices: neither changed nor removed; so do the published endpoints of the models in
        ``endpoints_unread`` (``{model_id: reason}``: their endpoint list could not be read)
        and in ``endpoints_kept`` (not asked for this time: a watcher's run).

        The diff reads a compact projection of what is live (model id and price fingerprint)
        and whole records only for the models that changed or went away; the writes are one
        set-based statement per kind (bulk.py), so an unchanged re-sync writes only its
        sync log row."""
        records = list(records)
        if any(r.provider != provider for r in records):
            raise ValueError(f"snapshot for {provider!r} contains records of another provider")
        acceptances = acceptances or {}
        endpoints = sum(is_endpoint_id(r.model_id) for r in records)
        sync_id = self.start_sync(provider, run_id)
        started = time.perf_counter()
        with self.engine.begin() as conn:
            lock_provider(conn, provider)
            # After the lock: a publish that waited for another must not date its rows before it.
            now = published_at or _now()
            keep = dict(quarantined or {})
            comparison = live.compare(conn, provider, records)  # the one read of every live row
            unread = endpoints_unread or {}
            not_read = set(unread) | set(endpoints_kept)
            kept_endpoints = {m for m in comparison.absent if is_endpoint_id(m) and endpoint_model(m) in not_read}
            keep.update({m: "endpoints not read this time" for m in kept_endpoints})
            withheld: set[str] = set()
            verdict = None
            if review is not None:
                # The baseline (the models live before the latest publish) only matters when the
                # snapshot adds or drops a model; most syncs list exactly the live models.
                baseline = None
                if not comparison.same_models:
                    baseline = frozenset(live.baseline_model_ids(conn, provider)) - set(keep)
                verdict = review(comparison.published, holds.standing(conn, provider), baseline, comparison.moved)
                withheld = verdict.withheld
                keep.update({m: "held by the price guard" for m in withheld})
            diff, unfingerprinted = comparison.diff(withheld, keep)
            known = comparison.known(c.model_id for c in diff.changes)
            del comparison  # its by-id map and read-back records (5 MB at 100k models) are not needed for the writes
            override = verdict.override if verdict is not None else None
            if override is not None and override.active:
                acceptance = Acceptance(override.accepted_by, override.reason)
                accepted = {c.model_id for c in diff.changes} if override.accept_all else set(verdict.accepted)
                acceptances = {**{m: acceptance for m in accepted}, **acceptances}
            write.apply_changes(conn, provider, diff.changes, now, sync_id, run_id, acceptances, known)
            live.fill_fingerprints(conn, provider, unfingerprinted)
            if verdict is not None:
                holds.record_verdict(
                    conn, provider, verdict, {c.model_id for c in diff.changes}, set(quarantined or {}) | kept_endpoints,
                    now, sync_id, run_id,
                )
            _, oldest = holds.summary(conn, provider)
            conn.execute(
                update(sync_log)
                .where(sync_log.c.id == sync_id)
                .values(
                    status="success",
                    finished_at=_now(),
                    models_fetched=len(records) - endpoints,
                    endpoints_fetched=endpoints,
                    models_added=len(diff.added),
                    models_changed=len(diff.changed),
                    models_removed=len(diff.removed),
                    models_quarantined=len(quarantined or {}),
                    quarantined=dict(quarantined or {}),
                    models_held=len(verdict.held) if verdict is not None else None,
                    endpoint_fetch_failures=len(unread),
                    endpoint_fetch_failed=dict(unread) or None,
                    error_type=None,
                    error=None,
                )
            )
        if len(diff.changes) >= ANALYZE_AFTER_CHANGES:  # a first publish of a big catalog, a mass change
            self._refresh_statistics()
        return PublishResult(sync_id, diff, len(records) - endpoints, now, time.perf_counter() - started, verdict, oldest)

    def _refresh_statistics(self) -> None:
        # Best effort: the publish is committed; only the next one's query plans depend on it.
        try:
            with self.engine.begin() as conn:
                bulk.refresh_statistics(conn, (model_prices, price_history, price_components, price_changes))
        except SQLAlchemyError as error:
            log.warning("planner statistics not refreshed after a bulk publish (%s)", type(error).__name__)

    # --- the price guard's holds ------------------------------------------------------

    def held(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The proposals held for a person (price_holds rows), by provider and model."""
        with self.engine.connect() as conn:
            return holds.rows(conn, provider)

    def hold_summary(self, provider: str) -> tuple[int, datetime | None]:
        """How many models are held for the provider, and since when the oldest is."""
        with self.engine.connect() as conn:
            return holds.summary(conn, provider)

    def holds_history(self, provider: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return holds.rows(conn, provider, ("held", "rejected", "accepted", "cleared", "superseded"))

    def nothing_held_message(self, provider: str, model_id: str) -> str:
        with self.engine.connect() as conn:
            return hold_review.nothing_held_message(conn, provider, model_id)

    def decided_by(self, run_id: str) -> str | None:
        """Who decided in a review run (accept / reject)."""
        with self.engine.connect() as conn:
            return hold_review.decided_by(conn, run_id)

    def decide_holds(
        self,
        provider: str,
        decision: str,
        model_ids: list[str] | None,
        by: str,
        reason: str,
        run_id: str | None = None,
        expected: Mapping[str, str] | None = None,
    ) -> hold_review.ReviewResult:
        """Accept (publish the stored proposals, audited) or reject held proposals, under the
        provider lock (store/review.py)."""
        with self.engine.begin() as conn:
            lock_provider(conn, provider)
            return hold_review.decide(conn, provider, decision, model_ids, by, reason, run_id, expected)

    # --- queries -----------------------------------------------------------------------

    def prices(
        self, provider: str | None = None, model_id: str | None = None, at: datetime | None = None,
        endpoints: bool = False,
    ) -> list[PublishedPrice]:
        """Live prices, or the prices that were live at instant ``at``; ``endpoints``: those of
        ``model_id``'s endpoints (pricing/endpoints.py) instead of the model's own."""
        if endpoints:
            model_id = endpoints_prefix(model_id)
        if at is None:
            table = model_prices
            query = select(table).where(table.c.removed_at.is_(None))
        else:
            table = price_history
            query = select(table).where(queries.live_at(table, at))
        if provider:
            query = query.where(table.c.provider == provider)
        if model_id:
            query = query.where(queries.model_is(table, model_id, endpoints))
        query = query.order_by(table.c.provider, table.c.model_id)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
            components = queries.live_components(conn, provider, model_id, at, endpoints)
        return [
            PublishedPrice(
                row_record(row, components.get((row["provider"], row["model_id"]), ())),
                row["valid_from"],
                row.get("valid_to"),
            )
            for row in rows
        ]

    def history(self, provider: str, model_id: str) -> list[PublishedPrice]:
        query = (
            select(price_history)
            .where(price_history.c.provider == provider, price_history.c.model_id == model_id)
            .order_by(price_history.c.valid_from, price_history.c.id)
        )
        components_query = select(price_components).where(
            price_components.c.provider == provider, price_components.c.model_id == model_id
        )
        with self.engine.connect() as conn:
            by_start: dict[datetime, list[PriceComponent]] = defaultdict(list)
            for row in conn.execute(components_query).mappings():
                by_start[row["valid_from"]].append(row_component(row))
            return [
                PublishedPrice(row_record(row, by_start.get(row["valid_from"], ())), row["valid_from"], row["valid_to"])
                for row in conn.execute(query).mappings()
            ]

    def changes(self, provider: str | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        query = select(price_changes).order_by(price_changes.c.changed_at, price_changes.c.id)
        if provider:
            query = query.where(price_changes.c.provider == provider)
        if since:
            query = query.where(price_changes.c.changed_at >= since)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def removed_models(self, provider: str) -> dict[str, datetime]:
        query = select(model_prices.c.model_id, model_prices.c.removed_at).where(
            model_prices.c.provider == provider, model_prices.c.removed_at.is_not(None)
        )
        with self.engine.connect() as conn:
            return {row.model_id: row.removed_at for row in conn.execute(query)}

    def dispose(self) -> None:
        self.engine.dispose()


def _now() -> datetime:
    return datetime.now(timezone.utc)
