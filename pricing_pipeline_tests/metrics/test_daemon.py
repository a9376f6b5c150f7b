"""The daemon's own code paths: the scheduler launches the sync runs from the schedule, the
sensor daemon evaluates the heartbeat and run-status sensors (cursors, minimum intervals,
several finished runs per tick), and the schedule's state comes from the instance."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time, instance_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._scheduler.scheduler import launch_scheduled_runs

from pricing_pipeline.defs.metrics import publisher as publisher_module
from pricing_pipeline.defs.metrics.exposition import HEARTBEAT_METRIC
from pricing_pipeline.providers.registry import PROVIDER_NAMES

LOCATION = "pricing_pipeline"
logger = logging.getLogger("pricing_pipeline_tests.daemon")


@pytest.fixture
def daemon_instance(tmp_path):
    home = tmp_path / "daemon_home"
    home.mkdir()
    # Runs launched by the daemon execute synchronously in this process.
    with instance_for_test(temp_dir=str(home), synchronous_run_launcher=True, synchronous_run_coordinator=True) as instance:
        yield instance


@pytest.fixture
def workspace(daemon_instance, replay, pushgateway, sqlite_url, monkeypatch):
    monkeypatch.setenv("PRICING_PUSHGATEWAY_URL", pushgateway.url)
    with daemon_workspace(daemon_instance, sqlite_url, monkeypatch) as context:
        yield context


@pytest.fixture
def workspace_publishing_off(daemon_instance, replay, sqlite_url, monkeypatch):
    # Empty, as unset is to the deployment (pushgateway_url_config): daemon_defs is loaded once
    # per process, so its EnvVar stays and resolves to "".
    monkeypatch.setenv("PRICING_PUSHGATEWAY_URL", "")
    with daemon_workspace(daemon_instance, sqlite_url, monkeypatch) as context:
        yield context


@contextmanager
def daemon_workspace(daemon_instance, sqlite_url, monkeypatch):
    monkeypatch.setenv("PRICING_DATABASE_URL", sqlite_url)
    publisher_module.reset_history()
    origin = LoadableTargetOrigin(
        executable_path=sys.executable,
        python_file=str(Path(__file__).with_name("daemon_defs.py")),
        attribute="defs",
        working_directory=str(Path(__file__).resolve().parents[2]),
    )
    target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name=LOCATION))
    with create_test_daemon_workspace_context(target, daemon_instance) as context:
        yield context
    publisher_module.reset_history()


def sensor_iteration(workspace, at: datetime) -> None:
    with freeze_time(at):
        list(execute_sensor_iteration(workspace, logger, None, None))


def sensor_state(instance, name: str):
    return next(s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == name)


def sensor_ticks(instance, name: str):
    state = sensor_state(instance, name)
    return instance.get_ticks(state.instigator_origin_id, state.selector_id)


def metrics_sensor_notes(instance, run_id: str) -> list[str]:
    """What the sensor daemon wrote into a run's log when a metrics sensor handled the run."""
    return [
        entry.message
        for entry in instance.all_logs(run_id)
        if (entry.message or "").startswith('Sensor "pricing_metrics_') and "acted on run status" in entry.message
    ]


# The small catalogs publish; the big ones are refused (404, not retried) to keep the test
# short, and one provider answers 500 to both attempts.
SUCCEEDS = ("chutes", "novita", "vercel", "together")
REFUSED = ("openrouter", "modelsdev", "litellm")
BROKEN = ("deepinfra",)


