"""Close the sync log row of a failed run, whatever step failed."""

from dagster import Failure, HookContext, failure_hook
from sqlalchemy.exc import SQLAlchemyError

# Not re-exported by dagster; it is what a failed blocking check raises in its step.
from dagster._core.errors import DagsterAssetCheckFailedError

from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.providers.errors import UpstreamError


def classify_failure(error: BaseException | None) -> tuple[str, str, str]:
    """(sync status, error_type, message) of a failed step's exception. Retries wrap the
    original error (e.g. a 429 that outlasted its retries), so follow the cause chain."""
    for cause in _cause_chain(error):
        if isinstance(cause, DagsterAssetCheckFailedError):
            return "blocked", "check_blocked", f"blocked by a price check: {cause}"
        if isinstance(cause, UpstreamError):
            return "failure", cause.error_type, str(cause)
        if isinstance(cause, SQLAlchemyError):
            return "failure", "database", f"pricing database error ({type(cause).__name__})"
        if isinstance(cause, Failure) and "error_type" in cause.metadata:
            return "failure", cause.metadata["error_type"].value, cause.description or str(cause)
    return "failure", "invalid_response", f"{type(error).__name__}: {error}"


def _cause_chain(error: BaseException | None, limit: int = 10):
    while error is not None and limit:
        yield error
        error = error.__cause__ or error.__context__
        limit -= 1


@failure_hook(required_resource_keys={"pricing_db"})
def record_failed_sync(context: HookContext) -> None:
    run = context.instance.get_run_by_id(context.run_id)
    provider = run.tags.get("dagster/partition") if run else None
    if not provider:
        return
    status, error_type, message = classify_failure(context.op_exception)
    db: PricingDatabase = context.resources.pricing_db
    db.store.fail_sync(provider, context.run_id, error_type, message, status=status)
