"""What the UI launches, through the real webserver's GraphQL API, executed by the real daemon:
the catalog's Materialize button (the implicit asset job with the assets' checks, one
partition) and a partition backfill of three providers. Each run closes its sync log row,
gets counted in the pushed metrics, and leaves every provider's freshness checks alone."""

from __future__ import annotations

import json

from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterRunStatus, RunsFilter

from pricing_pipeline.defs.runs import SYNC_ASSET_KEYS
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.deployment.graphql_documents import ASSET_CHECKS, LAUNCH_BACKFILL, LAUNCH_RUN
from pricing_pipeline_tests.recordings import REPLAY_FILES

SYNC_ASSETS = [{"path": key.path} for key in sorted(SYNC_ASSET_KEYS)]


def ui_check_selection(deployment) -> list[dict]:
    """The checks the catalog's Materialize button sends along: every check of the selected
    assets that the implicit asset job can execute (the UI filters on jobNames)."""
    nodes = deployment.graphql(ASSET_CHECKS, keys=SYNC_ASSETS)["assetNodes"]
    return [
        {"assetKey": {"path": node["assetKey"]["path"]}, "name": check["name"]}
        for node in nodes
        for check in node["assetChecksOrError"]["checks"]
        if "__ASSET_JOB" in check["jobNames"]
    ]


def materialize_from_catalog(deployment, provider: str) -> str:
    params = {
        "mode": "default",
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": provider}]},
        "selector": {
            "repositoryLocationName": "pricing_pipeline",
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": SYNC_ASSETS,
            "assetCheckSelection": ui_check_selection(deployment),
        },
    }
    result = deployment.graphql(LAUNCH_RUN, executionParams=params)["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def run_failure(instance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}).records
    return " | ".join(r.event_log_entry.message or "" for r in records)[:2000]


def freshness_evaluations_by_other_runs(instance) -> list[str]:
    """Run ids of runs other than the freshness job's that planned or evaluated a freshness check."""
    offending = []
    for provider in PROVIDER_NAMES:
        key = AssetCheckKey(AssetKey("price_freshness"), f"fresh_{provider}")
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=100):
            run = instance.get_run_by_id(record.run_id)
            if run is None or run.job_name != "price_freshness_check_job":
                offending.append(record.run_id)
    return offending


def wait_for_metric(deployment, value: float, name: str, **labels) -> None:
    deployment._wait(lambda: deployment.pushgateway.value(name, **labels) == value, 90,
                     f"{name}{labels} == {value} (now {deployment.pushgateway.value(name, **labels)})")


def test_catalog_materialization_and_backfill_behave_like_the_sync_job(deployment):
    deployment.start_webserver()
    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()
    store = deployment.store()

    # 1. Materialize one provider from the catalog while its API fails: the run fails, its
    #    sync log row is closed with the error type, the failure is counted.
    deployment.upstream.serve("/deepinfra", b'{"error": "boom"}', status=500)
    failed = materialize_from_catalog(deployment, "deepinfra")
    runs = deployment.wait_for_runs([failed])
    assert runs[failed].status == DagsterRunStatus.FAILURE
    assert runs[failed].job_name == "__ASSET_JOB"
    row = store.sync_row(failed)
    assert (row["status"], row["error_type"]) == ("failure", "http_5xx") and row["finished_at"] is not None
    wait_for_metric(deployment, 1, "pricing_manual_sync_runs_total", provider="deepinfra", status="failure")
    assert deployment.pushgateway.value("pricing_provider_errors_total", provider="deepinfra", error_type="http_5xx") == 1

    with deployment.instance() as instance:
        planned = {
            r.event_log_entry.dagster_event.event_specific_data.asset_check_key.name
            for r in instance.get_records_for_run(failed, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED).records
        }
        assert "normalized_prices_model_count" in planned
        assert not {name for name in planned if name.startswith("fresh_")}

    # 2. The API recovers; the same button publishes.
    deployment.upstream.serve_file("/deepinfra", REPLAY_FILES["deepinfra"])
    succeeded = materialize_from_catalog(deployment, "deepinfra")
    assert deployment.wait_for_runs([succeeded])[succeeded].status == DagsterRunStatus.SUCCESS
    row = store.sync_row(succeeded)
    assert row["status"] == "success" and row["models_fetched"] == 88
    wait_for_metric(deployment, 1, "pricing_manual_sync_runs_total", provider="deepinfra", status="success")

    # 3. A backfill of three providers from the partitions page.
    backfill = deployment.graphql(
        LAUNCH_BACKFILL,
        backfillParams={"partitionNames": ["chutes", "novita", "vercel"], "assetSelection": SYNC_ASSETS},
    )["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    with deployment.instance() as instance:
        def backfill_runs():
            runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill["backfillId"]}))
            return runs if len(runs) == 3 and all(r.is_finished for r in runs) else None

        runs = deployment._wait(backfill_runs, 180, "the backfill's three runs")
        assert sorted(r.tags["dagster/partition"] for r in runs) == ["chutes", "novita", "vercel"]
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs), [
            (r.tags["dagster/partition"], r.status, run_failure(instance, r.run_id)) for r in runs
        ]
        for run in runs:
            assert store.sync_row(run.run_id)["status"] == "success"
        for provider in ("chutes", "novita", "vercel"):
            wait_for_metric(deployment, 1, "pricing_manual_sync_runs_total", provider=provider, status="success")
            assert deployment.pushgateway.value("pricing_last_sync_timestamp", provider=provider) > 0

        # 4. The price feeds were refreshed after the syncs (the feeds sensor, in the daemon).
        def feed_providers():
            path = deployment.tmp / "feeds" / "prices.json"
            return set(json.loads(path.read_text())["providers"]) if path.exists() else set()

        deployment._wait(lambda: feed_providers() >= {"deepinfra", "chutes", "novita", "vercel"}, 90,
                         "the feeds to include the synced providers")
        cost_map = json.loads((deployment.tmp / "feeds" / "litellm_model_cost_map.json").read_text())
        assert any(key.startswith("chutes/") for key in cost_map)

        # 5. No sync run planned, evaluated or failed any provider's freshness check.
        assert freshness_evaluations_by_other_runs(instance) == []
    assert not [r for r in store.running_syncs()]
    store.dispose()
