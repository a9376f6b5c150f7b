"""When bills are reconciled: every provider hourly, and the provider that synced after each
successful sync run (not after other runs, not twice while one waits)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import DagsterEventType, build_run_status_sensor_context, build_schedule_context, materialize

from pricing_pipeline.defs.bills.assets import bill_reconciliation
from pricing_pipeline.defs.bills.jobs import bill_reconciliation_after_sync, bill_reconciliation_schedule
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.providers.registry import PROVIDER_NAMES


@pytest.fixture
def db_url(sqlite_url):
    return sqlite_url  # one backend: nothing here depends on it


def test_the_schedule_reconciles_every_provider_once_per_tick():
    with build_schedule_context(scheduled_execution_time=datetime(2026, 12, 7, 10, 15, tzinfo=UTC)) as context:
        requests = list(bill_reconciliation_schedule(context))
    assert [r.partition_key for r in requests] == list(PROVIDER_NAMES)
    assert len({r.run_key for r in requests}) == len(requests)


def _tick(instance, run):
    event = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_SUCCESS).records[-1]
    context = build_run_status_sensor_context(sensor_name=bill_reconciliation_after_sync.name,
                                              dagster_event=event.event_log_entry.dagster_event,
                                              dagster_instance=instance, dagster_run=run)
    return bill_reconciliation_after_sync(context)


def test_a_successful_sync_requests_the_reconciliation_of_its_provider(replay, run_sync, db_url, dagster_instance):
    synced = run_sync("chutes")
    assert synced.success
    request = _tick(dagster_instance, synced.dagster_run)
    assert request.partition_key == "chutes"
    assert request.run_key == f"bills-after-{synced.run_id}"
    # the reconciliation's own run is not a sync: nothing requested after it
    reconciled = materialize([bill_reconciliation], instance=dagster_instance, partition_key="chutes",
                             resources={"pricing_db": PricingDatabase(url=db_url)})
    assert _tick(dagster_instance, reconciled.dagster_run) is None
