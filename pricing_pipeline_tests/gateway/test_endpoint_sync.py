"""Per-endpoint prices through the sync: two real consecutive days, a failing endpoint request
that loses nothing, one endpoint's jump held alone, and the 429 pause."""

from __future__ import annotations

import json
from decimal import Decimal

from pricing_dev.upstream_server import Route
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.providers import detail_fetch
from pricing_pipeline_tests.gateway.conftest import DAY1, DAY2, endpoint_body, serve_day, sync_day


def endpoints_of(store, model_id):
    return {m: r for m, r in store.published_records("openrouter").items() if m.startswith(model_id + "#")}


def test_the_next_day_publishes_its_endpoint_changes_and_holds_only_new_zero_prices(day1, upstream, monkeypatch):
    result = sync_day(day1, upstream, monkeypatch, DAY2)
    changed = {c.model_id for c in result.diff.changed}
    assert any(is_endpoint_id(m) for m in changed)  # endpoint prices move day over day
    held = result.verdict.held
    assert all(h.kind == "added" and "unmarked_free" in h.rules for h in held.values()), held
    # a model's endpoints at different prices are normal: nothing else is flagged
    assert not result.verdict.results["new_model_structure"] and not result.verdict.results["price_jump"]


def test_a_failing_endpoint_request_keeps_that_models_endpoints_and_is_counted(day1, upstream, monkeypatch):
    before = endpoints_of(day1, "deepseek/deepseek-r1")
    assert len(before) == 2  # Azure and Novita
    path = "/api/v1/models/deepseek/deepseek-r1/endpoints"
    asked_before = len(upstream.requests_to(path))
    serve_day(upstream, monkeypatch, DAY2)
    upstream.serve(path, "oops", status=500)  # a route wins over the tree
    result = sync_day(day1, upstream, monkeypatch, DAY2, run_id="day2")
    assert endpoints_of(day1, "deepseek/deepseek-r1") == before  # kept, not removed
    assert not any(c.model_id.startswith("deepseek/deepseek-r1#") for c in result.diff.changes)
    row = day1.sync_row("day2")
    assert row["status"] == "success" and row["endpoint_fetch_failures"] == 1
    assert "http_5xx" in row["endpoint_fetch_failed"]["deepseek/deepseek-r1"]
    # retried (a 5xx is transient) before giving up
    assert len(upstream.requests_to(path)) - asked_before == detail_fetch.DEFAULT_ATTEMPTS


def test_one_endpoints_jump_holds_that_endpoint_not_the_others(day1, upstream, monkeypatch):
    body = endpoint_body(DAY1, "openai/gpt-5.4")
    azure = next(e for e in body["data"]["endpoints"] if e["tag"] == "azure")
    azure["pricing"]["completion"] = format(Decimal(azure["pricing"]["completion"]) * 1000, "f")  # x1000
    serve_day(upstream, monkeypatch, DAY1)
    upstream.serve("/api/v1/models/openai/gpt-5.4/endpoints", json.dumps(body))
    result = sync_day(day1, upstream, monkeypatch, DAY1, run_id="jump")
    # (besides the new zero-priced models held since the first day: unmarked_free)
    assert {m for m, h in result.verdict.held.items() if "unmarked_free" not in h.rules} == {"openai/gpt-5.4#azure"}
    assert "price_jump" in result.verdict.held["openai/gpt-5.4#azure"].rules
    assert [h["model_id"] for h in day1.held("openrouter") if h["model_id"].startswith("openai/gpt-5.4")] == [
        "openai/gpt-5.4#azure"]
    live = endpoints_of(day1, "openai/gpt-5.4")
    assert live["openai/gpt-5.4#azure"].output_usd_per_mtok == Decimal("15")  # the published price stays


def test_a_429_pauses_the_whole_batch_for_its_retry_after(upstream):
    upstream.serve_sequence("/m/a/endpoints", [Route(429, b"{}", {"Retry-After": "1"}), Route(200, b'{"a": 1}')])
    for name in "bcd":
        upstream.serve(f"/m/{name}/endpoints", f'{{"{name}": 1}}')
    urls = {name: upstream.url(f"/m/{name}/endpoints") for name in "abcd"}
    fetched = detail_fetch.fetch_all("openrouter", urls, concurrency=2)
    assert fetched.failures == {} and fetched.rate_limited == 1
    assert {k: json.loads(v) for k, v in fetched.bodies.items()} == {n: {n: 1} for n in "abcd"}
    assert fetched.requests == 5 and fetched.max_in_flight <= 2


def test_a_request_that_keeps_failing_is_reported_and_the_rest_are_fetched(upstream):
    upstream.serve("/m/gone/endpoints", b'{"error": "no"}', status=404)
    upstream.serve("/m/ok/endpoints", b"{}")
    fetched = detail_fetch.fetch_all("openrouter", {m: upstream.url(f"/m/{m}/endpoints") for m in ("gone", "ok")})
    assert set(fetched.bodies) == {"ok"} and fetched.failures["gone"].startswith("http_4xx")
    assert len(upstream.requests_to("/m/gone/endpoints")) == 1  # a 404 is not retried
