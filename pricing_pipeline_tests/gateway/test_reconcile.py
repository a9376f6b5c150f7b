"""`pricing-pipeline reconcile` on bills written from the recordings' own prices: exact ones, one
billed at another endpoint's price, one with a web plugin fee, a BYOK one and unreadable lines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.gateway.reconcile import reconcile_lines
from pricing_pipeline_tests.gateway.conftest import DAY1, PUBLISHED_AT, bill_line, billed, raw_endpoint

AT = PUBLISHED_AT[DAY1] + timedelta(hours=2)


def bills() -> list[str]:
    azure = raw_endpoint(DAY1, "deepseek/deepseek-r1", "azure")["pricing"]
    novita = raw_endpoint(DAY1, "deepseek/deepseek-r1", "novita/fp8")["pricing"]
    sonnet = raw_endpoint(DAY1, "anthropic/claude-sonnet-4.5", "anthropic")["pricing"]
    fee = Decimal("0.02")  # the web plugin: outside the upstream's charge
    with_fee = billed(sonnet, 250_000, 900, cached=50_000)
    return [
        bill_line("deepseek/deepseek-r1", "Azure", AT, 1200, 300, billed(azure, 1200, 300), "gen-1"),
        bill_line("deepseek/deepseek-r1", "Novita", AT, 5000, 100, billed(novita, 5000, 100), "gen-2"),
        # billed at Azure's price but served (we are told) by Novita: off
        bill_line("deepseek/deepseek-r1", "Novita", AT, 5000, 100, billed(azure, 5000, 100), "gen-3"),
        # a long prompt with cache reads at Anthropic, plus a web plugin fee
        bill_line("anthropic/claude-sonnet-4.5", "Anthropic", AT, 250_000, 900, with_fee + fee, "gen-4", cached=50_000,
                  cost_details={"upstream_inference_cost": float(with_fee)}),
        # within 1%: a fraction of a cent off a dollar-sized bill
        bill_line("anthropic/claude-sonnet-4.5", "Anthropic", AT, 300_000, 1000,
                  billed(sonnet, 300_000, 1000) * Decimal("1.005"), "gen-5"),
        "{not json",
        json.dumps({"id": "gen-7", "model": "deepseek/deepseek-r1", "provider": "Azure", "created": 1}),  # no usage
        "",  # blank lines are skipped
        # an endpoint the model does not have: an error naming the ones it has
        bill_line("deepseek/deepseek-r1", "Nowhere", AT, 10, 10, Decimal("0.001"), "gen-9"),
        # before our first observation of the model: priced with the first price we saw
        bill_line("deepseek/deepseek-r1", "Azure", AT - timedelta(days=30), 1200, 300, billed(azure, 1200, 300),
                  "gen-10"),
    ]


def test_bills_are_reconciled_at_their_serving_endpoint(day1):
    book = PriceBook(day1, history_window=timedelta(days=3650))
    report = reconcile_lines(book.cost, "openrouter", bills()).to_json()
    assert {k: report[k] for k in ("records", "exact", "within_1pct", "off", "errors", "exact_share", "fees_usd",
                                   "before_history")} == {
        "records": 9, "exact": 4, "within_1pct": 1, "off": 1, "errors": 3, "exact_share": "0.444444",
        "fees_usd": "0.02", "before_history": 1}
    by_model = {(row["model_id"], row["upstream_provider"]): row for row in report["by_model"]}
    assert by_model[("deepseek/deepseek-r1", "Novita")] == {
        "model_id": "deepseek/deepseek-r1", "upstream_provider": "Novita", "records": 2, "exact": 1, "off": 1}
    assert by_model[("deepseek/deepseek-r1", "Azure")]["exact"] == 2
    errors = {row["line"]: row["error"] for row in report["not_exact"] if row["outcome"] == "error"}
    assert set(errors) == {6, 7, 9}
    assert "line 6" in errors[6] and "missing usage" in errors[7] and "its endpoints:" in errors[9]
    [off] = [row for row in report["not_exact"] if row["outcome"] == "off"]
    assert (off["line"], off["upstream_tag"]) == (3, "novita/fp8") and Decimal(off["difference_usd"]) < 0


def test_a_byok_bills_fee_is_reported_apart(day1):
    azure = raw_endpoint(DAY1, "deepseek/deepseek-r1", "azure")["pricing"]
    upstream = billed(azure, 1000, 1000)
    line = bill_line("deepseek/deepseek-r1", "Azure", AT, 1000, 1000, upstream * Decimal("0.05"), is_byok=True,
                     cost_details={"upstream_inference_cost": float(upstream)})
    report = reconcile_lines(PriceBook(day1).cost, "openrouter", [line]).to_json()
    assert (report["exact"], Decimal(report["fees_usd"])) == (1, upstream * Decimal("0.05"))


def test_the_command_prints_the_contract_and_exits_zero(day1, db_url, tmp_path):
    path = tmp_path / "bills.jsonl"
    path.write_text("\n".join(bills()) + "\n")
    env = {"PRICING_DATABASE_URL": db_url, "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "pricing_pipeline.cli", "reconcile", "--provider", "openrouter", str(path)]
    result = subprocess.run([*command, "--format", "json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report)[:9] == ["records", "exact", "within_1pct", "off", "errors", "exact_share", "fees_usd",
                                "before_history", "by_model"]
    assert set(report["by_model"][0]) == {"model_id", "upstream_provider", "records", "exact", "off"}
    table = subprocess.run(command, env=env, capture_output=True, text=True)
    assert table.returncode == 0 and table.stdout.startswith("9 bills: 4 exact, 1 within 1%, 1 off, 3 errors")
    missing = subprocess.run([*command[:-1], str(tmp_path / "none.jsonl")], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_bill_naming_the_dated_canonical_slug_is_reconciled_as_its_model(day1):
    from datetime import datetime, timezone

    from pricing_pipeline.gateway.reconcile import provider_aliases, with_aliases
    from pricing_pipeline_tests.recordings import ENDPOINTS_DIR

    body = (ENDPOINTS_DIR / DAY1 / "models.json").read_bytes()
    day1.archive_raw_snapshot("openrouter", "http://127.0.0.1/api/v1/models", body, datetime.now(timezone.utc), "sync")
    aliases = provider_aliases(day1, "openrouter")
    assert aliases["anthropic/claude-4.5-sonnet-20250929"] == "anthropic/claude-sonnet-4.5"
    assert "deepseek/deepseek-r1" not in aliases  # its slug is its id
    listed = json.loads(body)["data"]
    shared = {m["canonical_slug"] for m in listed if m["id"].endswith(":free")} & {
        m["canonical_slug"] for m in listed if not m["id"].endswith(":free") and m["canonical_slug"] != m["id"]}
    assert shared and all(not aliases[slug].endswith(":free") for slug in shared)  # a shared slug names the paid id
    sonnet = raw_endpoint(DAY1, "anthropic/claude-sonnet-4.5", "anthropic")["pricing"]
    line = bill_line("anthropic/claude-4.5-sonnet-20250929", "Anthropic", AT, 2000, 100, billed(sonnet, 2000, 100), "g")
    book = PriceBook(day1, history_window=timedelta(days=3650))
    assert reconcile_lines(book.cost, "openrouter", [line]).to_json()["errors"] == 1  # not a listed id
    report = reconcile_lines(with_aliases(book.cost, aliases), "openrouter", [line]).to_json()
    assert (report["exact"], report["errors"]) == (1, 0)
