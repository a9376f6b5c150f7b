from dagster import AssetSelection, define_asset_job, in_process_executor

from pricing_pipeline.defs.runs import FRESHNESS_CHECK_JOB_NAME, SYNC_JOB_NAME
from pricing_pipeline.defs.sync.assets import normalized_prices, published_prices, raw_price_snapshot
from pricing_pipeline.defs.sync.freshness import price_freshness, provider_freshness

# One provider per run. The in-process executor: a sync is three small steps, and the
# multiprocess executor's per-step interpreter start costs more than the sync itself. The
# hooks are on the assets, so this job and the implicit asset job behave the same.
price_sync_job = define_asset_job(
    SYNC_JOB_NAME,
    selection=AssetSelection.assets(raw_price_snapshot, normalized_prices, published_prices),
    executor_def=in_process_executor,
    description="Fetch, normalize, check and publish one provider's prices.",
)

freshness_check_job = define_asset_job(
    FRESHNESS_CHECK_JOB_NAME,
    # The observation too: it lists every provider, and it makes this job (and so its schedule)
    # the asset's automation on its page.
    selection=AssetSelection.assets(*price_freshness.keys) | AssetSelection.checks(provider_freshness),
    executor_def=in_process_executor,
    description="Observe every provider's freshness and evaluate its check.",
)
