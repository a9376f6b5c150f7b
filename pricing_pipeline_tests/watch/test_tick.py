"""One provider's watcher tick: unchanged, 304, changed, budget, errors, held changes, and the
volatile endpoints of OpenRouter."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from pricing_pipeline_tests.recordings import REPLAY_DETAILS
from pricing_pipeline_tests.watch.conftest import endpoints_body, together_body

MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def live_price(watcher, provider, model_id, name="input_usd_per_mtok"):
    return getattr(watcher.store.published_records(provider)[model_id], name)


def test_an_unchanged_list_is_verified_and_launches_nothing(watcher):
    watcher.sync("together")
    first = watcher.tick("together")
    second = watcher.tick("together")
    assert (first.outcome, second.outcome) == ("unchanged", "unchanged")
    assert first.run_request is None and second.run_request is None
    state = watcher.state("together")
    assert state.polls == {"unchanged": 2, "changed": 0, "error": 0}
    assert state.requests_total == 2 and state.verified_at is not None


def test_a_304_is_honoured(watcher, replay):
    replay.serve("/together", together_body(), headers={"Content-Type": "application/json", "ETag": '"v1"'})
    watcher.sync("together")
    first = watcher.tick("together")  # no validators yet: the whole body, its ETag kept
    second = watcher.tick("together")
    sent = [r.headers.get("If-None-Match") for r in replay.requests_to("/together")]
    assert sent[-2:] == [None, '"v1"']
    assert "304 Not Modified" in second.message and second.outcome == "unchanged" and second.run_request is None
    assert first.outcome == "unchanged"
    # a new ETag with the same prices: read whole, still unchanged (content, not bytes, decides)
    replay.serve("/together", together_body(), headers={"Content-Type": "application/json", "ETag": '"v2"'})
    third = watcher.tick("together")
    assert third.outcome == "unchanged" and "304" not in third.message


def test_a_changed_price_asks_for_one_run_that_publishes_it(watcher, replay):
    watcher.sync("together")
    old = live_price(watcher, "together", MODEL)
    replay.serve("/together", together_body({MODEL: {"input": 0.99}}))
    seen = watcher.tick("together", now=time.time())
    assert seen.outcome == "changed" and seen.run_request is not None
    request = seen.run_request
    assert request.partition_key == "together" and request.tags["pricing/trigger"] == "watch"
    again = watcher.tick("together")  # before the run: the same change, the same run key
    assert again.run_request.run_key == request.run_key
    assert watcher.state("together").requests_total == 2 + 1  # two polls, and the run's list request reserved once
    watcher.launch(request)
    assert live_price(watcher, "together", MODEL) == Decimal("0.99") != old
    after = watcher.tick("together")
    assert after.outcome == "unchanged" and after.run_request is None
    state = watcher.state("together")
    assert state.pending is None and sum(state.lag_counts) == 1  # change-to-live observed once


def test_the_budget_is_never_exceeded(watcher, replay, monkeypatch):
    from pricing_pipeline.settings import settings

    monkeypatch.setenv("PRICING_WATCH_MAX_REQUESTS_PER_HOUR", "3")
    settings.cache_clear()
    watcher.sync("together")
    synced = len(replay.requests_to("/together"))
    now = time.time()
    results = [watcher.tick("together", now=now + i) for i in range(6)]
    assert len(replay.requests_to("/together")) - synced == 3
    assert [r.outcome for r in results] == ["unchanged"] * 3 + [None] * 3
    assert all("skipped" in r.message for r in results[3:])
    state = watcher.state("together")
    assert state.skipped_total == 3 and state.requests_total == 3
    # an hour later the budget is there again
    assert watcher.tick("together", now=now + 3601).outcome == "unchanged"


def test_a_change_the_budget_cannot_pay_for_waits(watcher, replay, monkeypatch):
    from pricing_pipeline.settings import settings

    monkeypatch.setenv("PRICING_WATCH_MAX_REQUESTS_PER_HOUR", "1")
    settings.cache_clear()
    watcher.sync("together")
    replay.serve("/together", together_body({MODEL: {"input": 0.99}}))
    result = watcher.tick("together")
    assert result.outcome == "changed" and result.run_request is None and "budget" in result.message


def test_an_upstream_error_is_counted_and_not_verified(watcher, replay):
    watcher.sync("together")
    replay.serve("/together", b"oops", status=503)
    result = watcher.tick("together")
    assert result.outcome == "error" and result.run_request is None and "http_5xx" in result.message
    state = watcher.state("together")
    assert state.polls["error"] == 1 and state.verified_at is None


def test_a_change_the_guard_flags_is_held_and_not_asked_for_again(watcher, replay):
    watcher.sync("together")
    old = live_price(watcher, "together", MODEL)
    replay.serve("/together", together_body({MODEL: {"input": float(old) * 1000}}))
    request = watcher.tick("together").run_request
    watcher.launch(request)
    assert live_price(watcher, "together", MODEL) == old  # held: the published price stays
    assert MODEL in {row["model_id"] for row in watcher.store.held("together")}
    after = watcher.tick("together")
    assert after.outcome == "unchanged" and after.run_request is None


def test_a_volatile_endpoint_is_polled_and_only_its_model_fetched(watcher, replay):
    model = "deepseek/deepseek-r1"
    folder, _ = REPLAY_DETAILS["openrouter"]
    tag = json.loads((folder / f"{model}.json").read_bytes())["data"]["endpoints"][0]["tag"]
    path = f"/openrouter/{model}/endpoints"
    watcher.sync("openrouter")
    replay.serve(path, endpoints_body(model, tag, "0.0000011"))
    watcher.sync("openrouter")  # a published endpoint change: the model is volatile now
    assert live_price(watcher, "openrouter", f"{model}#{tag}") == Decimal("1.1")
    replay.serve(path, endpoints_body(model, tag, "0.0000012"))
    requests_before = len(replay.requests)
    result = watcher.tick("openrouter")
    assert result.outcome == "changed" and json.loads(result.run_request.tags["pricing/detail_models"]) == [model]
    assert len(replay.requests) - requests_before == 2  # the list and the one volatile model
    watcher.launch(result.run_request)
    fetched = [r.path for r in replay.requests[requests_before + 2:]]
    assert fetched == ["/openrouter", path]  # the run: the list and that model's endpoints only
    assert live_price(watcher, "openrouter", f"{model}#{tag}") == Decimal("1.2")
    records = watcher.store.published_records("openrouter")
    assert sum("#" in m for m in records) > 300  # every other endpoint kept
    assert watcher.tick("openrouter").outcome == "unchanged"


def test_a_poll_that_finds_upstream_as_published_keeps_the_provider_fresh(watcher, replay):
    from datetime import datetime, timedelta, timezone

    from pricing_pipeline.defs.sync.freshness import ProviderFreshness
    from pricing_pipeline.defs.sync.resources import PricingDatabase

    watcher.sync("together")
    db = PricingDatabase(url=str(watcher.store.engine.url))
    seven_hours_on = datetime.now(timezone.utc) + timedelta(hours=7)
    unwatched = ProviderFreshness.read(watcher.instance, db, "together", seven_hours_on)
    assert unwatched.state == "stale" and unwatched.verified is None
    watcher.tick("together", now=(seven_hours_on - timedelta(minutes=5)).timestamp())
    watched = ProviderFreshness.read(watcher.instance, db, "together", seven_hours_on)
    assert watched.state == "fresh" and round(watched.age.total_seconds()) == 300
    assert "verified current by the change watcher" in watched.description()
    assert "(5 min ago)" in watched.description()
    # a poll that finds upstream changed verifies nothing: the age goes on from the last verification
    replay.serve("/together", together_body({MODEL: {"input": 0.5}}))
    assert watcher.tick("together", now=(seven_hours_on + timedelta(hours=6)).timestamp()).outcome == "changed"
    later = ProviderFreshness.read(watcher.instance, db, "together", seven_hours_on + timedelta(hours=6, minutes=5))
    assert later.state == "stale" and later.verified == watched.verified


def test_the_watch_metrics(watcher, replay, monkeypatch):
    from prometheus_client import generate_latest

    from pricing_pipeline.defs.metrics.derivation import collect_state
    from pricing_pipeline.defs.metrics.exposition import state_registry
    from pricing_pipeline.settings import settings

    monkeypatch.setenv("PRICING_WATCH_ENABLED", "true")
    settings.cache_clear()
    watcher.sync("together")
    watcher.tick("together")
    replay.serve("/together", b"oops", status=500)
    watcher.tick("together")
    replay.serve("/together", together_body({MODEL: {"input": 0.5}}))
    watcher.launch(watcher.tick("together").run_request)
    watcher.tick("together")
    text = generate_latest(state_registry(collect_state(watcher.instance, write_back=False))).decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    polls = 'pricing_watch_polls_total{outcome="%s",provider="together"}'
    assert [float(samples[polls % o]) for o in ("unchanged", "changed", "error")] == [2, 1, 1]
    assert float(samples['pricing_watch_polls_total{outcome="unchanged",provider="novita"}']) == 0
    assert float(samples['pricing_change_to_live_seconds_count{provider="together"}']) == 1
    assert float(samples['pricing_watch_requests_total{provider="together"}']) == 5  # 4 polls and the run's list
    assert float(samples['pricing_watch_interval_seconds{provider="together"}']) == 300
    verified = float(samples['pricing_upstream_verified_timestamp_seconds{provider="together"}'])
    assert verified == watcher.state("together").verified_at


def test_a_change_whose_run_failed_is_asked_for_again(watcher, replay):
    watcher.sync("together")
    changed = together_body({MODEL: {"input": 0.99}})
    replay.serve("/together", changed)
    first = watcher.tick("together").run_request
    replay.serve("/together", b"down", status=503)
    failed = watcher.job.execute_in_process(partition_key="together", tags=first.tags, instance=watcher.instance,
                                            raise_on_error=False)
    assert not failed.success
    # the daemon tags the run it launches with its key; execute_in_process does not
    watcher.instance.add_run_tags(failed.run_id, {"dagster/run_key": first.run_key})
    replay.serve("/together", changed)
    second = watcher.tick("together").run_request
    assert second.run_key == f"{first.run_key}-retry1"
    watcher.launch(second)
    assert live_price(watcher, "together", MODEL) == Decimal("0.99")


def test_a_first_sync_asked_for_by_the_watcher_reads_what_the_budget_allows(watcher, replay):
    from pricing_pipeline.defs.upstream_state import scope_models
    from pricing_pipeline.pricing.endpoints import endpoint_model

    request = watcher.tick("openrouter").run_request  # nothing published: every model moved
    tag = request.tags["pricing/detail_models"]
    assert tag.startswith("stored:")  # too long for a run tag (PostgreSQL's run-tag index)
    scope = scope_models(watcher.instance, tag)
    state = watcher.state("openrouter")
    assert len(scope) == 240 - (12 + 6) and state.requests_total == 1 + 1 + len(scope)
    endpoint_requests = len([r for r in replay.requests if r.path.endswith("/endpoints")])
    watcher.launch(request)
    fetched = {r.path for r in replay.requests if r.path.endswith("/endpoints")}
    assert len(replay.requests) - 2 - endpoint_requests <= len(scope) == len(fetched)
    published = {endpoint_model(m) for m in watcher.store.published_records("openrouter") if "#" in m}
    assert published <= set(scope) and len(published) > 200
