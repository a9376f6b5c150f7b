"""The price book answers exactly what request_cost answers (the eight recordings published,
every resold model, four usage shapes, the errors), from memory, and follows publishes."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing_pipeline.gateway import pricebook
from pricing_pipeline.gateway.cost import request_cost
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import (
    CostError,
    NotListedAt,
    ServiceTierUnavailable,
    UnknownModel,
    Usage,
    VariablePricing,
)
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter

RESOLD = [p for p in PROVIDER_NAMES if not get_adapter(p).reference_catalog]
SHAPES = (
    Usage(input_tokens=12_345, output_tokens=678),
    Usage(input_tokens=300_000, output_tokens=2_000),
    Usage(input_tokens=50_000, cache_read_tokens=20_000, cache_write_tokens=5_000, output_tokens=1_000),
    Usage(input_tokens=1_000, output_tokens=5_000, reasoning_tokens=3_000, web_searches=2),
)
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LONG_WINDOW = timedelta(days=3650)


def answer(fn, *args, **kwargs):
    """A cost, or the error's type and message: two ways of asking must give the same."""
    try:
        return fn(*args, **kwargs)
    except CostError as error:
        return type(error), str(error)


@pytest.fixture
def memory_only(monkeypatch):
    """The book must answer from memory: its database fallback fails the test."""
    def no_database(*args, **kwargs):
        raise AssertionError("the price book fell back to the database")

    monkeypatch.setattr(pricebook, "request_cost", no_database)


@pytest.fixture
def all_published(store, payloads):
    for provider in PROVIDER_NAMES:
        store.publish(provider, get_adapter(provider).records(payloads.get(provider)), published_at=T0)
    return store


def test_the_book_equals_request_cost_on_every_resold_model(all_published, db_url, memory_only):
    book = PriceBook.load(db_url, history_window=LONG_WINDOW)
    at = T0 + timedelta(hours=1)
    compared = errors = 0
    for provider in RESOLD:
        for price in all_published.prices(provider=provider):
            model_id = price.record.model_id
            for usage in SHAPES:
                ours = answer(request_cost, provider, model_id, usage, at=at, store=all_published)
                assert answer(book.cost, provider, model_id, usage, at=at) == ours, (provider, model_id, usage)
                compared += 1
                errors += isinstance(ours, tuple)
    assert compared > 2000 and 0 < errors < compared / 2, (compared, errors)


def test_errors_are_the_same_error(store, db_url, payloads, memory_only):
    store.publish("openrouter", get_adapter("openrouter").records(payloads.get("openrouter")), published_at=T0)
    book = PriceBook.load(db_url, history_window=LONG_WINDOW)
    usage = Usage(input_tokens=1_000, output_tokens=100)
    cases = [
        ("openrouter", "no/such-model", T0 + timedelta(hours=1), "standard"),  # never listed
        ("openrouter", "anthropic/claude-sonnet-4.6", T0 - timedelta(hours=1), "standard"),  # before
        ("openrouter", "anthropic/claude-sonnet-4.6", T0 + timedelta(hours=1), "batch"),  # tier not offered
        ("openrouter", "anthropic/claude-sonnet-4.6", T0 + timedelta(hours=1), "turbo"),  # no such tier
        ("nope", "anthropic/claude-sonnet-4.6", T0 + timedelta(hours=1), "standard"),  # no such provider
    ]
    variable = next(r for r in get_adapter("openrouter").records(payloads.get("openrouter")) if r.variable_pricing)
    cases.append(("openrouter", variable.model_id, T0 + timedelta(hours=1), "standard"))
    kinds = set()
    for provider, model_id, at, tier in cases:
        ours = answer(request_cost, provider, model_id, usage, at=at, service_tier=tier, store=store)
        kinds.add(ours[0])
        assert answer(book.cost, provider, model_id, usage, at=at, service_tier=tier) == ours
    assert kinds == {UnknownModel, NotListedAt, ServiceTierUnavailable, VariablePricing}


def test_history_removals_and_the_window(store, db_url, payloads):
    payload = payloads.get("openrouter")
    store.publish("openrouter", get_adapter("openrouter").records(payload), published_at=T0)
    changed = copy.deepcopy(payload)
    model = next(m for m in changed["data"] if m["id"] == "openai/gpt-5.4-mini")
    model["pricing"]["prompt"] = "0.0000005"
    changed["data"] = [m for m in changed["data"] if m["id"] != "anthropic/claude-sonnet-4.6"]  # removed
    store.publish("openrouter", get_adapter("openrouter").records(changed), published_at=T1)
    book = PriceBook.load(db_url, history_window=LONG_WINDOW)
    usage = Usage(input_tokens=1_000_000, output_tokens=10)
    for model_id in ("openai/gpt-5.4-mini", "anthropic/claude-sonnet-4.6"):
        for at in (T0 - timedelta(seconds=1), T0, T1 - timedelta(seconds=1), T1, T1 + timedelta(days=2)):
            ours = answer(request_cost, "openrouter", model_id, usage, at=at, store=store)
            assert answer(book.cost, "openrouter", model_id, usage, at=at) == ours, (model_id, at)
    assert book.cost("openrouter", "openai/gpt-5.4-mini", usage, at=T1).lines[0].unit_price_usd == Decimal("0.5")
    with pytest.raises(NotListedAt, match="to 2026-12-01T12:00:00"):
        book.cost("openrouter", "anthropic/claude-sonnet-4.6", usage, at=T1)
    # A book holding only the recent past answers older instants from the database: the same.
    recent = PriceBook.load(db_url, history_window=timedelta(hours=1))
    assert recent.cost("openrouter", "openai/gpt-5.4-mini", usage, at=T0 + timedelta(hours=1)) == request_cost(
        "openrouter", "openai/gpt-5.4-mini", usage, at=T0 + timedelta(hours=1), store=store)


