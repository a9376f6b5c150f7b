"""Edge cases of the derivation: what counts as scheduled, runs that died without a failed step,
re-executions that copy their parent's tags, publishing switched off, and the contract's
label sets and buckets against the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dagster import EnvVar, SkipReason
from dagster._core.storage.tags import (
    BACKFILL_ID_TAG,
    PARENT_RUN_ID_TAG,
    RETRY_NUMBER_TAG,
    ROOT_RUN_ID_TAG,
    SCHEDULE_NAME_TAG,
)
from dagster._core.test_utils import create_run_for_test

from pricing_pipeline.defs.metrics import run_facts, totals
from pricing_pipeline.defs.metrics.derivation import collect_state
from pricing_pipeline.defs.metrics.publisher import sync_schedule_info
from pricing_pipeline.defs.metrics.run_facts import trigger_of
from pricing_pipeline.defs.runs import RUN_OUTCOME_TAG, RUN_USAGE_TAG
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.metrics.conftest import heartbeat, run_status_sensor_tick

METRICS_MD = Path(__file__).resolve().parents[2] / "monitoring" / "METRICS.md"


def test_scheduled_means_launched_by_a_schedule_or_its_automatic_retry():
    schedule = {SCHEDULE_NAME_TAG: "price_sync_schedule", "dagster/partition": "chutes"}
    assert trigger_of(schedule) == "scheduled"
    assert trigger_of({**schedule, PARENT_RUN_ID_TAG: "p", ROOT_RUN_ID_TAG: "p", RETRY_NUMBER_TAG: "1"}) == "scheduled"
    # Re-executed by hand from the UI with the parent's tags: manual.
    assert trigger_of({**schedule, PARENT_RUN_ID_TAG: "p", ROOT_RUN_ID_TAG: "p"}) == "manual"
    assert trigger_of({"dagster/partition": "chutes", "pricing/trigger": "cli"}) == "manual"
    assert trigger_of({"dagster/partition": "chutes", BACKFILL_ID_TAG: "b"}) == "manual"
    # Our own schedule tag alone does not make a run scheduled: Dagster's does.
    assert trigger_of({"dagster/partition": "chutes", "pricing/trigger": "schedule"}) == "manual"


def test_run_that_died_without_a_failed_step_is_read_from_its_event_log_once(instance):
    run = create_run_for_test(instance, job_name="price_sync_job", tags={"dagster/partition": "litellm"})
    instance.report_run_failed(run, "run worker exited unexpectedly")  # what run monitoring does

    state = collect_state(instance)
    assert state.runs_total[("manual", "litellm", "failure")] == 1
    assert sum(state.errors_total.values()) == 0  # no error class to count it under
    assert state.event_log_reads == 1
    tag = json.loads(instance.get_run_by_id(run.run_id).tags[RUN_OUTCOME_TAG])
    assert tag == {"run_id": run.run_id, "status": "failure", "error_type": None}
    # The next computation (any process) finds the recorded outcome.
    again = collect_state(instance)
    assert again.event_log_reads == 0
    assert again.runs_total == state.runs_total


def test_run_failing_on_the_database_before_any_step_counts_as_database(replay, instance, publisher):
    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    defs = build_definitions(
        {
            "pricing_db": PricingDatabase(url="postgresql+psycopg2://postgres@127.0.0.1:1/unreachable"),
            "upstream": UpstreamApi(),
            "metrics": publisher,
        }
    )
    result = defs.resolve_job_def("price_sync_job").execute_in_process(
        partition_key="chutes", instance=instance, raise_on_error=False
    )
    assert not result.success
    state = collect_state(instance)
    assert state.errors_total[("chutes", "database")] == 1
    assert state.runs_total[("manual", "chutes", "failure")] == 1


def test_reexecution_does_not_inherit_its_parents_outcome_or_usage(replay, sync, instance, publisher):
    assert sync("chutes").success
    replay.serve("/chutes", b'{"object": "list", "data": []}')  # the model-count check blocks
    blocked = sync("chutes", tags={SCHEDULE_NAME_TAG: "price_sync_schedule"})
    assert not blocked.success
    parent = instance.get_run_by_id(blocked.run_id)
    assert json.loads(parent.tags[RUN_OUTCOME_TAG])["status"] == "blocked"
    assert RUN_USAGE_TAG in parent.tags

    # Re-executed by hand with the parent's tags; its worker dies before any step.
    child = create_run_for_test(
        instance,
        job_name="price_sync_job",
        tags={**parent.tags, PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: parent.run_id},
    )
    instance.report_run_failed(child, "run worker exited unexpectedly")

    runs = {r.run_id: r for r in run_facts.sync_runs(instance)}
    assert (runs[parent.run_id].trigger, runs[parent.run_id].status) == ("scheduled", "blocked")
    assert runs[parent.run_id].error_type == "check_blocked"
    assert (runs[child.run_id].trigger, runs[child.run_id].status) == ("manual", "failure")
    assert runs[child.run_id].error_type is None
    assert runs[child.run_id].usage is None


def test_publishing_is_off_without_a_pushgateway_url(replay, sqlite_url, instance, pushgateway, monkeypatch):
    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    monkeypatch.delenv("PRICING_PUSHGATEWAY_URL", raising=False)
    from pricing_pipeline.definitions import default_resources

    assert not default_resources()["metrics"].enabled
    monkeypatch.setenv("PRICING_PUSHGATEWAY_URL", pushgateway.url)
    # Set: passed as an EnvVar (it may carry credentials), resolved where it is used.
    assert isinstance(default_resources()["metrics"].pushgateway_url, EnvVar)
    monkeypatch.delenv("PRICING_PUSHGATEWAY_URL")

    # Definitions built without a metrics resource get one that is off.
    defs = build_definitions({"pricing_db": PricingDatabase(url=sqlite_url), "upstream": UpstreamApi()})
    off = defs.resources["metrics"]
    assert not off.enabled
    result = defs.resolve_job_def("price_sync_job").execute_in_process(
        partition_key="chutes", instance=instance, raise_on_error=False
    )
    assert result.success
    # no facts recorded for the metrics (who launched the run is tagged either way)
    tags = instance.get_run_by_id(result.run_id).tags
    assert not [key for key in tags if key.startswith("pricing/") and key != "pricing/trigger"]
    # Both kinds of sensor skip, saying why; a run-status sensor returning None instead would
    # have Dagster note in the run's log that it acted on the run.
    off_reason = "metrics publishing is off: PRICING_PUSHGATEWAY_URL is not set"
    for reason in (heartbeat(instance, off), run_status_sensor_tick(instance, off, result.run_id)):
        assert isinstance(reason, SkipReason) and reason.skip_message == off_reason
    assert pushgateway.values() == {}


def test_cron_interval():
    assert run_facts.cron_interval_hours("0 */6 * * *") == 6
    assert run_facts.cron_interval_hours("*/15 * * * *") == 0.25
    assert run_facts.cron_interval_hours("0 3 * * *", "Europe/Berlin") == pytest.approx(24, abs=0.05)
    info = sync_schedule_info()
    assert (info.name, info.default_running) == ("price_sync_schedule", True)


def test_code_and_contract_agree():
    text = METRICS_MD.read_text()

    def listed(label: str) -> list[str]:
        if label == "provider":
            values = re.search(r"registry\.py`\):\s*`([^`]+)`", text).group(1)
        else:
            values = re.search(rf"^- `{label}`: `([^`]+)`", text, re.MULTILINE).group(1)
        return [v.strip() for v in re.split(r"[|,]", values)]

    assert listed("status") == list(totals.STATUSES)
    assert listed("error_type") == list(ERROR_TYPES)
    assert listed("kind") == list(totals.CHANGE_KINDS)
    assert listed("provider") == list(PROVIDER_NAMES)

    def buckets(name: str) -> tuple[float, ...]:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        return tuple(float(b) for b in re.search(r"Buckets: ([\d., ]+) s", row).group(1).split(","))

    assert buckets("pricing_scheduled_sync_duration_seconds") == totals.SYNC_DURATION_BUCKETS
    assert buckets("pricing_provider_request_duration_seconds") == totals.REQUEST_DURATION_BUCKETS
    assert buckets("pricing_database_query_duration_seconds") == totals.DATABASE_DURATION_BUCKETS


def test_active_run_ages_show_a_wedged_provider_and_its_queue(instance):
    import time

    from dagster import DagsterRunStatus

    now = time.time()
    started = create_run_for_test(
        instance, job_name="__ASSET_JOB", tags={"dagster/partition": "openrouter"}, status=DagsterRunStatus.STARTED
    )
    instance.handle_new_event(_run_started_event(started.run_id, now - 1200))
    create_run_for_test(instance, job_name="price_sync_job", tags={"dagster/partition": "openrouter"},
                        status=DagsterRunStatus.NOT_STARTED)  # created, waiting to be launched
    create_run_for_test(instance, job_name="price_freshness_check_job", status=DagsterRunStatus.STARTED)
    ages = run_facts.active_run_ages(instance, now + 30)
    assert 1220 <= ages[("openrouter", "in_progress")] <= 1240
    assert 20 < ages[("openrouter", "queued")] <= 30
    assert ages[("deepinfra", "in_progress")] == ages[("deepinfra", "queued")] == 0
    assert len(ages) == 2 * len(PROVIDER_NAMES)  # every series always exported


def _run_started_event(run_id: str, timestamp: float):
    from dagster import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    event = DagsterEvent(DagsterEventType.RUN_START.value, job_name="__ASSET_JOB")
    return EventLogEntry(
        error_info=None, level="debug", user_message="", run_id=run_id, timestamp=timestamp, dagster_event=event
    )


def test_daemons_heartbeating_counts_distinct_fresh_daemon_ids(instance):
    import time

    from dagster._daemon.types import DaemonHeartbeat

    now = time.time()
    instance.add_daemon_heartbeat(DaemonHeartbeat(now - 5, "SCHEDULER", "daemon-a", None))
    instance.add_daemon_heartbeat(DaemonHeartbeat(now - 5, "SENSOR", "daemon-a", None))
    assert run_facts.daemons_heartbeating(instance, now) == 1
    instance.add_daemon_heartbeat(DaemonHeartbeat(now - 3, "SENSOR", "daemon-b", None))  # a second process
    assert run_facts.daemons_heartbeating(instance, now) == 2
    # a daemon that stopped two minutes ago no longer counts
    assert run_facts.daemons_heartbeating(instance, now + 120) == 0
