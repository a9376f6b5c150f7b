"""Bad upstream input: a clear error naming provider and cause, only that provider's run
fails, and the published prices stay exactly as they were."""

import json
import socket
import time

import pytest

from pricing_dev.upstream_server import Route
from pricing_pipeline.definitions import build_definitions
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi
from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline_tests.published_state import db_state
from pricing_pipeline_tests.recordings import REPLAY_FILES

PROVIDER = "deepinfra"
PATH = f"/{PROVIDER}"
MAX_BYTES = 1_000_000


@pytest.fixture
def sync_defs(db_url):
    """Short timeouts and a small size cap, so the failure cases are quick."""
    return build_definitions(
        {
            "pricing_db": PricingDatabase(url=db_url),
            "upstream": UpstreamApi(timeout_seconds=0.5, connect_timeout_seconds=0.5, max_response_bytes=MAX_BYTES),
        }
    )


@pytest.fixture
def published(replay, run_sync, store):
    """deepinfra published once from its recording; returns everything published for it."""
    assert run_sync(PROVIDER).success
    return db_state(store, PROVIDER)


def recorded_payload():
    return json.loads(REPLAY_FILES[PROVIDER].read_bytes())


def failure_message(result) -> str:
    [failure] = result.get_step_failure_events()
    return failure.event_specific_data.error.to_string()  # with its cause chain, as the UI shows it


def assert_failed_cleanly(result, store, before, error_type, cause):
    assert not result.success
    message = failure_message(result)
    assert PROVIDER in message and cause in message, message
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("failure", error_type)
    assert cause in row["error"]
    assert db_state(store, PROVIDER) == before


def with_duplicate(payload):
    payload["data"].append(payload["data"][0])
    return json.dumps(payload)


BAD_BODIES = {
    "html": ("<html><body>502 Bad Gateway</body></html>", "invalid_response", "not JSON"),
    "truncated_json": ('{"object": "list", "data": [{"id": "a"', "invalid_response", "not JSON"),
    "missing_data_key": ('{"object": "list", "models": []}', "invalid_response", "no 'data' key"),
    "duplicate_ids": (with_duplicate, "invalid_response", "duplicate model ids"),
    "oversized": ("[" + " " * (MAX_BYTES + 10) + "]", "invalid_response", "byte cap"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_payload_fails_without_retry_and_publishes_nothing(case, published, upstream, run_sync, store):
    body, error_type, cause = BAD_BODIES[case]
    upstream.serve(PATH, body(recorded_payload()) if callable(body) else body)
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, error_type, cause)
    assert len(upstream.requests_to(PATH)) == 2  # the first sync + one attempt: not retried
    if case != "oversized":  # what the provider sent is archived for diagnosis
        assert len(store.raw_snapshots(PROVIDER)) == 2


def test_server_error_is_retried_then_fails(published, upstream, run_sync, store):
    upstream.serve(PATH, '{"error": "upstream down"}', status=503)
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, "http_5xx", "HTTP 503")
    assert len(upstream.requests_to(PATH)) == 1 + 2  # PRICING_RETRY_MAX=1 in tests


def test_client_error_other_than_429_is_not_retried(published, upstream, run_sync, store):
    upstream.serve(PATH, '{"error": "unauthorized"}', status=401)
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, "http_4xx", "HTTP 401")
    assert len(upstream.requests_to(PATH)) == 2


def test_timeout_is_a_clear_error(published, upstream, run_sync, store):
    upstream.serve(PATH, "{}", delay_seconds=2)
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, "timeout", "timed out")


def test_connection_refused_is_a_clear_error(published, monkeypatch, run_sync, store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("PRICING_DEEPINFRA_URL", f"http://127.0.0.1:{closed_port}/v1/openai/models")
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, "connection", "could not connect")
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1  # retried once, not with the whole backoff


def test_a_missing_api_key_is_a_configuration_error_never_retried(replay, run_sync, store, dagster_instance, monkeypatch):
    from pricing_pipeline.defs.metrics.derivation import collect_state

    monkeypatch.delenv("TOGETHER_API_KEY")
    result = run_sync("together")
    assert not result.success
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("failure", "configuration")
    assert "TOGETHER_API_KEY is not set" in row["error"]
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert replay.requests_to("/together") == []
    assert collect_state(dagster_instance).errors_total[("together", "configuration")] == 1


