from __future__ import annotations

from dagster import RunRequest, ScheduleEvaluationContext

from pricing_pipeline.defs.instigators import one_run_per_tick, tick_key, utc_schedule
from pricing_pipeline.defs.runs import TRIGGER_TAG
from pricing_pipeline.defs.sync.jobs import freshness_check_job, price_sync_job
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings

SYNC_CRON = settings().sync_cron
FRESHNESS_CHECK_CRON = settings().freshness_check_cron


@utc_schedule(
    SYNC_CRON,
    price_sync_job,
    "Sync every provider: one run per provider, so one failing provider blocks no other.",
)
def price_sync_schedule(context: ScheduleEvaluationContext):
    tick = tick_key(context)
    for provider in PROVIDER_NAMES:
        yield RunRequest(
            run_key=f"{provider}-{tick}",
            partition_key=provider,
            tags={TRIGGER_TAG: "schedule"},
        )


price_freshness_schedule = one_run_per_tick(
    "price_freshness_schedule",
    FRESHNESS_CHECK_CRON,
    freshness_check_job,
    "Evaluate per-provider freshness between syncs.",
)
