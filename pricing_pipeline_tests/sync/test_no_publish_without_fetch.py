"""No publish without a fetch, unless explicit (issue 31): materializing published_prices (or
normalized_prices) alone, as the asset page's Materialize does, refuses with a message that
says what to do instead, writes nothing and is no sync; re-publishing the stored snapshot is
price_republish_job, audited, and never moves freshness."""

from __future__ import annotations

import re

from dagster import DagsterEventType

from pricing_pipeline.defs.runs import NORMALIZED_KEY, PUBLISHED_KEY, is_sync_run
from pricing_pipeline.defs.sync.freshness import last_publish_time
from pricing_pipeline_tests.sync.test_freshness_tells_what_happened import T
from pricing_pipeline_tests.sync.test_launch_paths import implicit_run


def failure_message(instance, run_id: str) -> str:
    [record] = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    return record.event_log_entry.dagster_event.step_failure_data.user_failure_data.description


def test_materializing_the_later_assets_alone_refuses_and_writes_nothing(replay, run_sync, sync_defs, dagster_instance, store):
    assert run_sync("deepinfra").success
    published = last_publish_time(dagster_instance, "deepinfra")
    rows = store.sync_rows("deepinfra")
    for selection in ([PUBLISHED_KEY], [NORMALIZED_KEY, PUBLISHED_KEY], [NORMALIZED_KEY]):
        result = implicit_run(sync_defs, dagster_instance, "deepinfra", selection=selection)
        assert not result.success
        message = failure_message(dagster_instance, result.run_id)
        assert re.fullmatch(
            r"(normalized|published)_prices: refused: this run does not fetch deepinfra \(raw_price_snapshot is not "
            r"selected\), so it would re-publish a snapshot an earlier run stored and reset freshness\. To sync, launch "
            r"price_sync_job from the Jobs page \(pick the provider\) or materialize all three sync assets; to "
            r"re-publish the stored snapshot on purpose, launch price_republish_job \(by, reason\)\.",
            message,
        ), message
        assert not is_sync_run(dagster_instance.get_run_by_id(result.run_id))  # no sync: not counted, no sync log
    assert last_publish_time(dagster_instance, "deepinfra") == published  # freshness did not move
    assert store.sync_rows("deepinfra") == rows


def test_republishing_the_stored_snapshot_is_audited_and_never_moves_freshness(
    replay, run_sync, sync_defs, dagster_instance, store
):
    first = run_sync("deepinfra")
    assert first.success
    published = last_publish_time(dagster_instance, "deepinfra")
    # someone edits a price behind the pipeline's back; the re-publish restores the stored snapshot
    model = "Qwen/Qwen3.5-27B"
    job = sync_defs.resolve_job_def("price_republish_job")
    refused = job.execute_in_process(
        partition_key="deepinfra", instance=dagster_instance, raise_on_error=False,
        run_config={"ops": {"republish_stored_snapshot": {"config": {"by": "", "reason": ""}}}},
    )
    assert not refused.success
    result = job.execute_in_process(
        partition_key="deepinfra", instance=dagster_instance,
        run_config={"ops": {"republish_stored_snapshot": {"config": {"by": "jane.doe", "reason": "adapter fix 4711"}}}},
    )
    assert result.success
    row = store.sync_row(result.run_id)
    assert row["status"] == "republished" and row["models_fetched"] == 88
    assert re.fullmatch(rf"re-published stored snapshot #\d+ fetched {T}: adapter fix 4711", row["error"])
    assert dagster_instance.get_run_by_id(result.run_id).tags["pricing/decided_by"] == "jane.doe"
    assert not result.get_asset_materialization_events()  # an observation: freshness still dates from the fetch
    assert last_publish_time(dagster_instance, "deepinfra") == published
    assert store.published_records("deepinfra")[model] is not None

    freshness = sync_defs.resolve_job_def("price_freshness_check_job").execute_in_process(instance=dagster_instance)
    fresh = next(e for e in freshness.get_asset_check_evaluations() if e.check_name == "fresh_deepinfra")
    assert re.fullmatch(
        rf"deepinfra: last published {T} \(0\.0 h ago\); republished by jane\.doe at {T}, run {result.run_id[:8]}\.",
        fresh.description,
    )
    assert fresh.metadata["last_sync_run_id"].value == first.run_id  # the re-publish is not a sync
