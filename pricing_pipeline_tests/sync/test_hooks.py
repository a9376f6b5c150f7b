from dagster import Failure, RetryRequested
from dagster._core.errors import DagsterAssetCheckFailedError
from sqlalchemy.exc import OperationalError

from pricing_pipeline.defs.sync.hooks import classify_failure
from pricing_pipeline.providers.errors import UpstreamError


def raised(exc, cause):
    try:
        raise exc from cause
    except BaseException as error:  # noqa: BLE001 - building the chain a step failure carries
        return error


def test_failures_are_classified_into_the_fixed_error_types():
    assert classify_failure(DagsterAssetCheckFailedError("1 blocking asset check failed"))[:2] == (
        "blocked", "check_blocked")
    rate_limited = UpstreamError("together", "rate_limited", "rate limited (HTTP 429)")
    assert classify_failure(raised(RetryRequested(max_retries=1), rate_limited)) == (
        "failure", "rate_limited", "together: rate limited (HTTP 429)")
    assert classify_failure(Failure("x", metadata={"error_type": "timeout"}))[:2] == ("failure", "timeout")
    db = OperationalError("INSERT ...", {}, Exception("could not connect to server"))
    status, error_type, message = classify_failure(raised(RuntimeError("start_sync failed"), db))
    assert (status, error_type) == ("failure", "database")
    assert "could not connect" not in message  # no driver detail (may carry host names) in the log
