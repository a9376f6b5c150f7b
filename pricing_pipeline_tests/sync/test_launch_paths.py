"""Runs of the implicit asset job (what the catalog's Materialize button, partition backfills
and GraphQL launch) behave like price_sync_job runs; runs that end without a step saying so
get their sync log row closed by the reconciler. The real webserver and daemon are exercised
in pricing_pipeline_tests/deployment."""

from __future__ import annotations

import time
from datetime import timedelta

from dagster import AssetCheckKey, DagsterEventType
from dagster._core.test_utils import create_run_for_test

from pricing_pipeline.defs.metrics.derivation import collect_state
from pricing_pipeline.defs.runs import PARTITION_TAG, PUBLISHED_KEY, RAW_SNAPSHOT_KEY, SYNC_ASSET_KEYS, is_sync_run
from pricing_pipeline.defs.sync.sensors import reconcile_sync_log

UI_SELECTION = sorted(SYNC_ASSET_KEYS)


def implicit_run(sync_defs, instance, provider: str, selection=UI_SELECTION):
    job = sync_defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        partition_key=provider, instance=instance, asset_selection=selection, raise_on_error=False
    )


def planned_checks(instance, run_id: str) -> set[AssetCheckKey]:
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ).records
    return {r.event_log_entry.dagster_event.event_specific_data.asset_check_key for r in records}


def test_a_failed_catalog_materialization_closes_its_sync_log_and_is_counted(
    replay, sync_defs, dagster_instance, store
):
    replay.serve("/deepinfra", b'{"detail": "not found"}', status=404)
    result = implicit_run(sync_defs, dagster_instance, "deepinfra")
    assert not result.success
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run.job_name == "__ASSET_JOB" and is_sync_run(run)
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("failure", "http_4xx")
    assert row["finished_at"] is not None
    state = collect_state(dagster_instance)
    assert state.runs_total[("manual", "deepinfra", "failure")] == 1
    assert state.errors_total[("deepinfra", "http_4xx")] == 1
    # the run carried the sync assets' checks, and no provider's freshness check
    planned = planned_checks(dagster_instance, result.run_id)
    assert {k.name for k in planned} >= {"normalized_prices_schema", "price_guard_price_jump"}
    assert not any(k.name.startswith("fresh_") for k in planned)


def test_a_blocked_catalog_materialization_is_recorded_as_blocked(replay, sync_defs, dagster_instance, store):
    assert implicit_run(sync_defs, dagster_instance, "chutes").success
    replay.serve("/chutes", b'{"object": "list", "data": []}')  # the model-count check blocks
    result = implicit_run(sync_defs, dagster_instance, "chutes")
    assert not result.success
    row = store.sync_row(result.run_id)
    assert (row["status"], row["error_type"]) == ("blocked", "check_blocked")
    assert "blocked by" in row["error"]
    state = collect_state(dagster_instance)
    assert state.runs_total[("manual", "chutes", "blocked")] == 1
    assert state.runs_total[("manual", "chutes", "success")] == 1
    assert state.last_publish["chutes"].models > 0


def test_a_successful_catalog_materialization_publishes_like_the_job(replay, sync_defs, dagster_instance, store):
    result = implicit_run(sync_defs, dagster_instance, "novita")
    assert result.success
    row = store.sync_row(result.run_id)
    assert row["status"] == "success" and row["models_fetched"] > 0
    materialization = result.asset_materializations_for_node("published_prices")[0]
    assert materialization.metadata["provider"].value == "novita"
    assert collect_state(dagster_instance).runs_total[("manual", "novita", "success")] == 1


def test_the_reconciler_closes_rows_of_runs_that_ended_without_saying_so(replay, sync_defs, dagster_instance, store):
    instance = dagster_instance
    # only the raw snapshot selected in the UI: the run succeeds without publishing
    partial = implicit_run(sync_defs, instance, "vercel", selection=[RAW_SNAPSHOT_KEY])
    assert partial.success
    assert store.sync_row(partial.run_id)["status"] == "running"

    def started_run(provider: str):
        run = create_run_for_test(instance, job_name="price_sync_job", tags={PARTITION_TAG: provider})
        store.start_sync(provider, run.run_id)
        return run

    killed = started_run("openrouter")  # its worker died; run monitoring failed it
    instance.report_run_failed(killed, "Run timed out after exceeding its maximum runtime of 600 seconds.")
    canceled = started_run("litellm")
    instance.report_run_canceled(canceled)
    still_running = started_run("together")

    closed = reconcile_sync_log(instance, store)
    assert closed == {partial.run_id: "incomplete", killed.run_id: "failure", canceled.run_id: "canceled"}
    row = store.sync_row(killed.run_id)
    assert row["finished_at"] is not None and "maximum runtime" in row["error"]
    assert store.sync_row(still_running.run_id)["status"] == "running"
    assert reconcile_sync_log(instance, store) == {}  # idempotent

    # a row whose run this instance never had is closed only after a grace period
    store.start_sync("chutes", "not-a-run-of-this-instance")
    assert reconcile_sync_log(instance, store) == {}
    later = time.time() + timedelta(hours=7).total_seconds()
    assert reconcile_sync_log(instance, store, now=later) == {"not-a-run-of-this-instance": "failure"}


def test_other_runs_are_not_sync_runs(sync_defs, dagster_instance):
    freshness = create_run_for_test(dagster_instance, job_name="price_freshness_check_job")
    cross = create_run_for_test(dagster_instance, job_name="__ASSET_JOB", tags={PARTITION_TAG: "nosuch"})
    assert not is_sync_run(freshness) and not is_sync_run(cross)
    assert PUBLISHED_KEY in SYNC_ASSET_KEYS
