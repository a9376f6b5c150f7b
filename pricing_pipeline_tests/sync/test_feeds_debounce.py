"""price_feeds runs once after a tick or a backfill, not once per provider (issue 31): the
sensor waits while publishing runs are still queued or running, then asks for one feeds run
covering every sync that succeeded since the last one."""

from __future__ import annotations

import time

from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, build_sensor_context
from dagster._core.test_utils import create_run_for_test

from pricing_pipeline.defs.feeds.sensors import MAX_WAIT_SECONDS, feeds_request, price_feeds_after_sync
from pricing_pipeline.defs.runs import PARTITION_TAG, TRIGGER_TAG

PROVIDERS = ("openrouter", "deepinfra", "vercel", "chutes")


def sync_run(instance, provider: str, status: DagsterRunStatus, **tags):
    return create_run_for_test(
        instance, job_name="price_sync_job", status=status, tags={PARTITION_TAG: provider, TRIGGER_TAG: "backfill", **tags}
    )


def tick(instance, cursor: str | None):
    result = price_feeds_after_sync(build_sensor_context(instance=instance, cursor=cursor))
    return result.run_requests or [], result.cursor, result.skip_reason


def test_one_feeds_run_after_a_backfill_of_several_providers(dagster_instance):
    instance = dagster_instance
    runs = {p: sync_run(instance, p, DagsterRunStatus.STARTED) for p in PROVIDERS}
    cursor = None
    requests = []
    for done in PROVIDERS:  # the syncs finish one by one; the sensor ticks after each
        succeed(instance, runs[done])
        new, cursor, _ = tick(instance, cursor)
        requests += new
    assert len(requests) == 1  # not one per provider
    new, cursor, skip = tick(instance, cursor)
    assert new == [] and "no publishing run succeeded" in skip.skip_message


def test_runs_of_the_cli_and_other_jobs_ask_for_nothing(dagster_instance):
    sync_run(dagster_instance, "openrouter", DagsterRunStatus.SUCCESS, **{TRIGGER_TAG: "cli"})
    create_run_for_test(dagster_instance, job_name="price_freshness_check_job", status=DagsterRunStatus.SUCCESS)
    new, _, skip = tick(dagster_instance, None)
    assert new == [] and "no publishing run succeeded" in skip.skip_message


def test_a_stuck_run_never_starves_the_feeds(dagster_instance):
    sync_run(dagster_instance, "openrouter", DagsterRunStatus.SUCCESS)
    sync_run(dagster_instance, "deepinfra", DagsterRunStatus.STARTED)
    request, cursor, why = feeds_request(dagster_instance, 0.0, _now())
    assert request is None and "waiting for 1 still queued or running" in why
    request, _, _ = feeds_request(dagster_instance, cursor, _now() + MAX_WAIT_SECONDS + 1)
    assert request is not None


def _now() -> float:
    return time.time()


def succeed(instance, run) -> None:
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name), run_id=run.run_id)
