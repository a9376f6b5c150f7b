"""The pricing store on both backends: history, idempotence, removal, transactions."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.providers.modelsdev import ADAPTER as MODELSDEV
from pricing_pipeline.store import PricingStore, write
from pricing_pipeline.store.schema import model_prices, price_changes, price_history, sync_log
from pricing_pipeline_tests.recordings import recording

T0 = datetime(2026, 6, 9, 12, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(hours=6)
T2 = T1 + timedelta(hours=6)


def rec(model_id, input_price="1", output_price="2", **kw):
    return PriceRecord(
        "p", model_id, input_usd_per_mtok=Decimal(input_price), output_usd_per_mtok=Decimal(output_price), **kw
    )


def table_counts(store):
    with store.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in
                (model_prices, price_history, price_changes, sync_log)}


def test_prices_round_trip_exactly(store):
    tiny = rec("tiny", "0.0000001234567891", "123456.789", tiers=(PriceTier(200000, Decimal("2.5")),))
    store.publish("p", [tiny], run_id="r1", published_at=T0)
    [live] = store.prices("p")
    assert live.record.input_usd_per_mtok == Decimal("0.0000001234567891")
    assert live.record.output_usd_per_mtok == Decimal("123456.789")
    assert isinstance(live.record.input_usd_per_mtok, Decimal)
    assert live.record.tiers == (PriceTier(200000, Decimal("2.5")),)
    assert live.valid_from == T0


def test_resync_with_same_data_writes_only_the_sync_log(store):
    store.publish("p", [rec("a"), rec("b")], run_id="r1", published_at=T0)
    before = table_counts(store)
    result = store.publish("p", [rec("b"), rec("a")], run_id="r2", published_at=T1)
    assert not result.diff
    after = table_counts(store)
    assert after == {**before, "sync_log": before["sync_log"] + 1}
    assert {p.valid_from for p in store.prices("p")} == {T0}  # no timestamp touched


def test_history_answers_point_in_time_queries(store):
    store.publish("p", [rec("a", "1")], run_id="r1", published_at=T0)
    store.publish("p", [rec("a", "3")], run_id="r2", published_at=T1)
    assert store.prices("p", "a", at=T0 - timedelta(seconds=1)) == []
    assert store.prices("p", "a", at=T0)[0].record.input_usd_per_mtok == Decimal("1")
    assert store.prices("p", "a", at=T1 - timedelta(microseconds=1))[0].record.input_usd_per_mtok == Decimal("1")
    assert store.prices("p", "a", at=T1)[0].record.input_usd_per_mtok == Decimal("3")
    history = store.history("p", "a")
    assert [(h.valid_from, h.valid_to) for h in history] == [(T0, T1), (T1, None)]


def test_removed_models_are_marked_never_deleted_and_can_return(store):
    store.publish("p", [rec("a"), rec("b")], run_id="r1", published_at=T0)
    result = store.publish("p", [rec("a")], run_id="r2", published_at=T1)
    assert [c.model_id for c in result.diff.removed] == ["b"]
    assert [p.record.model_id for p in store.prices("p")] == ["a"]
    assert store.removed_models("p") == {"b": T1}
    assert [p.record.model_id for p in store.prices("p", at=T0)] == ["a", "b"]  # history kept
    assert [p.record.model_id for p in store.prices("p", at=T1)] == ["a"]
    store.publish("p", [rec("a"), rec("b", "5")], run_id="r3", published_at=T2)
    assert store.removed_models("p") == {}
    assert [(h.valid_from, h.valid_to) for h in store.history("p", "b")] == [(T0, T1), (T2, None)]
    kinds = [(c["model_id"], c["kind"]) for c in store.changes("p")]
    assert kinds == [("a", "added"), ("b", "added"), ("b", "removed"), ("b", "added")]


def test_change_log_keeps_before_and_after(store):
    store.publish("p", [rec("a", "1")], run_id="r1", published_at=T0)
    store.publish("p", [rec("a", "1.25")], run_id="r2", published_at=T1)
    change = store.changes("p", since=T1)[0]
    assert change["kind"] == "changed"
    assert change["before"]["input_usd_per_mtok"] == "1"
    assert change["after"]["input_usd_per_mtok"] == "1.25"
    assert change["run_id"] == "r2"


def test_sync_log_records_the_outcome(store):
    store.publish("p", [rec("a"), rec("b")], run_id="r1", published_at=T0)
    store.publish("p", [rec("a", "9")], run_id="r2", published_at=T1)
    row = store.sync_row("r2")
    assert (row["status"], row["models_fetched"], row["models_added"], row["models_changed"], row["models_removed"]) == (
        "success", 1, 0, 1, 1)
    assert row["finished_at"] >= row["started_at"]
    store.fail_sync("p", "r3", "http_5xx", "p: HTTP 500")
    assert store.sync_row("r3")["status"] == "failure"


def test_a_failure_mid_publish_leaves_nothing_half_written(store, monkeypatch):
    store.publish("p", [rec("a", "1"), rec("b", "1")], run_id="r1", published_at=T0)
    before = table_counts(store)
    original = write.apply_changes
    written = []

    def write_then_fail(conn, *args, **kwargs):
        original(conn, *args, **kwargs)
        written.append(conn.execute(sa.select(sa.func.count()).select_from(price_history)).scalar())
        raise RuntimeError("connection lost before the sync log update")

    monkeypatch.setattr(write, "apply_changes", write_then_fail)
    with pytest.raises(RuntimeError):
        store.publish("p", [rec("a", "2"), rec("b", "2"), rec("c"), rec("d")], run_id="r2", published_at=T1)
    assert written == [before["price_history"] + 4]  # the writes happened inside the transaction
    assert table_counts(store) == {**before, "sync_log": before["sync_log"] + 1}
    assert {p.record.input_usd_per_mtok for p in store.prices("p")} == {Decimal("1")}
    assert store.sync_row("r2")["status"] == "running"  # the failure hook marks it failed in a real run


def test_postgres_rejects_an_oversized_row_and_rolls_back_everything(postgres_url):
    store = PricingStore(postgres_url)
    store.migrate()
    store.publish("p", [rec("a", "1")], run_id="r1", published_at=T0)
    too_long = rec("x" * 500)  # model_id is VARCHAR(400): PostgreSQL raises mid-transaction
    with pytest.raises(sa.exc.DataError):
        store.publish("p", [rec("a", "2"), rec("b"), too_long], run_id="r2", published_at=T1)
    assert [(p.record.model_id, p.record.input_usd_per_mtok) for p in store.prices("p")] == [("a", Decimal("1"))]
    assert [c["run_id"] for c in store.changes("p")] == ["r1"]
    store.dispose()


def test_snapshot_of_another_provider_is_refused(store):
    with pytest.raises(ValueError):
        store.publish("q", [rec("a")], run_id="r1")


def test_migration_matches_the_table_definitions(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from pricing_pipeline.store.schema import metadata

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_modelsdev_day_over_day_yields_the_real_change_set(store):
    day1 = MODELSDEV.records(json.loads(recording("models_dev_api_2026-06-09.json").read_bytes()))
    day2 = MODELSDEV.records(json.loads(recording("models_dev_api_2026-06-10.json").read_bytes()))
    store.publish("modelsdev", day1, run_id="d1", published_at=T0)
    result = store.publish("modelsdev", day2, run_id="d2", published_at=T1)
    assert (len(result.diff.added), len(result.diff.changed), len(result.diff.removed)) == (16, 10, 28)
    changes = {c["model_id"]: c for c in store.changes("modelsdev", since=T1)}
    assert len(changes) == 54
    minimax = changes["openrouter/minimax/minimax-m2.5"]
    assert (minimax["before"]["output_usd_per_mtok"], minimax["after"]["output_usd_per_mtok"]) == ("1.15", "0.9")
    qwen = changes["alibaba/qwen3.7-plus"]
    assert [t["min_context_tokens"] for t in qwen["after"]["tiers"]] == [256000]
    # (a chat model: whisper, a transcription model, was never free at 0 per token)
    groq = changes["groq/groq/compound"]
    assert groq["before"]["input_usd_per_mtok"] == "0" and groq["after"]["input_usd_per_mtok"] is None
    # the groq model is still live, with an unknown (NULL) price, not a zero one
    [live] = store.prices("modelsdev", "groq/groq/compound")
    assert live.record.input_usd_per_mtok is None and live.valid_from == T1
    assert store.prices("modelsdev", "groq/groq/compound", at=T0)[0].record.input_usd_per_mtok == Decimal(0)


def test_raw_snapshots_are_archived_once_per_distinct_body(store):
    body = b'{"data": [{"id": "a"}]}'
    first_id, stored = store.archive_raw_snapshot("p", "http://x/models", body, T0, run_id="r1")
    assert stored
    assert store.archive_raw_snapshot("p", "http://x/models", body, T1, run_id="r2") == (first_id, False)
    second_id, stored = store.archive_raw_snapshot("p", "http://x/models", body + b" ", T2, run_id="r3")
    assert stored and second_id != first_id
    assert store.raw_snapshot_body(first_id) == body
    rows = store.raw_snapshots("p")
    assert [(r["first_run_id"], r["size_bytes"], r["first_fetched_at"]) for r in rows] == [
        ("r1", len(body), T0), ("r3", len(body) + 1, T2)]


def _migrate_and_publish(url: str, worker: int) -> str:
    store = PricingStore(url)
    try:
        store.migrate()
        store.publish("p", [rec("a", str(worker)), rec(f"only-{worker}")], run_id=f"w{worker}")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported back to the test
        return f"{type(exc).__name__}: {exc}"
    finally:
        store.dispose()


def test_runs_starting_together_on_a_fresh_database_migrate_and_publish_one_after_another(db_url):
    """The schedule starts every provider at once; each run migrates on first use."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(_migrate_and_publish, [db_url] * 6, range(6)))
    assert outcomes == ["ok"] * 6
    store = PricingStore(db_url)
    # serialized publishes: each saw the previous one, so exactly one "only-*" model is live
    # and the history of "a" is one unbroken chain
    live = [p.record.model_id for p in store.prices("p")]
    assert len(live) == 2 and "a" in live
    history = store.history("p", "a")
    assert [h.valid_to for h in history[:-1]] == [h.valid_from for h in history[1:]]
    assert len(store.changes("p")) == 2 + 5 * 3  # first: 2 added; then each: a changed, one added, one removed
    store.dispose()


def test_a_current_schema_is_recognised_without_alembic(store):
    from alembic.script import ScriptDirectory

    from pricing_pipeline.store import migrations

    assert migrations.head_revision() == ScriptDirectory.from_config(migrations.alembic_config(store.engine)).get_current_head()
    assert migrations.current_revision(store.engine) == migrations.head_revision()
