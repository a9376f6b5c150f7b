"""The production fault drill in the compose topology under podman (with test_topology.py, in
the container tests' own pytest run, after the suite). Each step breaks a container or a volume while a sync
is in progress, then checks that no published price or feed was lost or half-written, that the
provider is not wedged (its next run succeeds), and what made the failure visible. The time to
recover is measured and printed in the results table, never asserted."""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

import pytest

from pricing_pipeline_tests.deploy.podman import CONTAINERS, podman

pytestmark = CONTAINERS
PROVIDER = "together"  # 10 models: the shortest sync
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
# The victim run's own maximum runtime (`dagster/max_runtime`): the run worker dies with its code
# server, and only run monitoring can fail it; compose's default for every run is 900 s.
VICTIM_MAX_RUNTIME_SECONDS = 30
RESULTS: list[tuple[str, str, str]] = []  # (step, what showed it, seconds from the fault to the next good run)
PRICE_COLUMNS = ("input_usd_per_mtok", "output_usd_per_mtok", "cache_read_usd_per_mtok", "cache_write_usd_per_mtok",
                 "request_usd", "image_usd", "upstream_provider", "upstream_tag", "raw_pricing::text")
FEEDS = "/var/lib/pricing/feeds"
FILLER = "/var/lib/pricing/filler"


@pytest.fixture(scope="module", autouse=True)
def results_table():
    yield
    width = max((len(step) for step, _, _ in RESULTS), default=4)
    rows = [f"  {step:<{width}}  {recovered:>8}  {shown}" for step, shown, recovered in RESULTS]
    print(f"\nfault drill (seconds from the fault to the provider's next successful run):\n"
          f"  {'step':<{width}}  {'recover':>8}  what showed it\n" + "\n".join(rows))


@contextmanager
def run_in_progress(topology, **tags: str):
    """A sync launched from the operator webserver, hanging on its fetch: yields its run id."""
    with topology.provider_apis_frozen():
        launched = topology.launch_sync("webserver", PROVIDER, **tags)
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        assert topology.wait_for_status(run_id, {"STARTED", *FINISHED}) == "STARTED"
        yield run_id


def crash(topology, service: str) -> int:
    """SIGKILL to the container's main process from the host, as the OOM killer would do it
    (`podman kill` counts as an operator's stop, which `restart: unless-stopped` respects).
    Returns the container's restart count before the crash."""
    container = topology.container(service)
    state = podman("inspect", container, "--format", "{{.State.Pid}} {{.RestartCount}}").stdout.split()
    os.kill(int(state[0]), signal.SIGKILL)
    return int(state[1])


def restarted(topology, service: str, restarts_before: int) -> str:
    """Wait for compose's restart policy to bring the service back healthy; say who restarted it."""
    container = topology.container(service)
    deadline = time.monotonic() + 120
    while podman("inspect", container, "--format", "{{.RestartCount}} {{.State.Running}}").stdout.split() != [
            str(restarts_before + 1), "true"]:
        if time.monotonic() > deadline:
            podman("start", container)
            how = "started by hand (its restart policy did not within 120 s)"
            break
        time.sleep(2)
    else:
        how = "restarted by its restart policy"
    topology.wait_until(f"{service} healthy", lambda: topology.health_of(service) == "healthy")
    return how


def sync_row(topology, run_id: str) -> dict | None:
    rows = topology.psql("pricing", f"SELECT status, coalesce(error, '') FROM sync_log WHERE run_id = '{run_id}'")
    return {"status": rows[0][0], "error": rows[0][1]} if rows else None


def next_sync_succeeds(topology, fault_at: float) -> str:
    sync = topology.exec("code-server", "pricing-pipeline", "sync", "--provider", PROVIDER, check=False)
    assert sync.returncode == 0, sync.stdout[-2000:] + sync.stderr[-2000:]
    return f"{time.monotonic() - fault_at:.0f}"