def test_rate_limit_honours_retry_after_then_succeeds(published, upstream, run_sync, store):
    good = REPLAY_FILES[PROVIDER].read_bytes()
    upstream.serve_sequence(
        PATH, [Route(429, b'{"error": "slow down"}', {"Retry-After": "1"}), Route(200, good)]
    )
    started = time.monotonic()
    result = run_sync(PROVIDER)
    assert result.success
    assert time.monotonic() - started >= 1.0
    assert len(upstream.requests_to(PATH)) == 3
    assert store.sync_row(result.run_id)["status"] == "success"


def test_persistent_rate_limit_fails_as_rate_limited(published, upstream, run_sync, store):
    upstream.serve(PATH, '{"error": "slow down"}', status=429, headers={"Retry-After": "0"})
    result = run_sync(PROVIDER)
    assert_failed_cleanly(result, store, published, "rate_limited", "HTTP 429")


def test_one_failing_provider_does_not_affect_another(published, upstream, run_sync, store):
    upstream.serve(PATH, "oops", status=500)
    assert not run_sync(PROVIDER).success
    assert run_sync("openrouter").success
    listed = {m["id"] for m in json.loads(REPLAY_FILES["openrouter"].read_bytes())["data"]}
    held = {row["model_id"] for row in store.held("openrouter")}  # new and priced zero (unmarked_free)
    assert {m for m in store.published_records("openrouter") if not is_endpoint_id(m)} == listed - held
    assert db_state(store, PROVIDER) == published


def break_prices(payload, share):
    """Put a string where a number belongs in ``share`` of the priced models (at least one)."""
    priced = [m for m in payload["data"] if m.get("metadata")]
    broken = priced[: max(1, round(len(priced) * share))]
    for model in broken:
        model["metadata"]["pricing"]["input_tokens"] = "0.5"
    return [m["id"] for m in broken]


def test_one_unreadable_model_is_quarantined_and_the_rest_publishes(published, upstream, run_sync, store):
    payload = recorded_payload()
    [bad] = break_prices(payload, 0)
    cheaper = [m for m in payload["data"] if m.get("metadata")][1]
    cheaper["metadata"]["pricing"]["output_tokens"] = cheaper["metadata"]["pricing"]["output_tokens"] / 2
    upstream.serve(PATH, json.dumps(payload))
    before = {p.record.model_id: p.record for p in store.prices(PROVIDER)}
    result = run_sync(PROVIDER)
    assert result.success
    after = {p.record.model_id: p.record for p in store.prices(PROVIDER)}
    assert after[bad] == before[bad]  # untouched: not changed, not removed
    assert bad not in store.removed_models(PROVIDER)
    assert after[cheaper["id"]].output_usd_per_mtok == before[cheaper["id"]].output_usd_per_mtok / 2
    row = store.sync_row(result.run_id)
    assert (row["status"], row["models_quarantined"], row["models_changed"]) == ("success", 1, 1)
    assert "metadata.pricing.input_tokens is str '0.5'" in row["quarantined"][bad]
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "normalized_prices_quarantine"]
    assert not check.passed and check.severity.value == "WARN"
    assert bad in check.metadata["quarantined"].value
    [materialization] = result.asset_materializations_for_node("published_prices")
    assert materialization.metadata["quarantined"].value == 1


def test_a_fifth_unreadable_blocks_the_whole_snapshot(published, upstream, run_sync, store):
    payload = recorded_payload()
    broken = break_prices(payload, 0.2)
    upstream.serve(PATH, json.dumps(payload))
    result = run_sync(PROVIDER)
    assert not result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "normalized_prices_quarantine"]
    assert not check.passed and check.severity.value == "ERROR"
    assert check.metadata["quarantined_models"].value == len(broken)
    assert db_state(store, PROVIDER) == published
    assert store.sync_row(result.run_id)["status"] == "blocked"
