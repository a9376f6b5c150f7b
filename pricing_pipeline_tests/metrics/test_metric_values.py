"""Every metric of monitoring/METRICS.md, with the value the run history says, after real sync
runs: scheduled (from the schedule's own RunRequests), manual (CLI, backfill), successful,
failed (provider 500, timeout, database), blocked (the model-count check) and canceled."""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import AssetRecordsFilter, RunsFilter, build_schedule_context
from dagster._core.storage.tags import BACKFILL_ID_TAG, SCHEDULE_NAME_TAG
from dagster._core.test_utils import create_run_for_test

from pricing_pipeline.defs.runs import RUN_USAGE_TAG, TRIGGER_TAG
from pricing_pipeline.defs.sync.assets import published_prices, raw_price_snapshot
from pricing_pipeline.defs.sync.schedules import price_sync_schedule
from pricing_pipeline.providers.errors import ERROR_TYPES
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.metrics.conftest import heartbeat, run_status_sensor_tick
from pricing_pipeline_tests.recordings import REPLAY_FILES, REPLAY_UNMARKED_FREE

METRICS_MD = Path(__file__).resolve().parents[2] / "monitoring" / "METRICS.md"
STATUSES = ("success", "failure", "blocked", "canceled")


def scheduled_tags(provider: str) -> dict:
    """The tags the scheduler gives the run: the schedule's RunRequest for the provider plus
    what the daemon adds when it launches it."""
    tick = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with build_schedule_context(scheduled_execution_time=tick) as context:
        requests = list(price_sync_schedule(context))
    assert sorted(r.partition_key for r in requests) == sorted(PROVIDER_NAMES)
    request = next(r for r in requests if r.partition_key == provider)
    return {**request.tags, SCHEDULE_NAME_TAG: price_sync_schedule.name, "dagster/run_key": request.run_key}


