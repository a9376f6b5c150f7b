"""The common actions, walked in a real browser (issue 31), counting the operator's steps: a
held model found from the catalog and accepted in at most 5, every provider synced from the
Jobs page in at most 3, and what the UI shows after each is true: no "held" left on the
accepted model, freshness names the accept and no sync failure, a partial materialize of
published_prices refused with what to do instead, and one feeds run after the backfill of
eight providers. Screenshots and page texts are kept under SCREENSHOTS."""

from __future__ import annotations

import re

from dagster import DagsterRunStatus, RunsFilter
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.deployment.graphql_documents import LAUNCH_RUN
from pricing_pipeline_tests.deployment.test_browser import browser  # noqa: F401 (fixture)
from pricing_pipeline_tests.deployment.test_ui_launch_paths import materialize_from_catalog, ui_check_selection
from pricing_pipeline_tests.deployment.test_ui_truth import (
    HELD_MODEL,
    WAIT_MS,
    Tab,
    deepinfra_with_a_price_jump,
    keep,
    succeeded,
)

REVIEW_CONFIG_BY = 'by: ""'


class Steps:
    """What the operator does, one count per click or typed field (a pop-up Dagster opens on
    its own, e.g. "Join the Dagster community", is dismissed first and not counted)."""

    def __init__(self, page_of):
        self.taken: list[str] = []
        self.page_of = page_of

    def __call__(self, what: str) -> None:
        page = self.page_of()
        for name in ("Skip", "Dismiss", "Close"):
            button = page.get_by_role("button", name=name, exact=True)
            if button.count() and button.first.is_visible():
                button.first.click()
        self.taken.append(what)