def assert_no_price_lost_or_half_written(topology):
    """Every provider's live prices are exactly the open rows of its price history, all from
    successful syncs, and no sync is left 'running'."""
    running = topology.psql("pricing", "SELECT run_id FROM sync_log WHERE status = 'running'")
    assert running == [], running
    live = dict(topology.psql("pricing", "SELECT provider, count(*) FROM model_prices WHERE removed_at IS NULL "
                                         "GROUP BY provider"))
    open_history = dict(topology.psql("pricing", "SELECT provider, count(*) FROM price_history "
                                                 "WHERE valid_to IS NULL GROUP BY provider"))
    assert live == open_history and PROVIDER in live, (live, open_history)
    orphans = topology.psql("pricing", "SELECT count(*) FROM price_history h JOIN sync_log s ON s.id = h.sync_id "
                                       "WHERE s.status <> 'success'")
    assert orphans == [["0"]], orphans
    # and value by value: each live price is its open history row, from the same instant
    differing = topology.psql("pricing", f"""
        SELECT m.provider, m.model_id FROM model_prices m LEFT JOIN price_history h
          ON h.provider = m.provider AND h.model_id = m.model_id AND h.valid_to IS NULL
        WHERE m.removed_at IS NULL AND (h.id IS NULL OR h.valid_from <> m.valid_from
          OR {" OR ".join(f"h.{c} IS DISTINCT FROM m.{c}" for c in PRICE_COLUMNS)}
          OR h.tiers::text IS DISTINCT FROM m.tiers::text)""")
    assert differing == [], differing[:10]


def failures_pushed(topology) -> float:
    return topology.pushed("pricing_manual_sync_runs_total", provider=PROVIDER, status="failure") or 0


def test_kill_the_code_server_mid_run(topology):
    before = failures_pushed(topology)
    with run_in_progress(topology, **{"dagster/max_runtime": str(VICTIM_MAX_RUNTIME_SECONDS)}) as run_id:
        restarts = crash(topology, "code-server")
        fault_at = time.monotonic()
    how = restarted(topology, "code-server", restarts)
    # the run worker died with its code server; nobody is left to say so but run monitoring
    assert topology.wait_for_status(run_id, FINISHED, guard=600) == "FAILURE"
    row = topology.wait_until("the reconciler to close the sync row",
                              lambda: (r := sync_row(topology, run_id)) and r["status"] != "running" and r)
    assert row["status"] == "failure", row
    recovered = next_sync_succeeds(topology, fault_at)
    topology.wait_until("the failure in the Pushgateway", lambda: failures_pushed(topology) > before)
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("kill code server mid-run", f"code server {how}; run FAILURE by run monitoring; sync_log "
                    f"failure ({row['error'][:60]}); pricing_manual_sync_runs_total{{status=failure}} +1", recovered))


def test_kill_the_daemon_mid_run(topology):
    with run_in_progress(topology) as run_id:
        restarts = crash(topology, "daemon")
        fault_at = time.monotonic()
    how = restarted(topology, "daemon", restarts)
    # the run lives in the code server: it finishes without the daemon
    assert topology.wait_for_status(run_id, FINISHED) == "SUCCESS"
    assert sync_row(topology, run_id)["status"] == "success"
    recovered = next_sync_succeeds(topology, fault_at)
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("kill daemon mid-run", f"daemon {how}; nothing failed: the run "
                    "finished SUCCESS in the code server", recovered))


def test_restart_postgresql_mid_run(topology):
    with run_in_progress(topology) as run_id:
        podman("restart", "-t", "2", topology.container("postgres"))
        fault_at = time.monotonic()
    status = topology.wait_for_status(run_id, FINISHED, guard=600)
    row = topology.wait_until("the sync row closed",
                              lambda: (r := sync_row(topology, run_id)) and r["status"] != "running" and r)
    assert (status == "SUCCESS") == (row["status"] == "success"), (status, row)
    recovered = next_sync_succeeds(topology, fault_at)
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("restart PostgreSQL mid-run", f"run {status}, sync_log {row['status']} "
                    f"{row['error'][:60]}", recovered))


def test_pushgateway_down_during_a_run(topology):
    podman("stop", "-t", "2", topology.container("pushgateway"))
    fault_at = time.monotonic()
    try:
        sync = topology.exec("code-server", "pricing-pipeline", "sync", "--provider", PROVIDER, check=False)
        assert sync.returncode == 0, sync.stderr[-2000:]  # a sync never depends on the Pushgateway
        warned = topology.psql("dagster", "SELECT count(*) FROM event_logs WHERE event LIKE '%metrics push to%failed%'")
        assert int(warned[0][0]) >= 1
    finally:
        podman("start", topology.container("pushgateway"))
    topology.wait_until("the heartbeat to push everything again",
                        lambda: topology.pushed("pricing_manual_sync_runs_total", provider=PROVIDER, status="success"))
    recovered = f"{time.monotonic() - fault_at:.0f}"
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("Pushgateway down during a run", "sync rc 0; 'metrics push ... failed' in the run's log; "
                    "the next heartbeat pushed all values", recovered))