def test_scheduled_runs_and_daemon_sensors(workspace, daemon_instance, pushgateway, replay):
    instance = daemon_instance
    for provider in REFUSED:
        replay.serve(f"/{provider}", b'{"error": "not found"}', status=404)
    for provider in BROKEN:
        replay.serve(f"/{provider}", b'{"error": "boom"}', status=500)
    now = datetime.now(UTC)
    tick = (now + timedelta(hours=6)).replace(hour=(now.hour // 6 + 1) * 6 % 24, minute=0, second=0, microsecond=0)
    if tick <= now:
        tick += timedelta(days=1)

    # The daemon starts: the heartbeat pushes, the run-status sensors set their cursors.
    sensor_iteration(workspace, now)
    assert pushgateway.value(HEARTBEAT_METRIC) is not None
    assert pushgateway.value("pricing_scheduler_enabled") == 1
    assert pushgateway.value("pricing_sync_interval_seconds") == 6 * 3600
    assert pushgateway.value("pricing_scheduled_sync_runs_total", provider="chutes", status="success") == 0

    # The scheduler reaches the next 6-hourly tick: one run per provider, launched by Dagster.
    list(launch_scheduled_runs(workspace, logger, tick - timedelta(minutes=1), {}))
    list(launch_scheduled_runs(workspace, logger, tick + timedelta(seconds=30), {}))
    sync_runs = instance.get_runs()
    sync_runs = [r for r in sync_runs if r.job_name == "price_sync_job"]
    assert sorted(r.tags["dagster/partition"] for r in sync_runs) == sorted(PROVIDER_NAMES)
    assert all(r.tags["dagster/schedule_name"] == "price_sync_schedule" for r in sync_runs)
    status = {r.tags["dagster/partition"]: r.status.value for r in sync_runs}
    assert status == {p: "SUCCESS" if p in SUCCEEDS else "FAILURE" for p in PROVIDER_NAMES}

    # The next sensor tick sees the runs finish (5 per tick), and pushes once for all of them.
    sensor_iteration(workspace, now + timedelta(seconds=61))
    for provider in PROVIDER_NAMES:
        outcome = "success" if provider in SUCCEEDS else "failure"
        for s in ("success", "failure", "blocked", "canceled"):
            expected = 1 if s == outcome else 0
            assert pushgateway.value("pricing_scheduled_sync_runs_total", provider=provider, status=s) == expected, provider
            assert pushgateway.value("pricing_manual_sync_runs_total", provider=provider, status=s) == 0
        assert pushgateway.value("pricing_scheduled_sync_duration_seconds_count", provider=provider) == 1
        error = "http_4xx" if provider in REFUSED else "http_5xx" if provider in BROKEN else None
        for error_type in ("http_4xx", "http_5xx"):
            expected = 1 if error_type == error else 0
            assert pushgateway.value("pricing_provider_errors_total", provider=provider, error_type=error_type) == expected
        if provider in SUCCEEDS:
            assert pushgateway.value("pricing_last_sync_models", provider=provider) > 0
        # The run workers recorded their resource use (in this test, in this process).
        assert pushgateway.value("pricing_sync_cpu_seconds", provider=provider) > 0
    ticks = sensor_ticks(instance, "pricing_metrics_on_sync_success")
    assert ticks[0].status != TickStatus.FAILURE, ticks[0].error
    # Further ticks process the remaining runs' events: the same values (but the clock's: the
    # heartbeat, and the age of the holds a first sync makes, unmarked_free; and the feeds' write
    # time, which the feeds run the sensors ask for after the syncs may set in between).
    values = pushgateway.values()
    sensor_iteration(workspace, now + timedelta(seconds=122))
    ticking = (HEARTBEAT_METRIC, "pricing_oldest_hold_age_seconds", "pricing_feeds_written_timestamp_seconds")
    assert {k: v for k, v in pushgateway.values().items() if k[0] not in ticking} == {
        k: v for k, v in values.items() if k[0] not in ticking
    }
    # Publishing is on: each sync run's log says which sensor pushed for it.
    for run in sync_runs:
        outcome = "success" if run.tags["dagster/partition"] in SUCCEEDS else "failure"
        assert metrics_sensor_notes(instance, run.run_id) == [
            f'Sensor "pricing_metrics_on_sync_{outcome}" acted on run status {outcome.upper()} of run {run.run_id}.'
        ]

    # Someone stops the schedule (UI / `dagster schedule stop`): the next heartbeat says so.
    schedule = (
        workspace.create_request_context()
        .get_code_location(LOCATION)
        .get_repository("__repository__")
        .get_schedule("price_sync_schedule")
    )
    instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
    sensor_iteration(workspace, now + timedelta(seconds=183))
    assert pushgateway.value("pricing_scheduler_enabled") == 0
    instance.start_schedule(schedule)
    sensor_iteration(workspace, now + timedelta(seconds=244))
    assert pushgateway.value("pricing_scheduler_enabled") == 1


def test_run_status_sensors_start_stopped_and_say_why_when_publishing_is_off(
    workspace_publishing_off, daemon_instance, sqlite_url
):
    """No Pushgateway: the metrics sensors start stopped and their description says why (read when
    the definitions are built, whatever an earlier import of the module saw), and no run's log
    says a metrics sensor acted on it. Started anyway (here: a code location this worker loaded
    earlier with a Pushgateway, as an operator may start them), they skip with the reason."""
    from dagster import DefaultSensorStatus

    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.metrics.resources import PUBLISHING_OFF
    from pricing_pipeline.defs.metrics.sensors import OFF_NOTE
    from pricing_pipeline.defs.runs import TRIGGER_TAG
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

    instance, workspace = daemon_instance, workspace_publishing_off
    now = datetime.now(UTC)
    sensor_iteration(workspace, now)
    defs = build_definitions({"pricing_db": PricingDatabase(url=sqlite_url), "upstream": UpstreamApi()})
    metrics = [s for s in defs.sensors if s.name.startswith("pricing_metrics_")]
    assert len(metrics) == 4
    assert all(s.default_status == DefaultSensorStatus.STOPPED and OFF_NOTE in s.description for s in metrics)
    job = defs.resolve_job_def("price_sync_job")
    # Tagged cli: the feeds sensor leaves them alone, so these are the only runs.
    runs = [
        job.execute_in_process(partition_key=provider, instance=instance, tags={TRIGGER_TAG: "cli"}).run_id
        for provider in ("chutes", "novita")
    ]
    for tick in range(1, len(runs) + 1):
        sensor_iteration(workspace, now + timedelta(seconds=31 * tick))
    for run_id in runs:
        assert metrics_sensor_notes(instance, run_id) == []
    ticked = {s.name for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)}
    for name in {s.name for s in metrics} & ticked:
        ticks = sensor_ticks(instance, name)
        assert all(t.status == TickStatus.SKIPPED for t in ticks), name  # nothing pushed, no run requested
        if name == "pricing_metrics_on_sync_success":  # it saw the two runs: skipped, saying why
            assert PUBLISHING_OFF in {t.skip_reason for t in ticks}
