"""The exported values are what the run history says, whatever restarts: the Pushgateway
(empty or from its persistence file), the publisher process, a re-evaluated sensor tick. A
sync never depends on the Pushgateway."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

from dagster import SkipReason

from pricing_pipeline.defs.metrics import publisher as publisher_module
from pricing_pipeline.defs.metrics.exposition import HEARTBEAT_METRIC
from pricing_pipeline.defs.metrics.resources import MetricsPublisher
from pricing_pipeline_tests.metrics.conftest import (
    Pushgateway,
    free_port,
    heartbeat,
    promtool_check,
    run_status_sensor_tick,
)
from pricing_pipeline_tests.recordings import REPLAY_AMBIGUOUS_ENDPOINTS, REPLAY_FILES


def without_heartbeat(values: dict) -> dict:
    return {key: value for key, value in values.items() if key[0] != HEARTBEAT_METRIC}


def test_values_unchanged_after_pushgateway_restart_and_sensor_rerun(replay, sync, instance, publisher, pushgateway, tmp_path):
    ok = sync("chutes")
    replay.serve("/novita", b"{}", status=500)
    failed = sync("novita")
    assert ok.success and not failed.success
    run_status_sensor_tick(instance, publisher, failed.run_id)
    pushed = without_heartbeat(pushgateway.values())
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 1
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="novita", status="failure") == 1
    assert pushgateway.value("pricing_provider_errors_total", provider="novita", error_type="http_5xx") == 1

    # The Pushgateway restarts empty: nothing until the publisher's next heartbeat, then the
    # same values, not counters starting again from 0.
    pushgateway.restart()
    assert pushgateway.values() == {}
    heartbeat(instance, publisher)
    assert without_heartbeat(pushgateway.values()) == pushed

    # The publisher restarts too (a new code server: it remembers nothing) and the run-status
    # sensor is evaluated again for the same run: still the same values.
    publisher_module.reset_history()
    pushgateway.restart()
    run_status_sensor_tick(instance, publisher, failed.run_id)
    assert without_heartbeat(pushgateway.values()) == pushed

    # A Pushgateway with a persistence file comes back with the last push, and the next push
    # leaves the values where they were.
    persistent = Pushgateway(tmp_path / "p", persistence=True)
    (tmp_path / "p").mkdir()
    persistent.start()
    try:
        persistent_publisher = MetricsPublisher(pushgateway_url=persistent.url)
        heartbeat(instance, persistent_publisher)
        first = persistent.values()
        persistent.restart()
        assert persistent.values() == first
        heartbeat(instance, persistent_publisher)
        assert without_heartbeat(persistent.values()) == pushed
    finally:
        persistent.stop()


def test_sensor_tick_evaluated_twice_does_not_double_count(replay, sync, instance, publisher, pushgateway):
    first, second = sync("chutes"), sync("chutes")
    assert first.success and second.success

    run_status_sensor_tick(instance, publisher, second.run_id)
    once = pushgateway.values()
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 2
    # The daemon evaluates the same tick again (it crashed before storing the cursor): the
    # evaluation runs in a fresh process and really pushes again.
    publisher_module.reset_history()
    time.sleep(0.01)
    run_status_sensor_tick(instance, publisher, second.run_id)
    twice = pushgateway.values()
    assert twice[(HEARTBEAT_METRIC, ())] > once[(HEARTBEAT_METRIC, ())]  # it did push again
    assert without_heartbeat(twice) == without_heartbeat(once)
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 2
    # Both runs' sensor evaluations, both heartbeat evaluations: the same again.
    run_status_sensor_tick(instance, publisher, first.run_id)
    heartbeat(instance, publisher)
    heartbeat(instance, publisher)
    assert without_heartbeat(pushgateway.values()) == without_heartbeat(once)
    assert pushgateway.value("pricing_scheduled_sync_runs_total", provider="chutes", status="success") == 0
    assert pushgateway.value("pricing_provider_request_duration_seconds_count", provider="chutes") == 2


def test_hook_pushes_during_the_run_and_leaves_the_heartbeat_to_the_sensors(replay, sync, instance, publisher, pushgateway):
    heartbeat(instance, publisher)
    beat = pushgateway.value(HEARTBEAT_METRIC)
    result = sync("chutes")
    assert result.success
    # Pushed by the run's own hook after the publish, before any sensor saw the run finish.
    assert pushgateway.value("pricing_last_sync_models", provider="chutes") == 13
    assert pushgateway.value("pricing_provider_request_duration_seconds_count", provider="chutes") == 1
    # The run was still in progress: its outcome is not counted yet...
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 0
    # ... and the heartbeat is the sensors' alone.
    assert pushgateway.value(HEARTBEAT_METRIC) == beat
    run_status_sensor_tick(instance, publisher, result.run_id)
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 1
    assert pushgateway.value(HEARTBEAT_METRIC) > beat


def sync_with(metrics_defs, instance, publisher, provider: str):
    """The sync job with another MetricsPublisher."""
    from pricing_pipeline.definitions import build_definitions

    resources = dict(metrics_defs.resources)
    resources["metrics"] = publisher
    job = build_definitions(resources).resolve_job_def("price_sync_job")
    return job.execute_in_process(partition_key=provider, instance=instance, raise_on_error=False)


def recording_pushes(monkeypatch) -> list[dict]:
    """Every push the hook makes: the HTTP timeout it was given and what it raised. What a
    push can cost a sync is bounded by that timeout, whatever the machine's load."""
    pushes = []
    real_push = publisher_module.pushadd_to_gateway

    def push(*args, **kwargs):
        pushes.append({"timeout": kwargs.get("timeout"), "raised": None})
        try:
            return real_push(*args, **kwargs)
        except Exception as exc:
            pushes[-1]["raised"] = exc
            raise

    monkeypatch.setattr(publisher_module, "pushadd_to_gateway", push)
    return pushes


