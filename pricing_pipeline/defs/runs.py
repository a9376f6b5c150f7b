"""What a sync run is, however it was launched, and the names every concern shares.

A sync run is any Dagster run that materializes a provider partition of the sync assets:
``price_sync_job`` (schedule, CLI, Jobs page) or the implicit ``__ASSET_JOB`` (the catalog's,
lineage's and partitions page's Materialize button, partition backfills, GraphQL). Everything
that judges runs (the sync log reconciler, the metrics, the feeds) goes through
:func:`is_sync_run`. The job name, asset keys and run tags live here, below ``defs/sync`` and
the concerns built on it, so no concern imports another for a name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dagster import AssetKey, DagsterRun
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME

from pricing_pipeline.providers.registry import PROVIDER_NAMES

SYNC_JOB_NAME = "price_sync_job"
# A person's accept / reject of held models (defs/sync/review.py): publishes, but syncs nothing.
REVIEW_JOB_NAME = "price_review_job"
SYNC_JOB_NAMES = (SYNC_JOB_NAME, IMPLICIT_ASSET_JOB_NAME)
# Re-publishing a provider's stored snapshot on purpose (defs/sync/republish.py): named,
# audited, and never a sync, so it never moves freshness.
REPUBLISH_JOB_NAME = "price_republish_job"
# Who decided a review or a re-publish (the freshness text names them).
DECIDED_BY_TAG = "pricing/decided_by"
# Observes price_freshness and evaluates every fresh_<provider> check (its schedule, the CLI's sync).
FRESHNESS_CHECK_JOB_NAME = "price_freshness_check_job"
PARTITION_TAG = "dagster/partition"
RAW_SNAPSHOT_KEY = AssetKey("raw_price_snapshot")
NORMALIZED_KEY = AssetKey("normalized_prices")
PUBLISHED_KEY = AssetKey("published_prices")
# Every model held for a person, observed after each publish and review (defs/sync/held.py).
HELD_KEY = AssetKey("held_prices")
SYNC_ASSET_KEYS = frozenset({RAW_SNAPSHOT_KEY, NORMALIZED_KEY, PUBLISHED_KEY})
# The provider's bills reconciled against our prices (defs/bills); the metrics read its
# materializations.
BILLS_KEY = AssetKey("bill_reconciliation")
BILLS_JOB_NAME = "bill_reconciliation_job"
# The price feeds (defs/feeds): the metrics read when they were last written.
FEEDS_KEY = AssetKey("price_feeds")

def provider_of(run: DagsterRun) -> str | None:
    """The provider a sync run syncs; None for any other run (freshness checks, the
    cross-source comparison, a run of another code location)."""
    provider = run.tags.get(PARTITION_TAG)
    if provider not in PROVIDER_NAMES or run.job_name not in SYNC_JOB_NAMES:
        return None
    if not fetches(run):
        return None
    return provider


def fetches(run: DagsterRun) -> bool:
    """Whether the run fetches the provider (``raw_price_snapshot`` is in it): a run of the
    later sync assets alone would publish a snapshot stored by an earlier run, so the assets
    refuse it (defs/sync/assets.py) and it is no sync run. A re-execution keeps its parent's
    selection, so it re-publishes that run's own fetch."""
    # No selection (None, or empty as `materialize()` records it): the whole job, whose assets
    # Dagster resolved itself.
    return run.job_name == SYNC_JOB_NAME or not run.asset_selection or RAW_SNAPSHOT_KEY in run.asset_selection


def is_sync_run(run: DagsterRun) -> bool:
    return provider_of(run) is not None


# Facts a run records about itself in its own tags (the assets' hooks and the blocking checks
# write them; the metrics read them). Stamped with the run id: a re-execution may copy its
# parent's tags and must not inherit the parent's facts.
RUN_OUTCOME_TAG = "pricing/run_outcome"
RUN_USAGE_TAG = "pricing/run_usage"
# Who asked for the run: "schedule" or "cli" (the CLI writes the feeds itself, once for all
# its runs, so the after-sync feeds sensor leaves its runs alone; its feeds and freshness runs
# say "cli" too); the sync's first step tags the rest "backfill" or "ui" (the UI's buttons,
# GraphQL), so every sync run says who.
TRIGGER_TAG = "pricing/trigger"
# A run the change watcher asked for (defs/watch): the change it carries (its run key), and the
# models whose per-model endpoints it fetches (a JSON list; every other model keeps its own).
WATCH_KEY_TAG = "pricing/watch_key"
DETAIL_MODELS_TAG = "pricing/detail_models"
BACKFILL_TAG = "dagster/backfill"
# A sync run that held or quarantined models says how many (the Runs list shows run tags).
HELD_TAG = "pricing/held"
QUARANTINED_TAG = "pricing/quarantined"


def untagged_trigger(tags: Mapping[str, str]) -> str | None:
    """The trigger of a run launched without one (from the UI or a backfill); None when tagged."""
    if TRIGGER_TAG in tags:
        return None
    return "backfill" if BACKFILL_TAG in tags else "ui"


def stamped(raw: str | None, run_id: str) -> dict | None:
    """The JSON object of a run-tag value, if it was written by this run."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("run_id") == run_id else None
