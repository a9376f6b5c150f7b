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