def half_catalog(provider: str) -> bytes:
    """Fewer than half the models of the provider's recording: the model-count check blocks."""
    payload = json.loads(REPLAY_FILES[provider].read_bytes())
    payload["data"] = payload["data"][: len(payload["data"]) // 2 - 1]
    return json.dumps(payload).encode()


def contract() -> dict[str, dict]:
    """METRICS.md's table: name -> {type, labels, buckets}."""
    out = {}
    for line in METRICS_MD.read_text().splitlines():
        match = re.match(r"\|\s*`(pricing_\w+)`\s*\|\s*(\w+)\s*\|([^|]*)\|(.*)\|\s*$", line)
        if match:
            name, kind, labels, meaning = match.groups()
            buckets = re.search(r"Buckets: ([\d., ]+) s", meaning)
            out[name] = {
                "type": kind,
                "labels": {label.strip() for label in labels.split(",") if label.strip()},
                "buckets": [float(b) for b in buckets.group(1).split(",")] if buckets else None,
            }
    return out


def histogram_of(pushgateway, name: str, provider: str) -> tuple[dict[float, float], float, float]:
    buckets = {}
    for s in pushgateway.samples():
        if s.name == f"{name}_bucket" and s.labels["provider"] == provider:
            buckets[float(s.labels["le"])] = s.value
    return (
        buckets,
        pushgateway.value(f"{name}_sum", provider=provider),
        pushgateway.value(f"{name}_count", provider=provider),
    )


def expected_buckets(bounds: list[float], values: list[float]) -> dict[float, float]:
    return {**{b: sum(v <= b for v in values) for b in bounds}, math.inf: len(values)}


def test_every_metric_after_scheduled_manual_successful_failed_blocked_and_canceled_runs(
    replay, sync, instance, publisher, pushgateway, sqlite_url, monkeypatch
):
    from pricing_pipeline.store import PricingStore

    # A: scheduled chutes sync, successful.
    a = sync("chutes", tags=scheduled_tags("chutes"))
    assert a.success
    # B: manual (CLI) chutes sync of a truncated catalog, blocked by the model-count check.
    replay.serve("/chutes", half_catalog("chutes"))
    b = sync("chutes", tags={TRIGGER_TAG: "cli"})
    assert not b.success
    # C: scheduled novita sync; the provider answers 500 to both attempts.
    replay.serve("/novita", b'{"error": "boom"}', status=500)
    c = sync("novita", tags=scheduled_tags("novita"))
    assert not c.success
    # D: deepinfra as part of a backfill; the provider never answers in time (2 attempts).
    replay.serve_file("/deepinfra", REPLAY_FILES["deepinfra"], delay_seconds=1.3)
    d = sync("deepinfra", tags={BACKFILL_ID_TAG: "bfill1"})
    assert not d.success
    # E: manual together sync; the pricing database rolls the publish back.
    def failing_publish(self, *args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(PricingStore, "publish", failing_publish)
    e = sync("together", tags={TRIGGER_TAG: "cli"})
    assert not e.success
    monkeypatch.undo()
    # F: a vercel run canceled before it started.
    f = create_run_for_test(instance, job_name="price_sync_job", tags={"dagster/partition": "vercel"})
    instance.report_run_canceled(f)

    assert run_status_sensor_tick(instance, publisher, e.run_id) is None
    before = time.time()
    heartbeat(instance, publisher)
    after = time.time()

    records = {r.dagster_run.run_id: r for r in instance.get_run_records(RunsFilter(job_name="price_sync_job"))}
    run_a, run_b, run_c, run_d, run_e, run_f = (records[x.run_id] for x in (a, b, c, d, e, f))
    assert run_f.dagster_run.status.value == "CANCELED"

    # --- run counters: scheduled vs manual, by outcome; every combination exported ---
    expected = {
        "pricing_scheduled_sync_runs_total": {("chutes", "success"): 1, ("novita", "failure"): 1},
        "pricing_manual_sync_runs_total": {
            ("chutes", "blocked"): 1,
            ("deepinfra", "failure"): 1,
            ("together", "failure"): 1,
            ("vercel", "canceled"): 1,
        },
    }
    for name, nonzero in expected.items():
        for provider in PROVIDER_NAMES:
            for status in STATUSES:
                assert pushgateway.value(name, provider=provider, status=status) == nonzero.get((provider, status), 0), (
                    name,
                    provider,
                    status,
                )

    # --- errors by class: every failed run once, by the class that failed it ---
    errors = {
        ("novita", "http_5xx"): 1,  # after its retry: the cause of the retry, not the retry
        ("chutes", "check_blocked"): 1,
        ("deepinfra", "timeout"): 1,
        ("together", "database"): 1,
    }
    for provider in PROVIDER_NAMES:
        for error_type in ERROR_TYPES:
            assert pushgateway.value("pricing_provider_errors_total", provider=provider, error_type=error_type) == errors.get(
                (provider, error_type), 0
            ), (provider, error_type)

    # --- failed attempts: each timed-out request (retries included), each rolled-back publish ---
    for provider in PROVIDER_NAMES:
        assert pushgateway.value("pricing_provider_timeouts_total", provider=provider) == (2 if provider == "deepinfra" else 0)
        assert pushgateway.value("pricing_models_update_errors_total", provider=provider) == (1 if provider == "together" else 0)

    # --- scheduled durations: the scheduled runs only, from the run records ---
    bounds = contract()["pricing_scheduled_sync_duration_seconds"]["buckets"]
    for provider, runs in {"chutes": [run_a], "novita": [run_c], "deepinfra": [], "vercel": []}.items():
        durations = [r.end_time - r.start_time for r in runs]
        buckets, total, count = histogram_of(pushgateway, "pricing_scheduled_sync_duration_seconds", provider)
        assert buckets == expected_buckets(bounds, durations)
        assert count == len(durations)
        assert total == pytest.approx(sum(durations), abs=1e-6)

    # --- request and publish durations: from the materializations' metadata ---
    raw = instance.fetch_materializations(AssetRecordsFilter(asset_key=raw_price_snapshot.key), limit=100).records
    published = instance.fetch_materializations(AssetRecordsFilter(asset_key=published_prices.key), limit=100).records
    bounds = contract()["pricing_provider_request_duration_seconds"]["buckets"]
    for provider, n in {"chutes": 2, "together": 1, "novita": 0, "deepinfra": 0}.items():
        seconds = [r.asset_materialization.metadata["request_seconds"].value for r in raw if r.partition_key == provider]
        assert len(seconds) == n
        buckets, total, count = histogram_of(pushgateway, "pricing_provider_request_duration_seconds", provider)
        assert (buckets, count) == (expected_buckets(bounds, seconds), n)
        assert total == pytest.approx(sum(seconds), abs=1e-6)
    bounds = contract()["pricing_database_query_duration_seconds"]["buckets"]
    assert [r.partition_key for r in published] == ["chutes"]
    seconds = published[0].asset_materialization.metadata["publish_seconds"].value
    buckets, total, count = histogram_of(pushgateway, "pricing_database_query_duration_seconds", "chutes")
    assert (buckets, count, total) == (expected_buckets(bounds, [seconds]), 1, pytest.approx(seconds, abs=1e-6))
    assert histogram_of(pushgateway, "pricing_database_query_duration_seconds", "together")[2] == 0

    # --- last publish (run A; B was blocked and published nothing) ---
    assert pushgateway.value("pricing_last_sync_timestamp", provider="chutes") == pytest.approx(published[0].timestamp, abs=1e-3)
    assert run_a.start_time < published[0].timestamp < run_a.end_time
    chutes_models = len(json.loads(REPLAY_FILES["chutes"].read_bytes())["data"])
    assert pushgateway.value("pricing_last_sync_models", provider="chutes") == chutes_models
    assert pushgateway.value("pricing_last_sync_model_changes", provider="chutes", kind="added") == chutes_models
    assert pushgateway.value("pricing_last_sync_model_changes", provider="chutes", kind="changed") == 0
    assert pushgateway.value("pricing_last_sync_model_changes", provider="chutes", kind="removed") == 0
    for provider in set(PROVIDER_NAMES) - {"chutes"}:
        assert pushgateway.value("pricing_last_sync_timestamp", provider=provider) is None
        assert pushgateway.value("pricing_last_sync_models", provider=provider) is None

    # --- last attempt: the end of the provider's last finished run, any outcome ---
    last = {"chutes": run_b, "novita": run_c, "deepinfra": run_d, "together": run_e, "vercel": run_f}
    for provider in PROVIDER_NAMES:
        value = pushgateway.value("pricing_last_sync_attempt_timestamp", provider=provider)
        if provider in last:
            assert value == pytest.approx(last[provider].end_time, abs=1e-3), provider
        else:
            assert value is None

    # --- resource use of the last finished run, as the run recorded it ---
    for provider, record in {"chutes": run_b, "novita": run_c, "deepinfra": run_d, "together": run_e}.items():
        usage = json.loads(record.dagster_run.tags[RUN_USAGE_TAG])
        assert usage["run_id"] == record.dagster_run.run_id
        assert pushgateway.value("pricing_sync_cpu_seconds", provider=provider) == pytest.approx(usage["cpu_seconds"])
        assert pushgateway.value("pricing_sync_peak_rss_bytes", provider=provider) == usage["peak_rss_bytes"]
        assert 0 < usage["cpu_seconds"] < record.end_time - record.start_time + 5
        assert 20 * 2**20 < usage["peak_rss_bytes"] < 4 * 2**30
    assert pushgateway.value("pricing_sync_cpu_seconds", provider="vercel") is None  # canceled before it ran

    # --- schedule and publisher ---
    assert pushgateway.value("pricing_sync_interval_seconds") == 6 * 3600
    assert pushgateway.value("pricing_scheduler_enabled") == 1  # default_status RUNNING, never stopped
    assert before <= pushgateway.value("pricing_metrics_publisher_heartbeat_timestamp") <= after

    # --- the contract: exactly METRICS.md's names, types, labels; bounded label values ---
    spec = contract()
    exported = {}
    for s in pushgateway.samples():
        base = re.sub(r"_(bucket|sum|count)$", "", s.name) if s.name not in spec else s.name
        exported.setdefault(base, set()).update(set(s.labels) - {"le"})
        assert s.labels.get("provider", "openrouter") in PROVIDER_NAMES
        assert s.labels.get("status", "success") in STATUSES
        assert s.labels.get("error_type", "timeout") in ERROR_TYPES
        assert s.labels.get("kind", "added") in ("added", "changed", "removed")
    # the exact share of bills exists once a provider's bills were reconciled (tests/bills)
    without_bills = {"pricing_bill_exact_ratio"}
    # the change watcher's configuration is exported while it is on (off in these tests: tests/watch)
    without_bills |= {"pricing_watch_interval_seconds", "pricing_watch_budget_requests_per_hour"}
    # the feeds' time exists once the feeds were written (no feeds run here: test_feeds_metric.py)
    without_bills |= {"pricing_feeds_written_timestamp_seconds"}
    assert set(exported) == set(spec) - without_bills
    for name, labels in exported.items():
        assert labels == spec[name]["labels"], name
    types = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^# TYPE (pricing_\w+) (\w+)$", pushgateway.exposition(), re.MULTILINE)
    }
    assert types == {name: entry["type"] for name, entry in spec.items() if name not in without_bills}


def test_held_models_and_the_oldest_hold_age_follow_publishes_and_reviews(replay, sync, metrics_defs, instance, publisher, pushgateway):
    from pricing_pipeline.defs.runs import REVIEW_JOB_NAME

    payload = json.loads(REPLAY_FILES["openrouter"].read_bytes())
    # without the new zero-priced models a first sync holds (unmarked_free): the one hold made here
    payload["data"] = [m for m in payload["data"] if m["id"] not in REPLAY_UNMARKED_FREE["openrouter"]]
    replay.serve("/openrouter", json.dumps(payload).encode())
    assert sync("openrouter").success
    [model] = [m for m in payload["data"] if m["id"] == "deepseek/deepseek-v3.2"]
    model["pricing"]["completion"] = "0.0004"  # x1000: held
    replay.serve("/openrouter", json.dumps(payload).encode())
    held_at = time.time()
    assert sync("openrouter").success
    time.sleep(1.0)
    heartbeat(instance, publisher)
    assert pushgateway.value("pricing_held_models", provider="openrouter") == 1
    age = pushgateway.value("pricing_oldest_hold_age_seconds", provider="openrouter")
    assert 1.0 <= age <= time.time() - held_at + 1
    assert pushgateway.value("pricing_held_models", provider="novita") is None  # never published

    review = metrics_defs.resolve_job_def(REVIEW_JOB_NAME).execute_in_process(
        partition_key="openrouter", instance=instance,
        run_config={"ops": {"review_held_prices": {"config": {
            "decision": "accept", "all": True, "by": "jane", "reason": "real repricing"}}}},
    )
    assert review.success
    heartbeat(instance, publisher)
    assert pushgateway.value("pricing_held_models", provider="openrouter") == 0
    assert pushgateway.value("pricing_oldest_hold_age_seconds", provider="openrouter") == 0
