"""Runs and sensors (issue 31): a sync run that held or quarantined models says so in its tags
(the Runs list shows them); the metrics sensors start stopped, saying why, when there is no
Pushgateway to push to."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pricing_pipeline_tests.recordings import REPO_ROOT
from pricing_pipeline_tests.sync.test_freshness_tells_what_happened import HELD_MODEL, jump_payload

SENSOR_STATES = """
import json
from pricing_pipeline.definitions import defs
print(json.dumps({s.name: [s.default_status.value, s.description] for s in defs.sensors}))
"""


def test_a_sync_that_held_or_quarantined_models_is_tagged(replay, run_sync, dagster_instance):
    first = run_sync("deepinfra")
    assert first.success
    tags = dagster_instance.get_run_by_id(first.run_id).tags
    assert "pricing/held" not in tags and "pricing/quarantined" not in tags  # nothing to say: no tag
    body = json.loads(jump_payload())
    other = next(m for m in body["data"] if m["id"] != HELD_MODEL and m.get("metadata", {}).get("pricing"))
    other["metadata"]["pricing"]["input_tokens"] = "not a number"  # one unreadable entry
    replay.serve("/deepinfra", json.dumps(body))
    held = run_sync("deepinfra")
    assert held.success
    tags = dagster_instance.get_run_by_id(held.run_id).tags
    assert (tags["pricing/held"], tags["pricing/quarantined"]) == ("1", "1")


def sensor_states(pushgateway_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PRICING_PUSHGATEWAY_URL"}
    if pushgateway_url:
        env["PRICING_PUSHGATEWAY_URL"] = pushgateway_url
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SENSOR_STATES], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_metrics_sensors_start_stopped_without_a_pushgateway_and_say_why():
    off = sensor_states(None)
    metrics = [name for name in off if name.startswith("pricing_metrics_")]
    assert len(metrics) == 4
    for name in metrics:
        status, description = off[name]
        assert status == "STOPPED" and "Starts stopped while PRICING_PUSHGATEWAY_URL is unset" in description
    assert off["sync_log_reconciler"][0] == off["price_feeds_after_sync"][0] == "RUNNING"  # their work is never off
    on = sensor_states("http://127.0.0.1:9091")
    assert all(on[name][0] == "RUNNING" for name in metrics)


