import re
from datetime import datetime, timedelta, timezone

from dagster import AssetCheckSeverity, DagsterInstance, TimestampMetadataValue, build_schedule_context

from pricing_pipeline.defs.sync.freshness import freshness_verdict, provider_freshness
from pricing_pipeline.defs.sync.jobs import SYNC_JOB_NAME
from pricing_pipeline.defs.sync.schedules import SYNC_CRON, price_sync_schedule
from pricing_pipeline.providers.registry import PROVIDER_NAMES


def test_schedule_requests_one_keyed_run_per_provider():
    tick = datetime(2026, 11, 26, 18, 0, tzinfo=timezone.utc)
    requests = list(price_sync_schedule(build_schedule_context(scheduled_execution_time=tick)))
    assert [r.partition_key for r in requests] == list(PROVIDER_NAMES)
    assert [r.run_key for r in requests] == [f"{p}-20261126T1800" for p in PROVIDER_NAMES]
    assert all(r.tags["pricing/trigger"] == "schedule" for r in requests)
    # re-evaluating the same tick gets the same keys (the scheduler then launches nothing new)...
    again = list(price_sync_schedule(build_schedule_context(scheduled_execution_time=tick)))
    assert [r.run_key for r in again] == [r.run_key for r in requests]
    # ...and the next tick gets new ones
    later = list(price_sync_schedule(build_schedule_context(scheduled_execution_time=tick + timedelta(hours=6))))
    assert {r.run_key for r in later}.isdisjoint({r.run_key for r in requests})


def test_schedule_is_six_hourly_and_running_by_default(sync_defs):
    schedule = sync_defs.resolve_schedule_def("price_sync_schedule")
    assert SYNC_CRON == "0 */6 * * *" == schedule.cron_schedule
    assert schedule.job_name == SYNC_JOB_NAME
    assert schedule.default_status.value == "RUNNING"


def test_freshness_verdicts():
    assert freshness_verdict(timedelta(hours=5, minutes=59)) == (True, AssetCheckSeverity.WARN)
    assert freshness_verdict(timedelta(hours=6, minutes=1)) == (False, AssetCheckSeverity.WARN)
    assert freshness_verdict(timedelta(hours=8, minutes=1)) == (False, AssetCheckSeverity.ERROR)
    assert freshness_verdict(None) == (False, AssetCheckSeverity.ERROR)


def test_freshness_is_judged_per_provider(replay, run_sync, sync_defs, dagster_instance: DagsterInstance):
    assert run_sync("deepinfra").success
    job = sync_defs.resolve_job_def("price_freshness_check_job")
    result = job.execute_in_process(instance=dagster_instance, raise_on_error=False)
    verdicts = {e.check_name: (e.passed, e.severity) for e in result.get_asset_check_evaluations()}
    assert verdicts["fresh_deepinfra"] == (True, AssetCheckSeverity.WARN)
    # one fresh provider must not hide the others that were never published
    assert verdicts["fresh_openrouter"] == (False, AssetCheckSeverity.ERROR)
    assert len(verdicts) == len(PROVIDER_NAMES)


def test_partitioned_sync_assets_carry_no_asset_level_freshness_policy(sync_defs):
    # Dagster judges an asset-level policy by the newest partition: one fresh provider would
    # show "Passing" over every stale one. Freshness is per provider (fresh_<provider>).
    for spec in sync_defs.resolve_all_asset_specs():
        if spec.partitions_def is not None:
            assert spec.freshness_policy is None, spec.key


def test_freshness_check_descriptions_read_in_hours():
    spec = next(s for s in provider_freshness.check_specs if s.name == "fresh_openrouter")
    assert spec.description == (
        "openrouter prices were published, or verified current by the change watcher, within 8 hours "
        "(warning after 6 hours)."
    )


def test_freshness_says_the_last_sync_failed_while_prices_stay_live(
    replay, run_sync, sync_defs, dagster_instance: DagsterInstance, store
):
    assert run_sync("deepinfra").success
    store.fail_sync("deepinfra", "run-that-failed-0001", "connection", "connection refused")
    job = sync_defs.resolve_job_def("price_freshness_check_job")
    result = job.execute_in_process(instance=dagster_instance, raise_on_error=False)
    fresh = next(e for e in result.get_asset_check_evaluations() if e.check_name == "fresh_deepinfra")
    assert fresh.passed  # the live prices are recent: the failed sync does not make them stale
    assert re.fullmatch(
        r"deepinfra: last published \d{4}-\d\d-\d\d \d\d:\d\d UTC \(0\.0 h ago\); last sync failure at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(connection\), run run-that; the published prices stay live\.",
        fresh.description,
    )
    assert fresh.metadata["last_sync"].value == "failure"
    assert isinstance(fresh.metadata["last_published_at"], TimestampMetadataValue)  # the UI shows a date
    # the provider's own counts, plotted per provider over time by the UI
    assert fresh.metadata["live_models"].value == fresh.metadata["last_success_fetched"].value == 88
    assert fresh.metadata["last_success_added"].value == 88 and fresh.metadata["held_models"].value == 0
    assert fresh.metadata["last_success_quarantined"].value == 0
    # the observation lists every provider at a glance, the failing one included
    observed = next(
        e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
    )
    assert observed.metadata["summary"].value == (
        f"1 of {len(PROVIDER_NAMES)} providers fresh; not fresh: "
        + ", ".join(p for p in PROVIDER_NAMES if p != "deepinfra")
        + "; last sync failed: deepinfra."
    )
    table = observed.metadata["providers"].value.splitlines()
    deepinfra_row = next(row for row in table if row.startswith("| deepinfra |"))
    assert re.fullmatch(r"\| deepinfra \| fresh \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \| 0\.0 \| 0 \| failure at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(connection\) \|  \|", deepinfra_row)
    assert "| openrouter | never published |  |  |  | 0 |  |  |" in table
