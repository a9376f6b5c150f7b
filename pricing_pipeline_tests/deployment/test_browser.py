"""The UI as an operator sees it, in a real browser (Debian's Chromium driven by Playwright):
the asset's partitions page lists every provider, and the checks tabs name the blocking
checks and the per-provider freshness checks."""

from __future__ import annotations

import shutil

import pytest

from pricing_pipeline.providers.registry import PROVIDER_NAMES

CHROMIUM = shutil.which("chromium")


@pytest.fixture
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (make tools installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def open_page(browser, url: str):
    page = browser.new_page()
    page.goto(url, wait_until="networkidle", timeout=60_000)
    skip = page.get_by_role("button", name="Skip")
    if skip.count():  # the first-visit "Join the Dagster community" pop-up
        skip.first.click()
    return page


def test_partitions_page_and_checks_tabs_render_providers_and_checks(deployment, browser):
    deployment.start_webserver()
    base = f"http://127.0.0.1:{deployment.port}"

    page = open_page(browser, f"{base}/assets/published_prices?view=partitions")
    for provider in PROVIDER_NAMES:
        page.get_by_text(provider, exact=True).filter(visible=True).first.wait_for(timeout=30_000)

    page = open_page(browser, f"{base}/assets/normalized_prices?view=checks")
    for check in ("normalized_prices_schema", "normalized_prices_model_count", "normalized_prices_catalog_replaced"):
        page.get_by_text(check, exact=True).filter(visible=True).first.wait_for(timeout=30_000)

    page = open_page(browser, f"{base}/assets/published_prices?view=checks")
    for check in ("price_guard_price_jump", "price_guard_mass_change"):
        page.get_by_text(check, exact=True).filter(visible=True).first.wait_for(timeout=30_000)

    page = open_page(browser, f"{base}/assets/price_freshness?view=checks")
    for provider in PROVIDER_NAMES:
        page.get_by_text(f"fresh_{provider}", exact=True).filter(visible=True).first.wait_for(timeout=30_000)
