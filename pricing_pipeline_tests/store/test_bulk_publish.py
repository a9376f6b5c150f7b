"""The publish's bulk path on both backends: the diff from fingerprints is the diff of whole
records, the number of statements does not grow with the number of models, rows written
before fingerprints existed are compared in full once, and the price guard's review shares
the diff's one read of the moved models."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricing_pipeline.pricing.diff import diff_snapshot
from pricing_pipeline.pricing.holds import Verdict
from pricing_pipeline.pricing.records import PriceComponent, PriceRecord, PriceTier
from pricing_pipeline.store import database
from pricing_pipeline.store.schema import model_prices

T0 = datetime(2026, 6, 9, 12, 0, tzinfo=timezone.utc)


def catalog(models: int, changed: int = 0, removed: int = 0) -> list[PriceRecord]:
    out = []
    for i in range(removed, models):
        output = Decimal("2.5") if i < changed else Decimal("2")
        out.append(PriceRecord(
            "p", f"m{i:05d}", input_usd_per_mtok=Decimal("1"), output_usd_per_mtok=output,
            tiers=(PriceTier(200_000, input_usd_per_mtok=Decimal("2")),) if i % 3 == 0 else (),
            extra_components=(PriceComponent("web_search", "usd_per_search", Decimal("0.01")),) if i % 5 == 0 else (),
            raw={"prompt": "0.000001", "i": i},
        ))
    return out


def statements_during(store, publish) -> int:
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    sa.event.listen(store.engine, "before_cursor_execute", counted)
    try:
        publish()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", counted)
    return count


def test_the_diff_is_the_diff_of_whole_records(store):
    store.publish("p", catalog(300), run_id="r1", published_at=T0)
    before = store.published_records("p")
    snapshot = catalog(320, changed=40, removed=10) + [
        PriceRecord("p", "m00052", input_usd_per_mtok=Decimal("1.0"), output_usd_per_mtok=Decimal("2.00"))
    ]
    snapshot = [r for r in snapshot if not (r.model_id == "m00052" and r.raw)]  # same prices, other notation
    expected = diff_snapshot(before, snapshot)
    result = store.publish("p", snapshot, run_id="r2", published_at=T0 + timedelta(hours=6))
    assert [(c.model_id, c.kind) for c in result.diff.changes] == [(c.model_id, c.kind) for c in expected.changes]
    assert [c.before for c in result.diff.changes] == [c.before for c in expected.changes]
    assert len(result.diff.added) == 20 and len(result.diff.removed) == 10 and len(result.diff.changed) == 30
    assert store.published_records("p") == {r.model_id: r for r in snapshot}


def test_statements_do_not_grow_with_the_models(store):
    def publish_all(models, changed):
        store.publish("p", catalog(models), run_id=f"a{models}", published_at=T0)
        first = statements_during(store, lambda: None)
        resync = catalog(models, changed=changed, removed=changed)
        return first, statements_during(
            store, lambda: store.publish("p", resync, run_id=f"b{models}", published_at=T0 + timedelta(hours=1))
        )

    small = publish_all(20, 2)
    store.engine.dispose()
    with store.engine.begin() as conn:
        for table in ("price_changes", "price_components", "price_history", "model_prices", "sync_log"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    large = publish_all(2000, 200)
    assert large == small


def test_rows_from_before_fingerprints_are_compared_once_and_filled_in(store):
    store.publish("p", catalog(30), run_id="r1", published_at=T0)
    with store.engine.begin() as conn:
        conn.execute(sa.update(model_prices).values(price_fingerprint=None))
    result = store.publish("p", catalog(30, changed=3), run_id="r2", published_at=T0 + timedelta(hours=1))
    assert [c.model_id for c in result.diff.changed] == ["m00000", "m00001", "m00002"]
    with store.engine.connect() as conn:
        fingerprints = dict(conn.execute(sa.select(model_prices.c.model_id, model_prices.c.price_fingerprint)).all())
    assert fingerprints == {r.model_id: r.price_fingerprint() for r in catalog(30, changed=3)}
    assert not store.publish("p", catalog(30, changed=3), run_id="r3", published_at=T0 + timedelta(hours=2)).diff


def test_equal_fingerprints_mean_equal_price_keys():
    a = PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(1000, Decimal("3")),))
    same = PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(1000, Decimal("3")),), raw={"x": 1})
    assert a.price_fingerprint() == same.price_fingerprint()
    for other in (
        PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.51"), tiers=(PriceTier(1000, Decimal("3")),)),
        PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(2000, Decimal("3")),)),
        PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(1000, Decimal("3")),), model_type="chat"),
        PriceRecord("p", "m", output_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(1000, Decimal("3")),)),
        PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.5"), tiers=(PriceTier(1000, Decimal("3")),),
                    extra_components=(PriceComponent("web_search", "usd_per_search", Decimal("0.01")),)),
    ):
        assert other.price_key() != a.price_key() and other.price_fingerprint() != a.price_fingerprint()
    # Another notation of the same prices may get another digest: only a candidate, which the
    # store confirms against the published record (test_the_diff_is_the_diff_of_whole_records).
    notation = PriceRecord("p", "m", input_usd_per_mtok=Decimal("1.50"), tiers=(PriceTier(1000, Decimal("3.0")),))
    assert notation.price_key() == a.price_key()


def test_published_against_a_snapshot_reads_back_only_what_may_have_changed(store):
    store.publish("p", catalog(300), run_id="r1", published_at=T0)
    stored = store.published_records("p")
    snapshot = catalog(320, changed=40, removed=10)
    reads = statements_during(store, lambda: store.published_against("p", snapshot))
    published = store.published_against("p", snapshot)
    by_id = {r.model_id: r for r in snapshot}
    assert set(published) == set(stored)  # every live model, the removed ones too
    assert published == stored  # the same prices as a whole read
    unchanged = [m for m in published if m in by_id and by_id[m].price_key() == stored[m].price_key()]
    assert len(unchanged) == 300 - 40 and all(published[m] is by_id[m] for m in unchanged)
    assert all(published[m] is not by_id.get(m) for m in set(published) - set(unchanged))
    assert reads <= 4  # the fingerprints, then the few changed models' rows and components


def test_a_reviewed_publish_reads_the_moved_models_back_once_and_reviews_only_them(store):
    store.publish("p", catalog(300), run_id="r1", published_at=T0)
    before = store.published_records("p")
    snapshot = catalog(320, changed=40, removed=10)
    seen = {}

    def review(published, standing, baseline, moved):
        seen.update(published=dict(published), moved=[r.model_id for r in moved], baseline=baseline)
        return Verdict({})

    statements = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    result = store.publish("p", snapshot, run_id="r2", published_at=T0 + timedelta(hours=1), review=review)
    changed = [f"m{i:05d}" for i in range(10, 40)]
    assert seen["moved"] == [f"m{i:05d}" for i in range(300, 320)] + changed  # new, then changed; not the 260 others
    assert seen["published"] == before  # every live model, the 10 the snapshot drops too
    assert seen["baseline"] == {f"m{i:05d}" for i in range(300)}  # it adds and drops models
    assert [c.model_id for c in result.diff.changed] == changed and len(result.diff.removed) == 10
    assert sum("FROM price_components" in s for s in statements) == 1  # the guard and the diff share one read


def test_a_bulk_publish_leaves_the_planner_statistics_current(store, monkeypatch):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's planner uses the indexes without statistics")

    def estimated_rows():
        with store.engine.connect() as conn:
            return conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'model_prices'")).scalar_one()

    monkeypatch.setattr(database, "ANALYZE_AFTER_CHANGES", 100)
    store.publish("p", catalog(99), run_id="r1", published_at=T0)
    assert estimated_rows() <= 0  # never analyzed: the planner guesses from the table's size
    store.publish("p", catalog(250), run_id="r2", published_at=T0 + timedelta(hours=1))  # 151 added
    assert estimated_rows() == 250
