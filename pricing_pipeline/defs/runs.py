"""What a sync run is, however it was launched, and how it ended.

A sync run is any Dagster run that materializes a provider partition of the sync assets:
``price_sync_job`` (schedule, CLI, Jobs page) or the implicit ``__ASSET_JOB`` (the catalog's,
lineage's and partitions page's Materialize button, partition backfills, GraphQL). Everything
that judges runs (the sync log reconciler, the metrics) goes through :func:`is_sync_run` and
classifies a failed run with the same rules, from a live exception (:func:`classify_failure`,
in hooks) or from the run's event log (:func:`outcome_from_event_log`, after the fact).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, Failure
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME

# Not re-exported by dagster; it is what a failed blocking check raises in its step.
from dagster._core.errors import DagsterAssetCheckFailedError
from sqlalchemy.exc import SQLAlchemyError

from pricing_pipeline.providers.errors import ERROR_TYPES, UpstreamError
from pricing_pipeline.providers.registry import PROVIDER_NAMES

SYNC_JOB_NAME = "price_sync_job"
SYNC_JOB_NAMES = (SYNC_JOB_NAME, IMPLICIT_ASSET_JOB_NAME)
PARTITION_TAG = "dagster/partition"
RAW_SNAPSHOT_KEY = AssetKey("raw_price_snapshot")
NORMALIZED_KEY = AssetKey("normalized_prices")
PUBLISHED_KEY = AssetKey("published_prices")
SYNC_ASSET_KEYS = frozenset({RAW_SNAPSHOT_KEY, NORMALIZED_KEY, PUBLISHED_KEY})

# The class of exception the pricing database raises; a run that failed on one outside any step
# (e.g. while the pricing_db resource connected) failed on the database.
DATABASE_ERROR_CLASSES = {"OperationalError", "InterfaceError", "DatabaseError", "DBAPIError", "SQLAlchemyError"}


def provider_of(run: DagsterRun) -> str | None:
    """The provider a sync run syncs; None for any other run (freshness checks, the
    cross-source comparison, a run of another code location)."""
    provider = run.tags.get(PARTITION_TAG)
    if provider not in PROVIDER_NAMES or run.job_name not in SYNC_JOB_NAMES:
        return None
    if run.job_name != SYNC_JOB_NAME and run.asset_selection is not None and not (run.asset_selection & SYNC_ASSET_KEYS):
        return None
    return provider


def is_sync_run(run: DagsterRun) -> bool:
    return provider_of(run) is not None


# Facts a run records about itself in its own tags (the assets' hooks and the blocking checks
# write them; the metrics read them). Stamped with the run id: a re-execution may copy its
# parent's tags and must not inherit the parent's facts.
RUN_OUTCOME_TAG = "pricing/run_outcome"
RUN_USAGE_TAG = "pricing/run_usage"


@dataclass(frozen=True)
class RunOutcome:
    status: str  # failure | blocked
    error_type: str | None  # one of ERROR_TYPES; None: the run died without a step failure
    message: str = ""


def encode_outcome(run_id: str, outcome: RunOutcome) -> str:
    return json.dumps({"run_id": run_id, "status": outcome.status, "error_type": outcome.error_type}, sort_keys=True)


def decode_outcome(tags: Mapping[str, str], run_id: str) -> RunOutcome | None:
    data = stamped(tags.get(RUN_OUTCOME_TAG), run_id)
    if data is None or data.get("status") not in ("failure", "blocked"):
        return None
    error_type = data.get("error_type")
    if error_type is not None and error_type not in ERROR_TYPES:
        return None
    return RunOutcome(data["status"], error_type)


def stamped(raw: str | None, run_id: str) -> dict | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("run_id") == run_id else None


def more_severe(current: RunOutcome | None, new: RunOutcome) -> RunOutcome:
    """Several failed steps in one run: the first error wins, except that an error beats a
    blocking check (the run failed, not only the price guard)."""
    if current is None or (current.status == "blocked" and new.status == "failure"):
        return new
    return current


def classify_failure(error: BaseException | None) -> RunOutcome:
    """The outcome of a failed step's exception. Retries wrap the original error (e.g. a 429
    that outlasted its retries), so follow the cause chain."""
    for cause in _cause_chain(error):
        if isinstance(cause, DagsterAssetCheckFailedError):
            return RunOutcome("blocked", "check_blocked", f"blocked by a price check: {cause}")
        if isinstance(cause, UpstreamError):
            return RunOutcome("failure", cause.error_type, str(cause))
        if isinstance(cause, SQLAlchemyError):
            return RunOutcome("failure", "database", f"pricing database error ({type(cause).__name__})")
        if isinstance(cause, Failure) and "error_type" in cause.metadata:
            return RunOutcome("failure", cause.metadata["error_type"].value, cause.description or str(cause))
    return RunOutcome("failure", "invalid_response", f"{type(error).__name__}: {error}")


def _cause_chain(error: BaseException | None, limit: int = 10) -> Iterator[BaseException]:
    while error is not None and limit:
        yield error
        error = error.__cause__ or error.__context__
        limit -= 1


def outcome_of_step_failure(step_failure_data) -> RunOutcome:
    """classify_failure for a step failure as the event log keeps it: the exception's class
    name and causes, and the Failure's metadata."""
    error = getattr(step_failure_data, "error", None)
    message = (getattr(error, "message", "") or "").strip().splitlines()
    first_line = message[0] if message else ""
    if any(info.cls_name == "DagsterAssetCheckFailedError" for info in _error_chain(error)):
        return RunOutcome("blocked", "check_blocked", first_line)
    user_failure = getattr(step_failure_data, "user_failure_data", None)
    metadata = getattr(user_failure, "metadata", None) or {}
    error_type = getattr(metadata.get("error_type"), "value", None)
    description = getattr(user_failure, "description", None) or first_line
    if error_type in ERROR_TYPES:
        return RunOutcome("failure", error_type, description)
    return RunOutcome("failure", "invalid_response", description)


