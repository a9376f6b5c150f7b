"""When bills are reconciled: after each successful sync of the provider (the prices it just
published are the ones the newest bills were charged at), and hourly (bills arrive all the time;
a provider's sync runs every 6 hours).

A run-status sensor rather than an automation condition on ``published_prices``: it sees the
sync runs of every launch path the same way the feeds and metrics do (``is_sync_run``: the
schedule, the CLI, the catalog's button, backfills), needs no automation daemon turned on, and
requests exactly the partition that synced. Runs of one provider never overlap: dagster.yaml
runs one run per ``dagster/partition`` at a time, syncs and reconciliations alike.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    run_status_sensor,
)

from pricing_pipeline.defs.bills.assets import bill_reconciliation
from pricing_pipeline.defs.instigators import tick_key, utc_schedule
from pricing_pipeline.defs.runs import BILLS_JOB_NAME, PARTITION_TAG, TRIGGER_TAG, provider_of
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings

WAITING = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED]

bill_reconciliation_job = define_asset_job(
    BILLS_JOB_NAME,
    selection=AssetSelection.assets(bill_reconciliation),
    executor_def=in_process_executor,
    description="Reconcile one provider's new bills against our prices.",
)


@utc_schedule(settings().bills_cron, bill_reconciliation_job, "Reconcile every provider's new bills, hourly.",
              name="bill_reconciliation_schedule")
def bill_reconciliation_schedule(context: ScheduleEvaluationContext):
    tick = tick_key(context)
    for provider in PROVIDER_NAMES:
        yield RunRequest(run_key=f"{provider}-{tick}", partition_key=provider, tags={TRIGGER_TAG: "schedule"})


@run_status_sensor(
    name="bill_reconciliation_after_sync",
    run_status=DagsterRunStatus.SUCCESS,
    request_job=bill_reconciliation_job,
    monitor_all_code_locations=True,
    minimum_interval_seconds=settings().bills_sensor_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Reconciles the provider's new bills after each successful sync of it.",
)
def bill_reconciliation_after_sync(context: RunStatusSensorContext):
    provider = provider_of(context.dagster_run)
    if provider is None:
        return None
    waiting = RunsFilter(job_name=BILLS_JOB_NAME, statuses=WAITING, tags={PARTITION_TAG: provider})
    if context.instance.get_runs_count(waiting):
        return None  # a reconciliation not started yet reads the bills and prices as they are then
    return RunRequest(run_key=f"bills-after-{context.dagster_run.run_id}", partition_key=provider,
                      tags={TRIGGER_TAG: "sensor"})