def warnings_in_run(instance, run_id: str) -> list[str]:
    return [
        entry.user_message
        for entry in instance.all_logs(run_id)
        if entry.level == logging.WARNING and entry.user_message.startswith("metrics")
    ]


def test_sync_unaffected_with_pushgateway_down_and_next_push_catches_up(replay, metrics_defs, instance, tmp_path, capfd):
    port = free_port()
    down = MetricsPublisher(pushgateway_url=f"http://127.0.0.1:{port}", timeout_seconds=1)
    publisher_module.reset_history()

    ok = sync_with(metrics_defs, instance, down, "chutes")
    assert ok.success
    # The hook tried once (after the publish) and logged it in the run, once.
    assert len(warnings_in_run(instance, ok.run_id)) == 1
    assert "failed" in warnings_in_run(instance, ok.run_id)[0]
    replay.serve("/novita", b"{}", status=500)
    failed = sync_with(metrics_defs, instance, down, "novita")
    assert not failed.success
    again = sync_with(metrics_defs, instance, down, "chutes")
    assert again.success
    # The run's own facts were recorded all the same.
    assert "pricing/run_usage" in instance.get_run_by_id(ok.run_id).tags

    # One sensor tick processing the three finished runs: one failed push, one log line (the
    # sensor's log goes to the tick's captured log and the daemon's console).
    capfd.readouterr()
    for run in (ok, failed, again):
        assert run_status_sensor_tick(instance, down, run.run_id) is None
    logged = [line for line in capfd.readouterr().err.splitlines() if "metrics push to" in line]
    assert len(logged) == 1, logged
    assert "WARNING" in logged[0] and "Connection refused" in logged[0]
    # The heartbeat's own tick logs its failure (once) and says so.
    reason = heartbeat(instance, down)
    assert isinstance(reason, SkipReason) and "failed" in reason.skip_message
    assert len([line for line in capfd.readouterr().err.splitlines() if "metrics push to" in line]) == 1

    # The Pushgateway comes up on that address: the next push has everything.
    gateway = Pushgateway(tmp_path)
    gateway.port = port
    gateway.start()
    try:
        assert gateway.values() == {}
        heartbeat(instance, down)
        assert gateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 2
        assert gateway.value("pricing_manual_sync_runs_total", provider="novita", status="failure") == 1
        assert gateway.value("pricing_provider_errors_total", provider="novita", error_type="http_5xx") == 1
        assert gateway.value("pricing_last_sync_models", provider="chutes") == 13
    finally:
        gateway.stop()