def test_two_daemons_started_by_mistake(topology):
    topology.compose("run", "-d", "--no-deps", "--name", f"{topology.spec.project}_daemon_2", "daemon")
    fault_at = time.monotonic()
    try:
        shown = topology.wait_until("two daemons in the Pushgateway",
                                    lambda: (n := topology.pushed("pricing_dagster_daemons_heartbeating") or 0) >= 2 and n)
    finally:
        podman("rm", "-f", "-t", "2", f"{topology.spec.project}_daemon_2")
    recovered = next_sync_succeeds(topology, fault_at)
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("two daemons", f"pricing_dagster_daemons_heartbeating = {shown:.0f} "
                    "(PricingDagsterDuplicateDaemons)", recovered))


def feeds(topology) -> dict[str, str]:
    """The feeds on the volume: file -> sha256."""
    listed = topology.exec("code-server", "sh", "-c", f"cd {FEEDS} && sha256sum *").stdout
    return {name: digest for digest, name in (line.split() for line in listed.splitlines())}


def feeds_runs(topology) -> dict[str, str]:
    """price_feeds_job's runs (the feeds sensor launches one after each sync): run id -> status."""
    return dict(topology.psql("dagster", "SELECT run_id, status FROM runs WHERE pipeline_name = 'price_feeds_job'"))


def feeds_written_after_publish(topology) -> bool:
    written = topology.pushed("pricing_feeds_written_timestamp_seconds")
    published = topology.pushed("pricing_last_sync_timestamp", provider=PROVIDER)
    return written is not None and published is not None and written >= published


def test_the_feeds_volume_full(topology):
    before, runs_before = feeds(topology), feeds_runs(topology)
    assert before, "no feeds: the syncs before this step write them"
    filled = topology.exec("code-server", "sh", "-c", f"dd if=/dev/zero of={FILLER} bs=1M 2>&1", check=False)
    assert "No space left on device" in filled.stdout, filled.stdout
    fault_at = time.monotonic()
    try:
        # the prices are in PostgreSQL: the sync publishes; the feeds run the CLI asks for after
        # it cannot write, and the CLI says so
        sync = topology.exec("code-server", "pricing-pipeline", "sync", "--provider", PROVIDER, check=False)
        assert sync.returncode == 0, sync.stdout[-2000:] + sync.stderr[-2000:]
        assert "price_feeds_job run" in sync.stderr and "ended FAILURE" in sync.stderr, sync.stderr[-2000:]
        failed = topology.wait_until("the feeds run after the sync to fail", lambda: [
            run for run, status in feeds_runs(topology).items() if run not in runs_before and status == "FAILURE"])
        assert feeds(topology) == before  # the old feeds, whole: each is replaced atomically or not at all
        topology.wait_until("the feeds behind the publish in the Pushgateway",
                            lambda: not feeds_written_after_publish(topology))
    finally:
        topology.exec("code-server", "rm", "-f", FILLER)
    runs_failed = set(feeds_runs(topology))
    recovered = next_sync_succeeds(topology, fault_at)
    topology.wait_until("the feeds run after the next sync to succeed", lambda: "SUCCESS" in [
        status for run, status in feeds_runs(topology).items() if run not in runs_failed])
    after = feeds(topology)
    assert set(after) == set(before) and after != before  # rewritten from the prices published meanwhile
    topology.wait_until("the feeds caught up in the Pushgateway", lambda: feeds_written_after_publish(topology))
    recovered_feeds = f"{time.monotonic() - fault_at:.0f}"
    assert_no_price_lost_or_half_written(topology)
    RESULTS.append(("feeds volume full (ENOSPC)", f"sync rc 0 and published; price_feeds_job {failed[0][:8]} "
                    "FAILURE, said by the CLI; the old feeds intact; pricing_feeds_written_timestamp_seconds behind "
                    f"pricing_last_sync_timestamp (PricingFeedsBehind) until the feeds were rewritten {recovered_feeds} "
                    "s after the fault", recovered))
