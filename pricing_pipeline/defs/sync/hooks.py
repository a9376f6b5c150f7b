"""Close the sync log row of a failed run, whatever step failed."""

from dagster import Failure, HookContext, failure_hook

# Not re-exported by dagster; it is what a failed blocking check raises in its step.
from dagster._core.errors import DagsterAssetCheckFailedError

from pricing_pipeline.defs.sync.resources import PricingDatabase


def classify_failure(error: BaseException | None) -> tuple[str, str, str]:
    """(sync status, error_type, message) of a failed step's exception."""
    if isinstance(error, DagsterAssetCheckFailedError):
        return "blocked", "check_blocked", f"blocked by a price check: {error}"
    if isinstance(error, Failure) and "error_type" in error.metadata:
        return "failure", error.metadata["error_type"].value, error.description or str(error)
    return "failure", "invalid_response", f"{type(error).__name__}: {error}"


@failure_hook(required_resource_keys={"pricing_db"})
def record_failed_sync(context: HookContext) -> None:
    run = context.instance.get_run_by_id(context.run_id)
    provider = run.tags.get("dagster/partition") if run else None
    if not provider:
        return
    status, error_type, message = classify_failure(context.op_exception)
    db: PricingDatabase = context.resources.pricing_db
    db.store.fail_sync(provider, context.run_id, error_type, message, status=status)