def test_hanging_pushgateway_costs_the_sync_at_most_the_push_timeout(replay, metrics_defs, instance, monkeypatch):
    """A Pushgateway that accepts connections and never answers: the hook's one push is given
    the publisher's 0.5 s timeout (not the client's default of 30 s), gives up on it, is not
    retried, and the sync succeeds. The time it costs: benchmarks/offline_timings.py."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        hanging = MetricsPublisher(pushgateway_url=url, timeout_seconds=0.5)
        pushes = recording_pushes(monkeypatch)
        result = sync_with(metrics_defs, instance, hanging, "chutes")
        stop.set()
        thread.join()
        server.setblocking(False)  # a connection still in the backlog on a loaded machine counts too
        while True:
            try:
                accepted.append(server.accept()[0])
            except BlockingIOError:
                break
        assert result.success
        assert len(accepted) == 1  # the hook tried, once
        [push] = pushes
        assert push["timeout"] == 0.5
        assert isinstance(push["raised"], (TimeoutError, socket.timeout)) or "timed out" in str(push["raised"])
        [warning] = warnings_in_run(instance, result.run_id)
        assert "timed out" in warning
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def test_push_waits_for_the_lock_and_computes_after_getting_it(replay, sync, instance, publisher, pushgateway):
    """Pushes are serialized and each computes after the previous one ended, so the pushed
    counters never go down even when a run worker and the daemon push at the same time."""
    first = sync("chutes")
    results = []
    with publisher_module.push_lock(publisher, 1) as locked:
        assert locked
        pusher = threading.Thread(
            target=lambda: results.append(
                publisher_module.publish_metrics(instance, publisher, heartbeat=True, lock_timeout_seconds=30)
            )
        )
        pusher.start()
        time.sleep(0.3)
        assert not results  # waiting for the lock
        second = sync("chutes")  # finishes while the push waits (its hook gives up the lock)
        assert second.success
    pusher.join(10)
    assert results[0].pushed
    assert results[0].state.runs_read == 2  # computed after the lock was free, not before
    assert pushgateway.value("pricing_manual_sync_runs_total", provider="chutes", status="success") == 2
    assert first.success

    # Nobody waits forever: a push that cannot get the lock in time gives up and says so.
    with publisher_module.push_lock(publisher, 1):
        result = publisher_module.publish_metrics(instance, publisher, heartbeat=True, lock_timeout_seconds=0.2)
    assert not result.pushed and "lock" in result.message


def our_exposition(text: str) -> str:
    """The Pushgateway's /metrics reduced to our group: its samples and their HELP/TYPE."""
    from prometheus_client.parser import text_string_to_metric_families

    ours = {
        family.name
        for family in text_string_to_metric_families(text)
        if any(s.labels.get("job") == "pricing_pipeline" for s in family.samples)
    }
    lines = []
    for line in text.splitlines():
        if line.startswith("# "):
            name = line.split()[2]
            base = name.removesuffix("_total")
            if name in ours or base in ours:
                lines.append(line)
        elif 'job="pricing_pipeline"' in line:
            lines.append(line)
    return "\n".join(lines) + "\n"


def test_promtool_check_metrics_is_clean_on_the_pushed_exposition(replay, sync, instance, publisher, pushgateway):
    sync("chutes")
    replay.serve("/novita", b"{}", status=500)
    sync("novita")
    heartbeat(instance, publisher)
    text = our_exposition(pushgateway.exposition())
    assert "pricing_scheduled_sync_duration_seconds_bucket" in text
    assert 'le="1800"' in text  # the Pushgateway renders the bound the Go way
    assert "pricing_sync_interval_seconds" in text
    result = promtool_check(text)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    # The check is live: a counter without _total fails it.
    bad = promtool_check("# HELP pricing_bad A counter.\n# TYPE pricing_bad counter\npricing_bad 1\n")
    assert bad.returncode != 0


def test_quarantined_models_and_unknown_keys_reach_the_pushgateway(replay, sync, instance, publisher, pushgateway):
    """One unreadable model and one new pricing key in a real OpenRouter response: the sync
    publishes, and the metrics say so (what PricingModelsQuarantined alerts on)."""
    payload = json.loads(REPLAY_FILES["openrouter"].read_bytes())
    payload["data"][0]["pricing"]["prompt"] = 0.000001  # a number where a decimal string belongs
    payload["data"][1]["pricing"]["input_cache_write_24h"] = "0.00001"
    replay.serve("/openrouter", json.dumps(payload))
    result = sync("openrouter")
    assert result.success
    heartbeat(instance, publisher)
    ambiguous = len(REPLAY_AMBIGUOUS_ENDPOINTS["openrouter"])  # quarantined on every sync of the recording
    assert pushgateway.value("pricing_last_sync_quarantined_models", provider="openrouter") == 1 + ambiguous
    assert pushgateway.value("pricing_last_sync_unknown_pricing_keys", provider="openrouter") == 1
    replay.serve_file("/openrouter", REPLAY_FILES["openrouter"])
    assert sync("openrouter").success
    heartbeat(instance, publisher)
    assert pushgateway.value("pricing_last_sync_quarantined_models", provider="openrouter") == ambiguous
    assert pushgateway.value("pricing_last_sync_unknown_pricing_keys", provider="openrouter") == 0


def test_a_failed_endpoint_request_reaches_the_pushgateway(replay, sync, instance, publisher, pushgateway):
    """One model's endpoints request fails (HTTP 500, retried, then given up): the sync publishes
    and the metric says how many models kept their endpoint prices."""
    replay.serve("/openrouter/openai/gpt-4o/endpoints", "oops", status=500)  # a route wins over the tree
    assert sync("openrouter").success
    heartbeat(instance, publisher)
    assert pushgateway.value("pricing_last_sync_endpoint_fetch_failures", provider="openrouter") == 1
    assert pushgateway.value("pricing_last_sync_endpoint_fetch_failures", provider="chutes") is None  # never synced
    del replay.routes["/openrouter/openai/gpt-4o/endpoints"]
    assert sync("openrouter").success
    heartbeat(instance, publisher)
    assert pushgateway.value("pricing_last_sync_endpoint_fetch_failures", provider="openrouter") == 0
