"""What a publish reads of what is live: one pass over (model id, fingerprint) pairs against
the snapshot, whole records only of the models that may have changed or went away, and the
fingerprints to fill in."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, filterfalse
from operator import attrgetter

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from pricing_pipeline.pricing.diff import PriceChange, SnapshotDiff
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord
from pricing_pipeline.store import bulk
from pricing_pipeline.store.rows import row_component, row_record
from pricing_pipeline.store.schema import model_prices, price_changes, price_components, sync_log

_BY_MODEL_ID = attrgetter("model_id")


@dataclass(frozen=True)
class Comparison:
    """A snapshot against the live prices. A live model whose stored fingerprint equals its
    snapshot record's has those very prices, so nothing of it is read back or copied."""

    snapshot: dict[str, PriceRecord]  # by model id
    moved: list[PriceRecord]  # new, or live with another (or no) stored fingerprint
    new: Mapping[str, PriceRecord]  # snapshot records of models that are not live
    absent: list[str]  # live models the snapshot does not list
    gone: set[str]  # models with a removed row (they come back as an update, not an insert)
    stored: dict[str, PriceRecord]  # the published records of the moved live and the absent models

    @property
    def same_models(self) -> bool:
        """The snapshot lists exactly the live models."""
        return not self.new and not self.absent

    @property
    def published(self) -> Mapping[str, PriceRecord]:
        """Every live model's published record, as the price guard compares with the snapshot."""
        return _Published(self)

    def diff(self, withheld: Collection[str], keep: Collection[str]) -> tuple[SnapshotDiff, dict[str, str]]:
        """What publishing the snapshot without ``withheld`` changes (``keep``: live models not
        to remove), and the fingerprints to store for unchanged live rows whose stored one is
        missing or stale (written before migration 0004, or computed differently)."""
        added, changed, fill = [], [], {}
        for record in self.moved:
            model_id = record.model_id
            if model_id in withheld:
                continue
            before = self.stored.get(model_id)
            if before is None:
                added.append(PriceChange(model_id, "added", None, record))
            elif before.price_key() != record.price_key():  # a differing digest is only a candidate
                changed.append(PriceChange(model_id, "changed", before, record))
            else:
                fill[model_id] = record.price_fingerprint()
        removed = [PriceChange(m, "removed", self.stored[m], None) for m in sorted(self.absent) if m not in keep]
        return SnapshotDiff(sorted(added, key=_BY_MODEL_ID), sorted(changed, key=_BY_MODEL_ID), removed), fill

    def known(self, model_ids: Iterable[str]) -> set[str]:
        """Those of ``model_ids`` that have a row, live or removed."""
        return {
            m for m in model_ids if m in self.stored or m in self.gone or (m in self.snapshot and m not in self.new)
        }


class _Published(Mapping[str, PriceRecord]):
    """A read-only view, never a copy: the stored record of a model that may have moved or is
    absent, the snapshot's own record of every other live model."""

    __slots__ = ("_comparison",)

    def __init__(self, comparison: Comparison):
        self._comparison = comparison

    def __getitem__(self, model_id: str) -> PriceRecord:
        c = self._comparison
        record = c.stored.get(model_id)
        if record is None:
            if model_id in c.new:
                raise KeyError(model_id)
            record = c.snapshot[model_id]
        return record

    def __contains__(self, model_id: object) -> bool:
        c = self._comparison
        return model_id in c.stored or (model_id in c.snapshot and model_id not in c.new)

    def __iter__(self) -> Iterator[str]:
        c = self._comparison
        return chain(filterfalse(c.new.__contains__, c.snapshot), c.absent)

    def __len__(self) -> int:
        c = self._comparison
        return len(c.snapshot) - len(c.new) + len(c.absent)


def compare(conn: Connection, provider: str, records: Iterable[PriceRecord]) -> Comparison:
    """The snapshot against the live prices: one read of every row's fingerprint, then whole
    records of the moved and absent models only."""
    snapshot = {record.model_id: record for record in records}
    new = dict(snapshot)  # shrinks to the models no live row has
    differs: list[PriceRecord] = []
    absent: list[str] = []
    gone: set[str] = set()
    for model_id, fingerprint, is_live in _fingerprint_rows(conn, provider):
        if not is_live:
            gone.add(model_id)
            continue
        record = new.pop(model_id, None)
        if record is None:
            absent.append(model_id)
        elif fingerprint != record.price_fingerprint():
            differs.append(record)
    differs.sort(key=_BY_MODEL_ID)  # the table's order is no order
    new = dict(new)  # compact: the emptied table of a 100k-model snapshot is 5 MB
    stored = records_of(conn, provider, [*(r.model_id for r in differs), *absent])
    return Comparison(snapshot, [*new.values(), *differs], new, absent, gone, stored)