def test_a_publish_is_picked_up_and_swapped_under_readers(store, db_url, payloads):
    payload = payloads.get("openrouter")
    adapter = get_adapter("openrouter")
    store.publish("openrouter", adapter.records(payload))
    book = PriceBook.load(db_url, check_every=timedelta(0))
    usage = Usage(input_tokens=1_000_000)
    old = book.cost("openrouter", "openai/gpt-5.4-mini", usage).total_usd
    store.publish("openrouter", adapter.records(payload))  # unchanged: nothing to reload
    assert book.refresh() is False

    seen: set[Decimal] = set()
    failures: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.add(book.cost("openrouter", "openai/gpt-5.4-mini", usage).total_usd)
            except BaseException as error:  # noqa: BLE001 - any failure of a reader fails the test
                failures.append(error)
                return

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        next(m for m in payload["data"] if m["id"] == "openai/gpt-5.4-mini")["pricing"]["prompt"] = "0.0000005"
        store.publish("openrouter", adapter.records(payload))
        deadline = time.monotonic() + 20
        while Decimal("0.5") not in seen and time.monotonic() < deadline and not failures:
            time.sleep(0.01)  # the readers' own calls notice the publish and reload in the background
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not failures and seen == {old, Decimal("0.5")}, (failures, seen)
    assert book.refresh() is False


def test_a_failed_refresh_keeps_the_prices_it_has(tmp_path, payloads, caplog):
    from pricing_pipeline.store import PricingStore

    url = f"sqlite:///{tmp_path / 'pricing.db'}"
    store = PricingStore(url)
    store.migrate()
    store.publish("openrouter", get_adapter("openrouter").records(payloads.get("openrouter")))
    book = PriceBook.load(url, check_every=timedelta(0))
    usage = Usage(input_tokens=1_000_000)
    before = book.cost("openrouter", "openai/gpt-5.4-mini", usage).total_usd
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sync_log RENAME TO sync_log_gone")  # the generation query fails
    deadline = time.monotonic() + 20
    while not any("refresh failed" in r.message for r in caplog.records) and time.monotonic() < deadline:
        assert book.cost("openrouter", "openai/gpt-5.4-mini", usage).total_usd == before
        time.sleep(0.01)
    assert any("refresh failed" in r.message for r in caplog.records)
    store.dispose()


def test_an_accepted_hold_is_picked_up(store, db_url):
    """A person's accept of a held price publishes without a sync: the book follows it too."""
    from pricing_pipeline.pricing.guard_settings import GuardThresholds
    from pricing_pipeline.pricing.holds import reviewer
    from pricing_pipeline.pricing.records import PriceRecord
    from pricing_pipeline.store import holds

    def snapshot(output_price):
        return [PriceRecord("openrouter", f"m{i}", Decimal(1), Decimal(output_price if i == 0 else 2)) for i in range(12)]

    for records in (snapshot("2"), snapshot("200")):  # x100: m0 is held, its 2 stays live
        store.publish("openrouter", records, review=reviewer(records, GuardThresholds(), canonical=holds.canonical))
    book = PriceBook.load(db_url, check_every=timedelta(0))
    usage = Usage(output_tokens=1_000_000)
    assert book.cost("openrouter", "m0", usage).total_usd == 2
    store.decide_holds("openrouter", "accept", ["m0"], "jane", "real repricing")
    assert book.refresh() is True
    assert book.cost("openrouter", "m0", usage).total_usd == 200


def test_the_book_equals_request_cost_at_every_endpoint(store, db_url, memory_only):
    """Two days of recorded endpoint prices (issue 27): by tag, by the provider's name in any
    case, and an upstream the model has none at, before and after the second day's publish;
    each asked twice (the second answer is the one the book keeps)."""
    from pricing_dev.endpoint_recordings import DAYS, day_records
    from pricing_pipeline.pricing.cost import UnknownUpstream
    from pricing_pipeline.pricing.endpoints import endpoint_model
    from pricing_pipeline_tests.recordings import RECORDINGS_DIR, require_file

    require_file(RECORDINGS_DIR / "openrouter_endpoints" / DAYS[0] / "models.json")
    days = [day_records(day) for day in DAYS]
    for records, at in zip(days, (T0, T1)):
        store.publish("openrouter", records, published_at=at)
    book = PriceBook.load(db_url, history_window=LONG_WINDOW)
    usage = Usage(input_tokens=50_000, cache_read_tokens=20_000, output_tokens=1_000)
    endpoints = sorted({(endpoint_model(r.model_id), r.upstream_tag, r.upstream_provider)
                        for records in days for r in records if r.upstream_tag})
    kinds: dict[object, int] = {}
    for i, (model_id, tag, name) in enumerate(endpoints[::4]):
        for at in (T0 + timedelta(hours=1), T1 + timedelta(hours=1)):
            for upstream in (tag, name.upper() if i % 2 else name, "NoSuchCloud"):
                ours = answer(request_cost, "openrouter", model_id, usage, at=at, store=store,
                              upstream_provider=upstream)
                for _ in range(2):
                    theirs = answer(book.cost, "openrouter", model_id, usage, at=at, upstream_provider=upstream)
                    assert theirs == ours, (model_id, upstream, at)
                kind = ours[0] if isinstance(ours, tuple) else "billed"
                kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds.get("billed", 0) > 300 and kinds.get(UnknownUpstream, 0) > 200, kinds