def _error_chain(error, limit: int = 10) -> Iterator:
    while error is not None and limit:
        yield error
        error = error.cause or getattr(error, "context", None)
        limit -= 1


def outcome_from_event_log(instance: DagsterInstance, run_id: str) -> RunOutcome:
    """How a failed run failed, read from its event log: its step failures, else the run
    failure itself (a resource that failed before any step, a worker that run monitoring
    found dead or over its maximum runtime)."""
    records = instance.get_records_for_run(
        run_id,
        of_type={
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.RUN_FAILURE,
            DagsterEventType.RUN_CANCELING,
            DagsterEventType.ENGINE_EVENT,
        },
        limit=100,
    ).records
    outcome: RunOutcome | None = None
    run_failure_error = None
    messages: list[str] = []  # why run monitoring (or an operator) stopped it, then the failure
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ENGINE_EVENT:
            # the code server's note that the run worker died (e.g. "terminated by signal 9")
            message = record.event_log_entry.message or ""
            if "terminated by signal" in message or ("exited" in message and "unexpectedly" in message):
                messages.append(message.split(". ")[0] + ".")
            continue
        if event.event_type in (DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELING):
            if event.event_type == DagsterEventType.RUN_FAILURE:
                run_failure_error = getattr(event.event_specific_data, "error", None)
            if record.event_log_entry.message:
                messages.append(record.event_log_entry.message)
            continue
        outcome = more_severe(outcome, outcome_of_step_failure(event.event_specific_data))
    if outcome is not None:
        return outcome
    if any(info.cls_name in DATABASE_ERROR_CLASSES for info in _error_chain(run_failure_error)):
        return RunOutcome("failure", "database", "pricing database error")
    return RunOutcome("failure", None, " ".join(messages) or "the run failed outside any step")


# Rows of runs this instance does not know are left alone for this long: the pricing
# database may be shared with another Dagster instance (a test, a second deployment).
UNKNOWN_RUN_GRACE_SECONDS = 6 * 3600


def reconcile_sync_log(instance: DagsterInstance, store, now: float | None = None) -> dict[str, str]:
    """Close every ``running`` sync log row whose run has ended, however it ended (failed,
    blocked, canceled, killed and failed by run monitoring, or succeeded without publishing
    because only part of the sync was selected). Idempotent; returns {run_id: status}."""
    now = time.time() if now is None else now
    closed: dict[str, str] = {}
    for row in store.running_syncs():
        run_id = row["run_id"]
        if not run_id:
            continue
        record = instance.get_run_record_by_id(run_id)
        if record is None:
            if now - row["started_at"].timestamp() < UNKNOWN_RUN_GRACE_SECONDS:
                continue
            status, error_type, message = "failure", None, "the run is not in the Dagster instance"
        else:
            run = record.dagster_run
            if not run.is_finished:
                continue
            if run.status == DagsterRunStatus.SUCCESS:
                status, error_type, message = "incomplete", None, "the run ended without publishing (only part of the sync was selected)"
            elif run.status == DagsterRunStatus.CANCELED:
                status, error_type, message = "canceled", None, "the run was canceled"
            else:
                outcome = outcome_from_event_log(instance, run_id)
                status, error_type, message = outcome.status, outcome.error_type, outcome.message
        store.fail_sync(row["provider"], run_id, error_type, message, status=status)
        closed[run_id] = status
    return closed
