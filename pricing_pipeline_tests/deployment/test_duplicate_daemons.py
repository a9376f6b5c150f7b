"""A second dagster-daemon on the same instance is visible: the heartbeat rows carry two
daemon ids, the collector counts them and the publisher pushes the count that
PricingDagsterDuplicateDaemons alerts on (its promtool tests cover the rule itself)."""

from __future__ import annotations

import time

from pricing_pipeline.defs.metrics.run_facts import daemons_heartbeating


def sample(deployment, seconds: float) -> list[int]:
    values = []
    with deployment.instance() as instance:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            values.append(daemons_heartbeating(instance, time.time()))
            time.sleep(1)
    return values


def test_a_second_daemon_is_counted_and_pushed(deployment):
    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()
    assert set(sample(deployment, 10)) == {1}

    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat(daemon_id_count=2, timeout=90)
    deployment._wait(
        lambda: deployment.pushgateway.value("pricing_dagster_daemons_heartbeating") == 2, 90,
        "the pushed daemon count to show both daemons",
    )
