from __future__ import annotations

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    schedule,
)

from pricing_pipeline.defs.sync.jobs import freshness_check_job, price_sync_job
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings

SYNC_CRON = settings().sync_cron
FRESHNESS_CHECK_CRON = settings().freshness_check_cron
TRIGGER_TAG = "pricing/trigger"


@schedule(
    cron_schedule=SYNC_CRON,
    job=price_sync_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Sync every provider: one run per provider, so one failing provider blocks no other.",
)
def price_sync_schedule(context: ScheduleEvaluationContext):
    tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M")
    for provider in PROVIDER_NAMES:
        yield RunRequest(
            run_key=f"{provider}-{tick}",
            partition_key=provider,
            tags={TRIGGER_TAG: "schedule"},
        )


@schedule(
    cron_schedule=FRESHNESS_CHECK_CRON,
    job=freshness_check_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Evaluate per-provider freshness between syncs.",
)
def price_freshness_schedule(context: ScheduleEvaluationContext):
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y%m%dT%H%M"))
