"""When the cross-source comparison runs: after the six-hourly syncs (offset by 30 minutes)."""


from dagster import AssetSelection, define_asset_job, in_process_executor

from pricing_pipeline.defs.guard.assets import cross_source_prices
from pricing_pipeline.defs.instigators import one_run_per_tick
from pricing_pipeline.settings import settings

CROSS_SOURCE_CRON = settings().cross_source_cron

cross_source_job = define_asset_job(
    "price_cross_source_job",
    selection=AssetSelection.assets(cross_source_prices),
    executor_def=in_process_executor,
    description="Compare the published prices of the same model across sources (warns, never blocks).",
)


cross_source_schedule = one_run_per_tick(
    "cross_source_schedule",
    CROSS_SOURCE_CRON,
    cross_source_job,
    "Cross-source price comparison, 30 minutes after each sync.",
)
