"""Refresh the feeds after every successful sync run, however it was launched."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    define_asset_job,
    run_status_sensor,
)

from pricing_pipeline.defs.feeds.assets import price_feeds
from pricing_pipeline.defs.runs import TRIGGER_TAG, is_sync_run
from pricing_pipeline.settings import settings

price_feeds_job = define_asset_job(
    "price_feeds_job", selection=AssetSelection.assets(price_feeds), description="Write the price feeds."
)


@run_status_sensor(
    name="price_feeds_after_sync",
    run_status=DagsterRunStatus.SUCCESS,
    request_job=price_feeds_job,
    monitor_all_code_locations=True,
    minimum_interval_seconds=settings().feeds_sensor_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes the price feeds after each successful sync run.",
)
def price_feeds_after_sync(context: RunStatusSensorContext):
    # `pricing-pipeline sync` writes the feeds once after all of its runs itself
    if is_sync_run(context.dagster_run) and context.dagster_run.tags.get(TRIGGER_TAG) != "cli":
        return RunRequest(run_key=f"feeds-after-{context.dagster_run.run_id}")
    return None
