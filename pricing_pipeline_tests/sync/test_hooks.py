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