def materialize_published_prices_alone(deployment, provider: str) -> str:
    """What published_prices' own Materialize button launches: that asset and its checks."""
    checks = [c for c in ui_check_selection(deployment) if c["assetKey"]["path"] == ["published_prices"]]
    params = {
        "mode": "default",
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": provider}]},
        "selector": {
            "repositoryLocationName": "pricing_pipeline",
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": ["published_prices"]}],
            "assetCheckSelection": checks,
        },
    }
    result = deployment.graphql(LAUNCH_RUN, executionParams=params)["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def new_runs(instance, before: set[str], job_name: str | None = None):
    return [r for r in instance.get_runs() if r.run_id not in before and (job_name is None or r.job_name == job_name)]


def test_a_hold_is_found_and_accepted_in_five_steps_and_every_provider_synced_in_three(deployment, browser):  # noqa: F811
    deployment.start_webserver()
    deployment.start_daemon()
    deployment.wait_for_daemon_heartbeat()
    assert succeeded(deployment, materialize_from_catalog(deployment, "deepinfra"))
    deployment.upstream.serve_file("/deepinfra", deepinfra_with_a_price_jump(deployment.tmp))
    assert succeeded(deployment, materialize_from_catalog(deployment, "deepinfra"))  # one model held
    store = deployment.store()
    assert [row["model_id"] for row in store.held("deepinfra")] == [HELD_MODEL]
    with deployment.instance() as instance:
        held_run = new_runs(instance, set(), "__ASSET_JOB")[0]  # the newest sync
        assert held_run.tags["pricing/held"] == "1"  # the Runs list says so
    base = f"http://127.0.0.1:{deployment.port}"
    tab = Tab(browser)

    # --- a hold, found from the catalog and accepted ---------------------------------------
    held = Steps(lambda: tab.page)
    page = tab.open(f"{base}/assets")
    held("catalog: click held_prices")
    page.get_by_role("link", name="held_prices").first.click()
    page.get_by_text("1 model(s) held: deepinfra 1").first.wait_for(timeout=WAIT_MS)
    keep(page, "20_held_prices")
    held("show the held table")
    held("click accept")
    # The page re-renders as Dagster polls (a dialog can close under a click): retried, the
    # steps counted once.
    for attempt in range(4):
        try:
            if not page.get_by_role("link", name="accept", exact=True).count():
                page.get_by_text("[Show Markdown]").first.click(timeout=10_000)
                page.get_by_role("cell", name=HELD_MODEL).first.wait_for(timeout=10_000)
                if attempt == 0:
                    keep(page, "21_held_prices_table")
            page.get_by_role("link", name="accept", exact=True).first.click(timeout=10_000)
            page.locator(".CodeMirror").first.wait_for(timeout=10_000)
            break
        except PlaywrightError:
            if attempt == 3:
                raise
    page.locator(".CodeMirror").first.wait_for(timeout=WAIT_MS)
    page.wait_for_load_state("networkidle")
    text = keep(page, "22_review_launchpad")
    assert HELD_MODEL in text and "expected_proposals" in text
    held("type by and reason")
    page.evaluate(
        """() => { const cm = document.querySelector('.CodeMirror').CodeMirror;
                   cm.setValue(cm.getValue().replace('by: ""', 'by: "jane.doe"')
                                             .replace('reason: ""', 'reason: "checked the pricing page"')); }"""
    )
    with deployment.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
        held("launch")
        page.get_by_role("button", name=re.compile("Launch Run")).first.click()
        try:
            review = deployment._wait(lambda: new_runs(instance, before, "price_review_job"), 60, "the review run")[0]
        finally:
            keep(page, "23_review_launched")
    assert review.tags["dagster/partition"] == "deepinfra"
    assert succeeded(deployment, review.run_id)
    assert len(held.taken) <= 5, held.taken
    assert store.held("deepinfra") == []

    # What the UI shows right after: the guard check passes, freshness names the accept.
    page = tab.open(f"{base}/assets/held_prices")
    page.get_by_text("Nothing is held.").first.wait_for(timeout=WAIT_MS)
    keep(page, "24_held_prices_after_accept")
    page = tab.open(f"{base}/assets/price_freshness?view=checks&checkDetail=fresh_deepinfra")
    page.get_by_text(re.compile(r"deepinfra: last published .*; accepted by jane\.doe at .*, run \w{8}\.")).first.wait_for(
        timeout=WAIT_MS
    )
    text = keep(page, "25_fresh_deepinfra_after_accept")
    assert "last sync failure" not in text and "held for review" not in text

    # --- a partial materialize: published_prices alone, as its asset page's Materialize -----
    refused = materialize_published_prices_alone(deployment, "deepinfra")
    assert not succeeded(deployment, refused)
    page = tab.open(f"{base}/runs/{refused}")
    page.get_by_text(re.compile(r"published_prices: refused: this run does not fetch deepinfra")).first.wait_for(
        timeout=WAIT_MS
    )
    keep(page, "25b_partial_materialize_refused")
    assert store.sync_row(refused) is None  # no sync: freshness and the sync log untouched

    # --- every provider, synced from the Jobs page -----------------------------------------
    # Counted from price_sync_job's page (Jobs → price_sync_job is the one navigation before).
    sync_all = Steps(lambda: tab.page)
    page = tab.open(f"{base}/jobs")
    page.get_by_role("link", name="price_sync_job").first.click()
    materialize_all = page.get_by_role("button", name=re.compile("Materialize all")).first
    expect(materialize_all).to_be_enabled(timeout=60_000)
    sync_all("Materialize all")
    materialize_all.click()
    every = page.get_by_role("button", name="All", exact=True).first
    every.wait_for(timeout=WAIT_MS)
    sync_all("All (the dialog starts with no partition selected)")
    every.click()
    launch = page.get_by_role("button", name=re.compile(r"Launch .*backfill", re.I)).first
    try:
        expect(launch).to_be_enabled(timeout=60_000)  # the dialog loads every partition's state first
    finally:
        keep(page, "26_sync_all_dialog")
    with deployment.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
        sync_all("Launch backfill")
        launch.click()
        try:
            backfill = deployment._wait(lambda: instance.get_backfills(), 60, "the backfill")[0]
        finally:
            keep(page, "27_sync_all_launched")
    assert len(sync_all.taken) <= 3, sync_all.taken
    assert sorted(backfill.partition_names or []) == sorted(PROVIDER_NAMES)

    with deployment.instance() as instance:
        def syncs_done():
            runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
            done = instance.get_backfill(backfill.backfill_id).status.value != "REQUESTED"
            return runs if done and len(runs) == len(PROVIDER_NAMES) and all(r.is_finished for r in runs) else None

        runs = deployment._wait(syncs_done, 600, "the backfill's eight syncs")
        # This deployment's run monitoring ends a run after 25 s (conftest): on a loaded machine
        # the biggest catalogs can hit it while eight syncs share two cores. Any mix will do.
        assert any(r.status == DagsterRunStatus.SUCCESS for r in runs), {r.tags["dagster/partition"]: r.status for r in runs}
        last = max(instance.get_run_record_by_id(r.run_id).end_time for r in runs)

        def feeds_runs():
            found = [
                r for r in new_runs(instance, before, "price_feeds_job")
                if instance.get_run_record_by_id(r.run_id).create_timestamp.timestamp() >= last - 1
            ]
            return found if found and all(r.is_finished for r in found) else None

        deployment._wait(feeds_runs, 600, "the feeds run after the backfill")  # a hang guard
        # one feeds run for the whole backfill (the sensor ticks every 5 s here): not one per provider
        assert len(new_runs(instance, before, "price_feeds_job")) == 1
