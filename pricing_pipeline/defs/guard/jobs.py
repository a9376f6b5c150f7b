"""When the cross-source comparison runs: after the six-hourly syncs (offset by 30 minutes)."""


from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)

from pricing_pipeline.defs.guard.assets import cross_source_prices
from pricing_pipeline.settings import settings

CROSS_SOURCE_CRON = settings().cross_source_cron

cross_source_job = define_asset_job(
    "price_cross_source_job",
    selection=AssetSelection.assets(cross_source_prices),
    executor_def=in_process_executor,
    description="Compare the published prices of the same model across sources (warns, never blocks).",
)


@schedule(
    cron_schedule=CROSS_SOURCE_CRON,
    job=cross_source_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Cross-source price comparison, 30 minutes after each sync.",
)
def cross_source_schedule(context: ScheduleEvaluationContext):
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y%m%dT%H%M"))
