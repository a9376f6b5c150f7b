"""What an operator reads in the Dagster UI is true, in a real browser (Debian's Chromium
driven by Playwright) against a real webserver and daemon, in the states that misled before
(issue 23): a provider failing, a blocked snapshot, a warning check, a held model, "Execute
all" and a backfill. One deployment for every page (a webserver costs ~10 s of a loaded
machine). Each page is kept as a screenshot and its text under SCREENSHOTS (CI artifacts)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, RunsFilter

from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_BACKFILL
from pricing_pipeline_tests.deployment.test_browser import browser  # noqa: F401 (fixture)
from pricing_pipeline_tests.deployment.test_ui_launch_paths import SYNC_ASSETS, materialize_from_catalog
from pricing_pipeline_tests.recordings import REPLAY_FILES

SCREENSHOTS = Path(__file__).parent / "screenshots"
HELD_MODEL = "Qwen/Qwen3.5-27B"
WAIT_MS = 30_000


class Tab:
    """One browser tab for every page: the "Join the Dagster community" pop-up, dismissed once,
    stays dismissed (it can open after the page is idle and swallow a click)."""

    def __init__(self, browser):  # noqa: F811
        self.page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        self.dismissed = False

    def open(self, url: str):
        self.page.goto(url, wait_until="networkidle", timeout=60_000)
        if not self.dismissed:
            try:
                self.page.get_by_role("button", name="Skip").click(timeout=10_000)
            except Exception:  # noqa: BLE001 (no pop-up this time)
                pass
            self.dismissed = True
        return self.page


def keep(page, name: str) -> str:
    """Screenshot and text of the page, kept for the CI artifacts; returns the text."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    text = page.inner_text("body")
    (SCREENSHOTS / f"{name}.txt").write_text(text)
    return text


def deepinfra_with_a_price_jump(tmp: Path) -> Path:
    """The deepinfra recording with one model's input price x100: the guard holds it."""
    body = json.loads(REPLAY_FILES["deepinfra"].read_text())
    model = next(m for m in body["data"] if m["id"] == HELD_MODEL)
    model["metadata"]["pricing"]["input_tokens"] *= 100
    path = tmp / "deepinfra_jump.json"
    path.write_text(json.dumps(body))
    return path


def check_partition(tab: Tab, base: str, asset: str, check: str, provider: str):
    """A check's result for one provider: the check's Partitions tab, that provider's row."""
    page = tab.open(f"{base}/assets/{asset}?view=checks&checkDetail={check}")
    page.locator("button[role=tab]", has_text="Partitions").click()
    try:
        page.get_by_text(provider, exact=True).first.click(timeout=WAIT_MS)
        page.wait_for_load_state("networkidle")
    finally:
        keep(page, f"partitions_{check}_{provider}")
    return page


def succeeded(deployment, run_id: str) -> bool:
    return deployment.wait_for_runs([run_id], timeout=240)[run_id].status == DagsterRunStatus.SUCCESS


@pytest.fixture
def synced(deployment):
    """A deployment after the syncs that make each state: deepinfra published then one model
    held; vercel's API failing; litellm published with its price-bounds warning; a backfill of
    chutes (an empty list: blocked) and novita (published)."""
    deployment.start_webserver()
    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()

    assert succeeded(deployment, materialize_from_catalog(deployment, "deepinfra"))
    deployment.upstream.serve_file("/deepinfra", deepinfra_with_a_price_jump(deployment.tmp))
    assert succeeded(deployment, materialize_from_catalog(deployment, "deepinfra"))  # held, the run succeeds

    deployment.upstream.serve("/vercel", b'{"error": "upstream down"}', status=500)
    assert not succeeded(deployment, materialize_from_catalog(deployment, "vercel"))
    assert succeeded(deployment, materialize_from_catalog(deployment, "litellm"))

    deployment.upstream.serve("/chutes", b'{"object": "list", "data": []}')
    backfill = deployment.graphql(
        LAUNCH_BACKFILL, backfillParams={"partitionNames": ["chutes", "novita"], "assetSelection": SYNC_ASSETS}
    )["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    with deployment.instance() as instance:
        def backfill_runs():
            runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill["backfillId"]}))
            finished = instance.get_backfill(backfill["backfillId"]).status.value != "REQUESTED"
            return runs if finished and len(runs) == 2 and all(r.is_finished for r in runs) else None

        runs = deployment._wait(backfill_runs, 240, "the backfill's two runs")
    statuses = {r.tags["dagster/partition"]: r.status for r in runs}
    assert statuses == {"chutes": DagsterRunStatus.FAILURE, "novita": DagsterRunStatus.SUCCESS}
    with deployment.instance() as instance:  # every sync run says who launched it
        triggers = {r.tags.get("pricing/trigger") for r in instance.get_runs() if r.job_name == "__ASSET_JOB"}
    assert triggers == {"ui", "backfill"}
    deployment.backfill_id = backfill["backfillId"]
    return deployment


