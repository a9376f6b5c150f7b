"""Refresh the feeds once after the syncs of a tick or a backfill, however they were launched.

A tick or a backfill finishes eight syncs over a minute or so; a feeds run each would compete
with the syncs for the machine and write the same files eight times (issue 31 saw eight feeds
runs after one backfill). The sensor debounces: each evaluation looks at the publishing runs
(syncs, reviews, re-publishes) that succeeded since the last one it handled, and asks for ONE
feeds run only when no publishing run is still queued or running (so the last sync of a
backfill is in it), or once the oldest unhandled success has waited ``MAX_WAIT_SECONDS`` (a
stuck run never starves the feeds). A feeds run reads what is published when it starts, and
one already waiting to start covers every sync finished before it. Runs of the CLI are left
alone: ``pricing-pipeline sync`` writes the feeds once after all of its runs itself.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from dagster import (
    AssetSelection,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from pricing_pipeline.defs.feeds.assets import price_feeds
from pricing_pipeline.defs.runs import REPUBLISH_JOB_NAME, REVIEW_JOB_NAME, TRIGGER_TAG, is_sync_run
from pricing_pipeline.settings import settings

FEEDS_TAG = "pricing/feeds"  # dagster.yaml: one feeds run at a time
WAITING = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED]
IN_PROGRESS = [*WAITING, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
MAX_WAIT_SECONDS = 600.0
RUNS_READ = 500

price_feeds_job = define_asset_job(
    "price_feeds_job",
    selection=AssetSelection.assets(price_feeds),
    description="Write the price feeds.",
    tags={FEEDS_TAG: "write"},
)


def publishes(run: DagsterRun) -> bool:
    """A run that may change the published prices and whose feeds are this sensor's to write."""
    if run.tags.get(TRIGGER_TAG) == "cli":
        return False
    return is_sync_run(run) or run.job_name in (REVIEW_JOB_NAME, REPUBLISH_JOB_NAME)


def feeds_request(instance, cursor: float, now: float) -> tuple[RunRequest | None, float, str]:
    """(the feeds run to ask for or None, the new cursor, why): the cursor is the update time
    of the newest successful publishing run already covered."""
    since = datetime.fromtimestamp(cursor, tz=timezone.utc) if cursor else None
    records = instance.get_run_records(
        RunsFilter(statuses=[DagsterRunStatus.SUCCESS], updated_after=since), limit=RUNS_READ, ascending=False
    )
    finished = [r for r in records if publishes(r.dagster_run) and r.update_timestamp.timestamp() > cursor]
    if not finished:
        return None, cursor, "no publishing run succeeded since the last feeds run"
    newest = max(r.update_timestamp.timestamp() for r in finished)
    if instance.get_runs_count(RunsFilter(job_name=price_feeds_job.name, statuses=WAITING)):
        return None, newest, "a feeds run waiting to start covers them"
    running = [run for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS), limit=RUNS_READ) if publishes(run)]
    oldest = min(r.update_timestamp.timestamp() for r in finished)
    if running and now - oldest < MAX_WAIT_SECONDS:
        return None, cursor, f"{len(finished)} sync(s) done; waiting for {len(running)} still queued or running"
    newest_run = max(finished, key=lambda r: r.update_timestamp).dagster_run
    return RunRequest(run_key=f"feeds-after-{newest_run.run_id}"), newest, f"after {len(finished)} publishing run(s)"


@sensor(
    name="price_feeds_after_sync",
    job=price_feeds_job,
    minimum_interval_seconds=settings().feeds_sensor_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes the price feeds once after the successful syncs of a tick or a backfill (when none is "
    "still queued or running), and after each review or re-publish of held prices.",
)
def price_feeds_after_sync(context: SensorEvaluationContext):
    cursor = float(context.cursor) if context.cursor else 0.0  # a new sensor: one feeds run for what is there
    request, new_cursor, why = feeds_request(context.instance, cursor, time.time())
    if request is None:
        return SensorResult(skip_reason=SkipReason(why), cursor=str(new_cursor))
    return SensorResult(run_requests=[request], cursor=str(new_cursor))