def live_fingerprints(conn: Connection, provider: str) -> tuple[dict[str, str | None], set[str]]:
    """The live models' stored price fingerprints, and the models with a removed row."""
    live: dict[str, str | None] = {}
    gone: set[str] = set()
    for model_id, fingerprint, is_live in _fingerprint_rows(conn, provider):
        if is_live:
            live[model_id] = fingerprint
        else:
            gone.add(model_id)
    return live, gone


def _fingerprint_rows(conn: Connection, provider: str) -> Iterator[tuple[str, str | None, bool]]:
    # The one read of every row: plain columns through the driver's cursor, row by row, no
    # per-row conversion (a third of an unchanged re-sync's time at 100k models otherwise).
    placeholder = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(
            f"SELECT model_id, price_fingerprint, removed_at IS NULL FROM {model_prices.name} WHERE provider = {placeholder}",
            (provider,),
        )
        yield from cursor
    finally:
        cursor.close()


def baseline_model_ids(conn: Connection, provider: str) -> set[str]:
    """The models live just before the provider's latest successful publish; the live ones
    when there was none."""
    last = conn.execute(
        select(func.max(sync_log.c.started_at)).where(sync_log.c.provider == provider, sync_log.c.status == "success")
    ).scalar()
    if last is not None:
        before = select(model_prices.c.model_id).where(
            model_prices.c.provider == provider,
            model_prices.c.first_seen_at < last,
            or_(model_prices.c.removed_at.is_(None), model_prices.c.removed_at >= last),
        )
        ids = set(conn.execute(before).scalars())
        if ids:
            return ids
    return live_model_ids(conn, provider)


def live_model_ids(conn: Connection, provider: str) -> set[str]:
    query = select(model_prices.c.model_id).where(model_prices.c.provider == provider, model_prices.c.removed_at.is_(None))
    return set(conn.execute(query).scalars())


def live_model_count(conn: Connection, provider: str) -> int:
    query = select(func.count()).where(model_prices.c.provider == provider, model_prices.c.removed_at.is_(None))
    return conn.execute(query).scalar_one()


def records_of(conn: Connection, provider: str, model_ids: Iterable[str]) -> dict[str, PriceRecord]:
    """The live records of these models, by id."""
    out: dict[str, PriceRecord] = {}
    for chunk in bulk.in_chunks(model_ids):
        rows = conn.execute(
            select(model_prices).where(model_prices.c.provider == provider, model_prices.c.model_id.in_(chunk))
        ).mappings()
        components: dict[str, list[PriceComponent]] = defaultdict(list)
        component_rows = conn.execute(
            select(price_components).where(
                price_components.c.provider == provider,
                price_components.c.model_id.in_(chunk),
                price_components.c.valid_to.is_(None),
            )
        ).mappings()
        for row in component_rows:
            components[row["model_id"]].append(row_component(row))
        for row in rows:
            out[row["model_id"]] = row_record(row, components.get(row["model_id"], ()))
    return out


def fill_fingerprints(conn: Connection, provider: str, fingerprints: Mapping[str, str]) -> None:
    bulk.update_rows(
        conn,
        model_prices,
        ("provider", "model_id"),
        ({"provider": provider, "model_id": m, "price_fingerprint": f} for m, f in fingerprints.items()),
    )


def changed_since(conn: Connection, provider: str, since) -> list[dict]:
    """The price changes (kind ``changed``: not additions or removals) published at or after
    ``since``: model id and time only (the change watcher's volatile endpoints)."""
    query = select(price_changes.c.model_id, price_changes.c.changed_at).where(
        price_changes.c.provider == provider, price_changes.c.kind == "changed", price_changes.c.changed_at >= since
    )
    return [dict(row) for row in conn.execute(query).mappings()]