def test_the_ui_tells_the_truth_in_every_state(synced, browser):  # noqa: F811 (fixture)
    base = f"http://127.0.0.1:{synced.port}"
    tab = Tab(browser)

    # "Execute all" on the snapshot checks is not offered: Dagster 1.13 would launch them with
    # no partition. The button says why.
    page = tab.open(f"{base}/assets/normalized_prices?view=checks")
    page.get_by_text("normalized_prices_model_count", exact=True).filter(visible=True).first.wait_for(timeout=WAIT_MS)
    execute_all = page.get_by_role("button", name="Execute all")
    execute_all.wait_for(timeout=WAIT_MS)
    assert execute_all.is_disabled()
    keep(page, "01_normalized_prices_checks_execute_all_not_offered")

    # "Execute all" on the freshness checks works (not partitioned) and every provider's
    # result reads in words: live since when, and a failing provider's last sync.
    page = tab.open(f"{base}/assets/price_freshness?view=checks")
    execute_all = page.get_by_role("button", name="Execute all")
    execute_all.wait_for(timeout=WAIT_MS)
    assert execute_all.is_enabled()
    with synced.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
        execute_all.click()

        def freshness_run():
            runs = [r for r in instance.get_runs() if r.run_id not in before]
            return runs[0] if runs and runs[0].is_finished else None

        try:
            run = synced._wait(freshness_run, 120, "the freshness run launched by Execute all")
        finally:
            keep(page, "02_price_freshness_execute_all_clicked")
    assert run.status == DagsterRunStatus.SUCCESS, run.job_name
    page = tab.open(f"{base}/assets/price_freshness?view=checks&checkDetail=fresh_vercel")
    page.get_by_text(re.compile(r"vercel: never published; last sync failure at .* \(http_5xx\), run ")).first.wait_for(
        timeout=WAIT_MS
    )
    keep(page, "02_fresh_vercel_provider_failing")
    page = tab.open(f"{base}/assets/price_freshness?view=checks&checkDetail=fresh_deepinfra")
    page.get_by_text(
        re.compile(r"deepinfra: last published .* UTC \(0\.\d h ago\); 1 model\(s\) held for review \(pricing-pipeline held --provider deepinfra\)\.")
    ).first.wait_for(timeout=WAIT_MS)
    keep(page, "03_fresh_deepinfra_live")
    # The freshness asset's page: its schedule is its automation, and "Observe" lists every
    # provider at a glance, the failing one included.
    page = tab.open(f"{base}/assets/price_freshness")
    page.get_by_text("price_freshness_schedule").first.wait_for(timeout=WAIT_MS)
    with synced.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
        page.get_by_role("button", name="Observe").first.click()

        def observe_run():
            runs = [r for r in instance.get_runs() if r.run_id not in before]
            return runs[0] if runs and runs[0].is_finished else None

        assert synced._wait(observe_run, 120, "the observation launched by Observe").status == DagsterRunStatus.SUCCESS
    page = tab.open(f"{base}/assets/price_freshness")
    page.get_by_text(re.compile(r"3 of 8 providers fresh; not fresh: .*vercel")).first.wait_for(timeout=WAIT_MS)
    text = keep(page, "04_price_freshness_overview")
    assert "No automations found" not in text
    assert "(fresh_)" not in text and "8:00:00" not in text

    # A provider failing, on the fetch asset's events: each failed attempt says so in words.
    page = tab.open(f"{base}/assets/raw_price_snapshot?view=events&partition=vercel")
    try:
        page.get_by_text(re.compile(r"Failed fetch attempt \d \(http_5xx\): GET http://127\.0\.0\.1:\d+/vercel: vercel: HTTP 500")).filter(visible=True).first.wait_for(
            timeout=WAIT_MS
        )
    finally:
        keep(page, "04b_raw_price_snapshot_failed_attempts_vercel")

    # A held model: the price guard's warning names the provider, the model and the way out,
    # on the check's partition (the latest result shown first may be another provider's).
    page = check_partition(tab, base, "published_prices", "price_guard_price_jump", "deepinfra")
    page.get_by_text(
        re.compile(r"deepinfra: 1 model\(s\) held by price_jump \(Qwen/Qwen3\.5-27B\); the rest of the snapshot is published")
    ).first.wait_for(timeout=WAIT_MS)
    assert "pricing-pipeline accept" in keep(page, "05_held_model_price_guard_price_jump_deepinfra")
    page.get_by_text("[Show Markdown]").first.click()  # the "held" table
    page.get_by_role("cell", name=HELD_MODEL).first.wait_for(timeout=WAIT_MS)
    page.get_by_role("cell", name="held", exact=True).filter(visible=True).first.wait_for(timeout=WAIT_MS)
    keep(page, "05b_held_model_table")

    # A warning check: LiteLLM's implausible prices are a warning, never called blocking.
    page = check_partition(tab, base, "published_prices", "price_guard_price_bounds", "litellm")
    page.get_by_text(re.compile(r"litellm: \d+ implausible price\(s\) in this reference catalog \(price_bounds\); published with this warning")).first.wait_for(
        timeout=WAIT_MS
    )
    text = keep(page, "06_warning_price_guard_price_bounds_litellm")
    page.get_by_text("[Show Markdown]").first.click()  # the "warnings" table
    page.get_by_role("columnheader", name="problem").first.wait_for(timeout=WAIT_MS)
    text += keep(page, "06b_warning_table")
    assert "blocking" not in text.replace("non-blocking asset check", "").lower()
    assert "held_models\n0" in text

    # A blocked snapshot: chutes' empty list, on the check's chutes partition.
    page = check_partition(tab, base, "normalized_prices", "normalized_prices_model_count", "chutes")
    page.get_by_text(re.compile(r"chutes: 0 models fetched, 0 published \(minimum 1\) \(run \w{8}\)")).first.wait_for(
        timeout=WAIT_MS
    )
    keep(page, "07_blocked_normalized_prices_model_count_chutes")

    # The provider's history, one plot per provider: fresh_deepinfra's counts over time.
    page = tab.open(f"{base}/assets/price_freshness?view=checks&checkDetail=fresh_deepinfra")
    page.get_by_text("Plots", exact=True).filter(visible=True).first.wait_for(timeout=WAIT_MS)
    page.get_by_text("live_models").first.wait_for(timeout=WAIT_MS)
    keep(page, "08_fresh_deepinfra_plots")

    # The partitions page names every provider; the backfill names its providers and fails
    # because chutes was blocked.
    page = tab.open(f"{base}/assets/published_prices?view=partitions")
    page.get_by_text("deepinfra", exact=True).filter(visible=True).first.wait_for(timeout=WAIT_MS)
    keep(page, "09_published_prices_partitions")
    keep(tab.open(f"{base}/assets/published_prices"), "10_published_prices_overview")
    page = tab.open(f"{base}/runs/b/{synced.backfill_id}?tab=partitions")
    page.get_by_text("chutes", exact=True).filter(visible=True).first.wait_for(timeout=WAIT_MS)
    text = keep(page, "11_backfill")
    assert "novita" in text and "Failed" in text
