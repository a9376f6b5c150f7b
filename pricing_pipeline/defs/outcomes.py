"""How a sync run ended, one classification for the whole project.

A failed step is classified from its live exception in the hooks (:func:`classify_failure`),
or after the fact from the run's event log (:func:`outcome_from_event_log`: the run worker
died, a resource failed before any step, a run from before the hooks existed). Both apply the
same rules and walk the same cause chain; the outcome is recorded in the run's own tags
(``pricing/run_outcome``), where the metrics and the sync log read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, Failure

# Not re-exported by dagster; it is what a failed blocking check raises in its step.
from dagster._core.errors import DagsterAssetCheckFailedError
from sqlalchemy.exc import SQLAlchemyError

from pricing_pipeline.defs.runs import RUN_OUTCOME_TAG, stamped
from pricing_pipeline.providers.errors import ERROR_TYPES, UpstreamError

# The class of exception the pricing database raises; a run that failed on one outside any step
# (e.g. while the pricing_db resource connected) failed on the database.
DATABASE_ERROR_CLASSES = {"OperationalError", "InterfaceError", "DatabaseError", "DBAPIError", "SQLAlchemyError"}



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


def more_severe(current: RunOutcome | None, new: RunOutcome) -> RunOutcome:
    """Several failed steps in one run: the first error wins, except that an error beats a
    blocking check (the run failed, not only the price guard)."""
    if current is None or (current.status == "blocked" and new.status == "failure"):
        return new
    return current


def classify_failure(error: BaseException | None) -> RunOutcome:
    """The outcome of a failed step's exception. Retries wrap the original error (e.g. a 429
    that outlasted its retries), so follow the cause chain."""
    for cause in _chain(error):
        if isinstance(cause, DagsterAssetCheckFailedError):
            return RunOutcome("blocked", "check_blocked", f"blocked by a price check: {cause}")
        if isinstance(cause, UpstreamError):
            return RunOutcome("failure", cause.error_type, str(cause))
        if isinstance(cause, SQLAlchemyError):
            return RunOutcome("failure", "database", f"pricing database error ({type(cause).__name__})")
        if isinstance(cause, Failure) and cause.metadata.get("error_type") is not None:
            error_type = cause.metadata["error_type"].value
            if error_type in ERROR_TYPES:
                return RunOutcome("failure", error_type, cause.description or str(cause))
    return RunOutcome("failure", "invalid_response", f"{type(error).__name__}: {error}")


def _chain(error, limit: int = 10) -> Iterator:
    """An error and its causes: a live exception (``__cause__``/``__context__``) or the
    event log's serialized error info (``cause``/``context``)."""
    while error is not None and limit:
        yield error
        error = (
            getattr(error, "__cause__", None)
            or getattr(error, "__context__", None)
            or getattr(error, "cause", None)
            or getattr(error, "context", None)
        )
        limit -= 1


def outcome_of_step_failure(step_failure_data) -> RunOutcome:
    """classify_failure for a step failure as the event log keeps it: the exception's class
    name and causes, and the Failure's metadata."""
    error = getattr(step_failure_data, "error", None)
    message = (getattr(error, "message", "") or "").strip().splitlines()
    first_line = message[0] if message else ""
    if any(info.cls_name == "DagsterAssetCheckFailedError" for info in _chain(error)):
        return RunOutcome("blocked", "check_blocked", first_line)
    user_failure = getattr(step_failure_data, "user_failure_data", None)
    metadata = getattr(user_failure, "metadata", None) or {}
    error_type = getattr(metadata.get("error_type"), "value", None)
    description = getattr(user_failure, "description", None) or first_line
    if error_type in ERROR_TYPES:
        return RunOutcome("failure", error_type, description)
    return RunOutcome("failure", "invalid_response", description)


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
    if any(info.cls_name in DATABASE_ERROR_CLASSES for info in _chain(run_failure_error)):
        return RunOutcome("failure", "database", "pricing database error")
    return RunOutcome("failure", None, " ".join(messages) or "the run failed outside any step")
