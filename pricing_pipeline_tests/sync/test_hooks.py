from dagster import Failure, RetryRequested
from dagster._core.errors import DagsterAssetCheckFailedError
from sqlalchemy.exc import OperationalError

from pricing_pipeline.defs.outcomes import RunOutcome, classify_failure
from pricing_pipeline.providers.errors import UpstreamError


def raised(exc, cause):
    try:
        raise exc from cause
    except BaseException as error:  # noqa: BLE001 - building the chain a step failure carries
        return error


def test_failures_are_classified_into_the_fixed_error_types():
    blocked = classify_failure(DagsterAssetCheckFailedError("1 blocking asset check failed"))
    assert (blocked.status, blocked.error_type) == ("blocked", "check_blocked")
    rate_limited = UpstreamError("together", "rate_limited", "rate limited (HTTP 429)")
    assert classify_failure(raised(RetryRequested(max_retries=1), rate_limited)) == RunOutcome(
        "failure", "rate_limited", "together: rate limited (HTTP 429)")
    assert classify_failure(Failure("x", metadata={"error_type": "timeout"})).error_type == "timeout"
    db = OperationalError("INSERT ...", {}, Exception("could not connect to server"))
    outcome = classify_failure(raised(RuntimeError("start_sync failed"), db))
    assert (outcome.status, outcome.error_type) == ("failure", "database")
    assert "could not connect" not in outcome.message  # no driver detail (may carry host names) in the log


def hook_events(result) -> list[tuple[str, str]]:
    return [(e.step_key, e.event_type_value) for e in result.all_events if e.event_type_value.startswith("HOOK_")]


def test_a_sync_run_logs_one_hook_event_per_hook_and_step(replay, run_sync, store):
    """Two hooks per sync step (success, failure): a step logs one event for each, completed or
    skipped; nine and more per run buried what an operator reads."""
    result = run_sync("deepinfra")
    assert result.success
    steps = ("raw_price_snapshot", "normalized_prices", "published_prices")
    assert sorted(hook_events(result)) == sorted(
        [(step, "HOOK_COMPLETED") for step in steps] + [(step, "HOOK_SKIPPED") for step in steps]
    )


def test_the_one_failure_hook_closes_the_sync_log_and_records_the_outcome(replay, run_sync, store):
    replay.serve("/deepinfra", b'{"error": "upstream down"}', status=500)
    result = run_sync("deepinfra")
    assert not result.success
    assert ("raw_price_snapshot", "HOOK_COMPLETED") in hook_events(result)
    row = store.sync_rows("deepinfra")[-1]
    assert (row["status"], row["error_type"]) == ("failure", "http_5xx")
