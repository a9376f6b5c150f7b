"""The one entry point: `dagster dev` and `dagster definitions validate` load `defs`. It wires
the concerns together (hooks, resources), so defs/sync never imports guard/, metrics/, feeds/ or bills/."""

from dagster import Definitions, HookContext, failure_hook, in_process_executor

from pricing_pipeline.defs.bills.assets import bill_reconciliation
from pricing_pipeline.defs.bills.jobs import (
    bill_reconciliation_after_sync,
    bill_reconciliation_job,
    bill_reconciliation_schedule,
)
from pricing_pipeline.defs.feeds.assets import price_feeds
from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.defs.feeds.sensors import price_feeds_after_sync, price_feeds_job
from pricing_pipeline.defs.guard.assets import cross_source_prices
from pricing_pipeline.defs.guard.jobs import cross_source_job, cross_source_schedule
from pricing_pipeline.defs.io_manager import StepOutputIOManager
from pricing_pipeline.defs.metrics.hooks import metrics_after_failed_step, metrics_after_step
from pricing_pipeline.defs.metrics.resources import MetricsPublisher, pushgateway_url_config
from pricing_pipeline.defs.metrics.sensors import metrics_sensors
from pricing_pipeline.defs.sync import checks, freshness
from pricing_pipeline.defs.sync.assets import normalized_prices, published_prices, raw_price_snapshot
from pricing_pipeline.defs.sync.held import held_prices
from pricing_pipeline.defs.sync.hooks import close_failed_sync
from pricing_pipeline.defs.sync.jobs import freshness_check_job, price_sync_job
from pricing_pipeline.defs.sync.republish import price_republish_job
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi, database_url_config
from pricing_pipeline.defs.sync.review import price_review_job
from pricing_pipeline.defs.sync.schedules import price_freshness_schedule, price_sync_schedule
from pricing_pipeline.defs.sync.sensors import sync_log_reconciler
from pricing_pipeline.defs.watch.sensors import watch_sensors
from pricing_pipeline.settings import settings

# No asset-level FreshnessPolicy on the provider-partitioned assets: Dagster judges it by the
# newest partition, so one fresh provider shows "Passing" over every stale one. Freshness is
# per provider, in the fresh_<provider> checks on price_freshness (defs/sync/checks.py).


@failure_hook(required_resource_keys={"pricing_db", "metrics"})
def sync_step_failed(context: HookContext) -> None:
    """Close the provider's sync log row, then record and push the run's outcome. One hook for
    both: every hook on a step logs an event each step (completed or skipped), and a run's
    event log is for what an operator reads."""
    try:
        close_failed_sync(context)
    finally:
        metrics_after_failed_step(context)


# On the assets, not on a job: the catalog's Materialize button, backfills and GraphQL run the
# implicit asset job, and they must close the sync log and record the run's facts too. Wired
# here, so defs/sync knows nothing of the metrics.
SYNC_HOOKS = {metrics_after_step, sync_step_failed}


def build_definitions(resources: dict) -> Definitions:
    """Everything the code location serves; tests pass their own resource configuration."""
    return Definitions(
        assets=[asset.with_hooks(SYNC_HOOKS) for asset in (raw_price_snapshot, normalized_prices, published_prices)]
        + [freshness.price_freshness, held_prices, cross_source_prices, price_feeds, bill_reconciliation],
        asset_checks=[
            checks.normalized_prices_checks,
            freshness.provider_freshness,
        ],
        jobs=[price_sync_job, freshness_check_job, cross_source_job, price_feeds_job, price_review_job, price_republish_job,
              bill_reconciliation_job],
        schedules=[price_sync_schedule, price_freshness_schedule, cross_source_schedule, bill_reconciliation_schedule],
        sensors=[*metrics_sensors(), sync_log_reconciler, price_feeds_after_sync, bill_reconciliation_after_sync,
                 *watch_sensors()],
        # Also the implicit asset job's (catalog, backfills): a sync is a few small steps, and
        # the multiprocess executor's interpreter per step made a run 10x slower than the sync.
        executor=in_process_executor,
        # Metrics publishing is off unless a Pushgateway is configured.
        resources={
            "io_manager": StepOutputIOManager(),
            "metrics": MetricsPublisher(),
            "feeds": FeedsOutput(directory=settings().feeds_directory()),
            **resources,
        },
    )


def default_resources() -> dict:
    """The deployment's configuration, from the environment (docs/configuration.md)."""
    return {
        "pricing_db": PricingDatabase(url=database_url_config()),
        "upstream": UpstreamApi(
            timeout_seconds=settings().http_timeout_seconds,
        ),
        "metrics": MetricsPublisher(pushgateway_url=pushgateway_url_config()),
        "feeds": FeedsOutput(directory=settings().feeds_directory()),
    }


defs = build_definitions(default_resources())
