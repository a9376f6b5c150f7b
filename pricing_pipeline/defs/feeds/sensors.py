"""Refresh the feeds after every successful sync run, however it was launched.

A tick finishes eight syncs within seconds; a feeds run each would compete with the syncs for
the machine and write the same files eight times. A feeds run reads what is published when it
starts, so one that is queued and not started yet covers every sync finished before it: the
sensor asks for a new one only when there is none waiting, and dagster.yaml runs one at a time.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    define_asset_job,
    run_status_sensor,
)

from pricing_pipeline.defs.feeds.assets import price_feeds
from pricing_pipeline.defs.runs import REPUBLISH_JOB_NAME, REVIEW_JOB_NAME, TRIGGER_TAG, is_sync_run
from pricing_pipeline.settings import settings

FEEDS_TAG = "pricing/feeds"  # dagster.yaml: one feeds run at a time
WAITING = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED]

price_feeds_job = define_asset_job(
    "price_feeds_job",
    selection=AssetSelection.assets(price_feeds),
    description="Write the price feeds.",
    tags={FEEDS_TAG: "write"},
)


@run_status_sensor(
    name="price_feeds_after_sync",
    run_status=DagsterRunStatus.SUCCESS,
    request_job=price_feeds_job,
    monitor_all_code_locations=True,
    minimum_interval_seconds=settings().feeds_sensor_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes the price feeds after each successful sync run and each review of held prices.",
)
def price_feeds_after_sync(context: RunStatusSensorContext):
    # `pricing-pipeline sync` writes the feeds once after all of its runs itself; an accepted
    # hold publishes too
    run = context.dagster_run
    publishes = is_sync_run(run) or run.job_name in (REVIEW_JOB_NAME, REPUBLISH_JOB_NAME)
    if not publishes or run.tags.get(TRIGGER_TAG) == "cli":
        return None
    if context.instance.get_runs_count(RunsFilter(job_name=price_feeds_job.name, statuses=WAITING)):
        return None  # a feeds run that has not started yet will include this sync's prices
    return RunRequest(run_key=f"feeds-after-{context.dagster_run.run_id}")
