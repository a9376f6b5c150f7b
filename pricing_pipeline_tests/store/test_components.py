"""Price components in the pricing database, on both backends: time-of-day windows published
and queried at instants, a real day-over-day change of a component, and the migration that
carries existing prices and history over."""

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from pricing_pipeline.pricing.records import TimeWindow
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import PricingStore, migrations
from pricing_pipeline.store.schema import price_components
from pricing_pipeline_tests.recordings import recording

T0 = datetime(2026, 8, 14, 12, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(hours=6)

# DeepSeek's off-peak hours as OpenRouter sends them: HHMM integers, one window wrapping midnight.
WINDOWS = [
    {"utc_start": 1630, "utc_end": 30, "prompt": "0.00000007", "completion": "0.00000028"},
    {"utc_start": 30, "utc_end": 1000, "prompt": "0.00000014", "completion": "0.00000056"},
    {"utc_start": 1000, "utc_end": 100, "prompt": "0.00000021", "completion": "0.00000084"},
    {"utc_start": 100, "utc_end": 1630, "prompt": "0.00000028", "completion": "0.00000112"},
]


def openrouter_with_windows():
    """The real 08-01 response with time-of-day overrides on two DeepSeek models, in the
    shape of the mid-August response (no min_prompt_tokens)."""
    payload = json.loads(recording("openrouter_api_v1_models_2026-08-01.json").read_bytes())
    windowed = [m for m in payload["data"] if m["id"] in ("deepseek/deepseek-v3.2", "deepseek/deepseek-chat")]
    assert len(windowed) == 2
    for model in windowed:
        model["pricing"]["overrides"] = copy.deepcopy(WINDOWS)
    return payload


def test_openrouter_time_of_day_windows_publish_and_apply_at_their_instants(store):
    snapshot = get_adapter("openrouter").parse(openrouter_with_windows())
    assert snapshot.quarantined == {} and snapshot.unknown_keys == {}
    store.publish("openrouter", snapshot.records, run_id="r1", published_at=T0)
    [live] = store.prices("openrouter", "deepseek/deepseek-v3.2")
    windows = {c.window: c.usd for c in live.record.components() if c.window and c.component == "input"}
    assert windows == {
        TimeWindow(16 * 60 + 30, 30): Decimal("0.07"),
        TimeWindow(30, 10 * 60): Decimal("0.14"),
        TimeWindow(10 * 60, 60): Decimal("0.21"),
        TimeWindow(60, 16 * 60 + 30): Decimal("0.28"),
    }
    [evening] = [c for c in live.record.components() if c.window == TimeWindow(16 * 60 + 30, 30) and c.component == "input"]
    assert evening.to_json()["window_utc"] == {"start": "16:30", "end": "00:30", "weekdays": None}
    assert evening.window.contains(datetime(2026, 8, 14, 23, 59, tzinfo=timezone.utc))
    assert evening.window.contains(datetime(2026, 8, 15, 0, 15, tzinfo=timezone.utc))
    assert not evening.window.contains(datetime(2026, 8, 15, 0, 30, tzinfo=timezone.utc))
    # The long-form table answers "component C of model M at instant T" directly.
    query = sa.select(price_components.c.usd).where(
        price_components.c.provider == "openrouter",
        price_components.c.model_id == "deepseek/deepseek-v3.2",
        price_components.c.component == "output",
        price_components.c.window_start_minute == 16 * 60 + 30,
        price_components.c.valid_from <= T0,
        sa.or_(price_components.c.valid_to.is_(None), price_components.c.valid_to > T0),
    )
    with store.engine.connect() as conn:
        assert [Decimal(v) for v in conn.execute(query).scalars()] == [Decimal("0.28")]
    # Unchanged re-sync: nothing written (the windows round-trip exactly).
    again = store.publish("openrouter", get_adapter("openrouter").parse(openrouter_with_windows()).records, run_id="r2", published_at=T1)
    assert not again.diff


def test_chutes_cache_read_cut_is_published_as_a_change_with_history(store):
    chutes = get_adapter("chutes")
    day1 = chutes.parse(json.loads(recording("chutes_v1_models_2026-08-03.json").read_bytes()))
    day2 = chutes.parse(json.loads(recording("chutes_v1_models_2026-08-04.json").read_bytes()))
    store.publish("chutes", day1.records, run_id="d1", published_at=T0)
    result = store.publish("chutes", day2.records, run_id="d2", published_at=T1)
    assert len(result.diff.changed) == 13 and not result.diff.added and not result.diff.removed
    [change] = [c for c in store.changes("chutes") if c["kind"] == "changed" and c["model_id"] == "Qwen/Qwen3-32B-TEE"]
    cache = lambda record: next(c["usd"] for c in record["components"] if c["component"] == "cache_read")  # noqa: E731
    assert (cache(change["before"]), cache(change["after"])) == ("0.052", "0.0104")
    [before] = store.prices("chutes", "Qwen/Qwen3-32B-TEE", at=T0 + timedelta(hours=1))
    [after] = store.prices("chutes", "Qwen/Qwen3-32B-TEE", at=T1 + timedelta(hours=1))
    assert (before.record.cache_read_usd_per_mtok, after.record.cache_read_usd_per_mtok) == (Decimal("0.052"), Decimal("0.0104"))
    history = store.history("chutes", "Qwen/Qwen3-32B-TEE")
    assert [h.record.cache_read_usd_per_mtok for h in history] == [Decimal("0.052"), Decimal("0.0104")]


def test_migration_carries_prices_and_history_into_components(db_url):
    engine = sa.create_engine(db_url)
    migrations.upgrade(engine, "0002")
    tiers = [{"min_context_tokens": 200000, "input_usd_per_mtok": "6", "output_usd_per_mtok": "22.5",
              "cache_read_usd_per_mtok": None, "cache_write_usd_per_mtok": None}]
    with engine.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        sync = conn.execute(sa.insert(meta.tables["sync_log"]).values(
            provider="p", run_id="old", started_at=T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0,
            status="success")).inserted_primary_key[0]
        at = (lambda t: t.replace(tzinfo=None)) if engine.dialect.name == "sqlite" else (lambda t: t)
        row = {"provider": "p", "model_id": "m", "output_usd_per_mtok": "15", "request_usd": None, "image_usd": None,
               "cache_read_usd_per_mtok": "0.3", "cache_write_usd_per_mtok": None, "variable_pricing": False,
               "upstream_provider": None, "upstream_model_id": None, "raw_pricing": None}
        history = meta.tables["price_history"]
        conn.execute(sa.insert(history), [
            {**row, "input_usd_per_mtok": "3", "tiers": tiers, "valid_from": at(T0), "valid_to": at(T1), "sync_id": sync},
            {**row, "input_usd_per_mtok": "2.5", "tiers": tiers, "valid_from": at(T1), "valid_to": None, "sync_id": sync},
        ])
        conn.execute(sa.insert(meta.tables["model_prices"]).values(
            **row, input_usd_per_mtok="2.5", tiers=tiers, valid_from=at(T1), first_seen_at=at(T0)))
    engine.dispose()

    store = PricingStore(db_url)
    store.migrate()
    [live] = store.prices("p")
    assert (live.record.input_usd_per_mtok, live.record.output_usd_per_mtok) == (Decimal("2.5"), Decimal(15))
    assert live.record.tiers[0].output_usd_per_mtok == Decimal("22.5")
    [old] = store.prices("p", at=T0 + timedelta(hours=1))
    assert old.record.input_usd_per_mtok == Decimal(3) and old.valid_to == T1
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(price_components)).scalar() == 2 * 5
    # Carried-over prices equal what a new snapshot with the same prices is: no spurious change.
    assert not store.publish("p", [live.record], run_id="new").diff
    store.dispose()
