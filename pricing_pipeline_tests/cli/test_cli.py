"""The pricing-pipeline command as a user runs it: a real process on a real instance."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline_tests.recordings import REPO_ROOT

CLI = [sys.executable, "-m", "pricing_pipeline.cli"]
# A subprocess that has not finished by then hangs; how long it takes is not asserted.
HANG_GUARD_SECONDS = 600
PRICE_KEYS = [
    "provider", "model_id", "input_usd_per_mtok", "output_usd_per_mtok",
    "cache_read_usd_per_mtok", "cache_write_usd_per_mtok", "valid_from",
]


@pytest.fixture
def cli_env(replay, sqlite_url, tmp_path):
    """The command as `make sync` users run it: the embedded SQLite default (the store's
    PostgreSQL behaviour is covered by the store, sync and deployment tests)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PRICING_DATABASE_URL": sqlite_url, "PYTHONWARNINGS": "ignore"}
    return env


def cli(env, *args, check=True):
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=180, cwd=REPO_ROOT)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_sync_then_query_prices_and_changes(cli_env):
    synced = cli(cli_env, "sync", "--provider", "deepinfra", "--provider", "openrouter")
    out = synced.stdout
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines[0][:10] == ["provider", "status", "models", "added", "changed", "removed", "held", "quarantined",
                             "endpoints_failed", "seconds"]
    # OpenRouter: 339 models and their 952 endpoints added but 5 held (3 models and 2 endpoints priced
    # zero and not marked free); 2 endpoints quarantined (two entries with one tag at different prices)
    assert [line[:9] for line in lines[1:]] == [
        ["deepinfra", "success", "88", "88", "0", "0", "0", "0", "0"],
        ["openrouter", "success", "339", "1286", "0", "0", "5", "2", "0"],
    ]

    # the runs are on the persistent instance, launched from the workspace's code location
    # through the run queue (so the one-run-per-provider limit holds), as the UI's are
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        runs = [r for r in instance.get_runs() if r.job_name == "price_sync_job"]
        assert sorted(r.tags["dagster/partition"] for r in runs) == ["deepinfra", "openrouter"]
        # and one feeds run; the daemon the command started may also have ticked a schedule
        # (freshness every 15 minutes) while it ran
        others = [r.job_name for r in instance.get_runs() if r not in runs]
        assert others.count("price_feeds_job") == 1
        # (the bills of each synced provider are reconciled after its sync: bill_reconciliation_job)
        assert set(others) <= {"price_feeds_job", "price_freshness_check_job", "price_cross_source_job",
                               "bill_reconciliation_job"}
        # then freshness, once, so the UI shows every provider's check now rather than at the
        # schedule's next tick: all eight checks, judged after the two publishes
        [freshness] = [
            r for r in instance.get_runs()
            if r.job_name == "price_freshness_check_job" and r.tags.get("pricing/trigger") == "cli"
        ]
        checks = {
            evaluation.check_name: evaluation.passed
            for evaluation in (
                record.event_log_entry.dagster_event.event_specific_data
                for record in instance.get_records_for_run(
                    freshness.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
                ).records
            )
        }
        assert checks == {f"fresh_{p}": p in ("deepinfra", "openrouter") for p in PROVIDER_NAMES}
        assert "freshness" not in synced.stderr  # a note only when it could not be evaluated
        runs.append(freshness)
        assert all(r.remote_job_origin.location_name == "pricing_pipeline" for r in runs)
        assert all(r.tags["pricing/trigger"] == "cli" for r in runs)
        for run in runs:
            enqueued = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_ENQUEUED).records
            assert enqueued, "submitted to the run queue"
            assert instance.get_run_record_by_id(run.run_id).start_time is not None

    # the price feeds were written after the syncs
    feed = json.loads((Path(cli_env["DAGSTER_HOME"]) / "feeds" / "prices.json").read_text())
    assert set(feed["providers"]) == {"deepinfra", "openrouter"}

    records = json.loads(cli(cli_env, "prices", "--provider", "deepinfra", "--format", "json").stdout)
    assert len(records) == 88
    assert all(list(r) == [*PRICE_KEYS, "model_type", "components"] for r in records)
    by_id = {r["model_id"]: r for r in records}
    # DeepInfra's recorded 2.5999999999999996 per 1M is published as the decimal string "2.6"
    noisy = [r for r in records if r["output_usd_per_mtok"] == "2.6"]
    assert noisy, "expected the float-noise price to be published as 2.6"
    assert all(isinstance(v, (str, type(None))) for r in records for k, v in r.items() if k != "components")

    model = next(iter(by_id))
    one = json.loads(cli(cli_env, "prices", "--provider", "deepinfra", "--model", model, "--format", "json").stdout)
    assert one == [by_id[model]]
    before_sync = json.loads(
        cli(cli_env, "prices", "--provider", "deepinfra", "--at", "2020-01-01T00:00:00Z", "--format", "json").stdout
    )
    assert before_sync == []
    at_valid_from = json.loads(
        cli(cli_env, "prices", "--model", model, "--at", by_id[model]["valid_from"], "--format", "json").stdout
    )
    assert [r["input_usd_per_mtok"] for r in at_valid_from] == [by_id[model]["input_usd_per_mtok"]]
    # the same instant written with another UTC offset is the same instant
    valid_from = datetime.fromisoformat(by_id[model]["valid_from"])
    shifted = valid_from.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    assert json.loads(cli(cli_env, "prices", "--model", model, "--at", shifted, "--format", "json").stdout) == (
        at_valid_from)
    just_before = (valid_from - timedelta(microseconds=1)).astimezone(timezone(timedelta(hours=-7))).isoformat()
    assert json.loads(cli(cli_env, "prices", "--model", model, "--at", just_before, "--format", "json").stdout) == []
    naive_utc = valid_from.replace(tzinfo=None).isoformat()
    assert json.loads(cli(cli_env, "changes", "--provider", "deepinfra", "--since", naive_utc, "--format", "json").stdout)

    rows = list(csv.DictReader(io.StringIO(cli(cli_env, "prices", "--provider", "openrouter", "--format", "csv").stdout)))
    assert len(rows) == 336 and list(rows[0]) == PRICE_KEYS

    changes = json.loads(cli(cli_env, "changes", "--provider", "deepinfra", "--format", "json").stdout)
    assert len(changes) == 88
    assert {c["kind"] for c in changes} == {"added"}
    assert all(
        list(c) == ["provider", "model_id", "kind", "before", "after", "changed_at", "accepted_by", "accept_reason"]
        for c in changes
    )
    assert changes[0]["before"] is None and changes[0]["after"]["model_id"] == changes[0]["model_id"]
    later = json.loads(cli(cli_env, "changes", "--since", "2999-01-01T00:00:00", "--format", "json").stdout)
    assert later == []


def test_sync_exits_non_zero_when_a_provider_fails(cli_env, upstream):
    upstream.serve("/chutes", "<html>down</html>", status=200)
    result = cli(cli_env, "sync", "--provider", "chutes", "--provider", "novita", check=False)
    assert result.returncode == 1
    lines = {line.split()[0]: line for line in result.stdout.strip().splitlines()[1:]}
    assert lines["chutes"].split()[1] == "failure" and "not JSON" in lines["chutes"]
    assert lines["novita"].split()[1] == "success"


def test_offline_sync_fails_fast_with_the_summary_first_and_a_replay_hint(cli_env, tmp_path):
    """`make sync` with every provider unreachable (a closed local port): the summary table,
    then a one-line hint; the tracebacks stay in the Dagster run logs. "Fast" is asserted by
    its cause, not a stopwatch: a refused connection is retried once (not the retry policy's
    3 times with backoff) and a missing key never. The timeout only catches a hang; the time
    it takes is in benchmarks/offline_timings.py."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = {**cli_env, "DAGSTER_HOME": str(tmp_path / "fresh_home")}
    for provider in ("openrouter", "vercel", "deepinfra", "together", "chutes", "novita", "modelsdev", "litellm"):
        env[f"PRICING_{provider.upper()}_URL"] = f"http://127.0.0.1:{closed}/{provider}"
    env.pop("NOVITA_API_KEY", None)  # and one provider misconfigured
    result = subprocess.run(["make", "--no-print-directory", "sync"], env=env, capture_output=True, text=True,
                            timeout=HANG_GUARD_SECONDS, cwd=REPO_ROOT)
    assert result.returncode != 0
    table = [line.split() for line in result.stdout.strip().splitlines() if not line.startswith(".venv")]
    header = next(i for i, line in enumerate(table) if line[:2] == ["provider", "status"])
    rows = {line[0]: line for line in table[header + 1:]}
    assert set(rows) == {"openrouter", "vercel", "deepinfra", "together", "chutes", "novita", "modelsdev", "litellm"}
    assert all(row[1] == "failure" for row in rows.values())
    assert "could not connect" in " ".join(rows["openrouter"])
    assert "NOVITA_API_KEY is not set" in " ".join(rows["novita"])
    assert "make sync REPLAY=" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    from pricing_pipeline.store import PricingStore

    store = PricingStore(env["PRICING_DATABASE_URL"])
    error_types = {row["provider"]: row["error_type"] for row in store.sync_rows()}
    store.dispose()
    assert error_types["novita"] == "configuration" and error_types["openrouter"] == "connection"
    retries = step_retries_per_provider(env["DAGSTER_HOME"])
    assert retries == {provider: 0 if provider == "novita" else 1 for provider in rows}, retries


def step_retries_per_provider(dagster_home: str) -> dict[str, int]:
    """How often each provider's sync run retried its steps (STEP_UP_FOR_RETRY events)."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(dagster_home) as instance:
        return {
            run.tags["dagster/partition"]: sum(
                1 for record in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY))
            for run in instance.get_runs() if run.job_name == "price_sync_job"
        }


def test_freshness_that_cannot_be_evaluated_is_one_line_never_an_error(monkeypatch):
    """The sync's evaluation of freshness is a courtesy (the schedule does it anyway): whatever
    keeps it from running is one line for stderr, never an exception or the exit status."""
    from dagster import DagsterRunStatus

    from pricing_pipeline import cli as command
    from pricing_pipeline import submit

    later = "price_freshness_schedule evaluates it at its next tick"

    def code_server_gone(*args, **kwargs):
        raise RuntimeError("code server unreachable\nTraceback ...")

    monkeypatch.setattr(submit, "submit_run", code_server_gone)
    finished = {"a": DagsterRunStatus.SUCCESS, "b": DagsterRunStatus.FAILURE}
    assert command.submit_freshness_run(None, None, ["a", "b"], finished, {}) == (
        None, f"freshness not evaluated: RuntimeError: code server unreachable; {later}")
    still_running = {**finished, "c": DagsterRunStatus.STARTED}
    assert command.submit_freshness_run(None, None, ["a", "b", "c"], still_running, {}) == (
        None, f"freshness not evaluated: 1 sync run(s) unfinished; {later}")
    assert command.freshness_run_note("r1", DagsterRunStatus.SUCCESS) is None
    assert command.freshness_run_note("r1", DagsterRunStatus.FAILURE) == (
        f"freshness: price_freshness_check_job run r1 did not succeed (failure); {later}")


def test_unknown_provider_is_a_usage_error(cli_env):
    for command in ("sync", "prices", "changes"):
        result = cli(cli_env, command, "--provider", "nope", check=False)
        assert result.returncode == 2 and "invalid choice" in result.stderr and "openrouter" in result.stderr


def test_prices_show_every_component_of_every_model(cli_env):
    cli(cli_env, "sync", "--provider", "openrouter")
    records = json.loads(cli(cli_env, "prices", "--provider", "openrouter", "--format", "json").stdout)
    by_id = {r["model_id"]: r for r in records}
    sonnet = by_id["anthropic/claude-sonnet-4.6"]
    assert sonnet["model_type"] == "chat"
    components = {(c["component"], c["unit"], c["min_context_tokens"]): c for c in sonnet["components"]
                  if c["upstream_provider"] is None}  # the model's own (its endpoints' follow)
    # the recording's pricing: web_search "0.01" per search, input_cache_write_1h "0.000006" per token
    assert components[("web_search", "usd_per_search", 0)]["usd"] == "0.01"
    assert components[("cache_write_1h", "usd_per_mtok", 0)]["usd"] == "6"
    own = [c for c in sonnet["components"] if c["upstream_provider"] is None]
    assert all(
        set(c) == {"component", "unit", "usd", "min_context_tokens", "window_utc", "service_tier", "region",
                   "upstream_provider", "upstream_tag"}
        and c["service_tier"] == "standard" and c["window_utc"] is None and c["upstream_tag"] is None
        for c in own
    )
    # then each endpoint's, naming it; the endpoints listed with their discount
    endpoints = {e["upstream_tag"]: e for e in sonnet["endpoints"]}
    assert {c["upstream_tag"] for c in sonnet["components"][len(own):]} == set(endpoints)
    assert endpoints and all(e["discount"] is not None for e in endpoints.values())
    assert not any("#" in r["model_id"] for r in records)  # endpoints are listed under their model
    table = cli(cli_env, "prices", "--provider", "openrouter", "--model", "anthropic/claude-sonnet-4.6").stdout
    header, row = table.splitlines()
    assert header.split()[-2:] == ["more_components", "valid_from"]
    base = sum(sonnet[key] is not None for key in PRICE_KEYS[2:6])
    assert row.split()[-2] == str(len(sonnet["components"]) - base)


def test_cost_prints_the_exact_cost_and_fails_clearly(cli_env, payloads):
    from datetime import datetime, timezone

    from pricing_pipeline.providers.registry import get_adapter
    from pricing_pipeline.store import PricingStore

    store = PricingStore(cli_env["PRICING_DATABASE_URL"])
    store.migrate()
    published_at = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    store.publish("openrouter", get_adapter("openrouter").records(payloads.get("openrouter")), published_at=published_at)
    store.dispose()
    model = ["--provider", "openrouter", "--model", "anthropic/claude-sonnet-4.6"]
    result = json.loads(cli(cli_env, "cost", *model, "--input-tokens", "10000", "--cache-read-tokens", "4000",
                            "--output-tokens", "500", "--web-searches", "2", "--format", "json").stdout)
    assert list(result) == ["provider", "model_id", "at", "total_usd", "upstream_provider", "upstream_tag", "lines"]
    # 6,000 input at $3/1M, 4,000 cache reads at $0.30/1M, 500 output at $15/1M, 2 searches at $0.01
    assert result["total_usd"] == "0.0467"  # 0.018 + 0.0012 + 0.0075 + 0.02
    assert [line["component"] for line in result["lines"]] == ["input", "cache_read", "output", "web_search"]
    assert all(list(line) == ["component", "quantity", "unit", "unit_price_usd", "usd", "tier", "window_utc",
                              "service_tier", "valid_from", "upstream_provider", "upstream_tag"]
               for line in result["lines"])
    table = cli(cli_env, "cost", *model, "--input-tokens", "1000000").stdout
    assert "total_usd 3" in table

    errors = {
        "unknown model": (["--provider", "openrouter", "--model", "no/such", "--input-tokens", "1"], "never listed"),
        "not listed then": ([*model, "--input-tokens", "1", "--at", "2026-01-01T00:00:00"], "not listed at"),
        "unknown price": (["--provider", "openrouter", "--model", "ai21/jamba-large-1.7", "--web-searches", "1"],
                          "no price for web searches"),
        "variable": (["--provider", "openrouter", "--model", "openrouter/auto-beta", "--input-tokens", "1"],
                     "variable pricing"),
        "tier": ([*model, "--input-tokens", "1", "--service-tier", "batch"], "no batch prices"),
    }
    for name, (args, message) in errors.items():
        failed = cli(cli_env, "cost", *args, check=False)
        assert failed.returncode == 1, name
        assert failed.stdout == "" and len(failed.stderr.strip().splitlines()) == 1 and message in failed.stderr, name
    unknown_provider = cli(cli_env, "cost", "--provider", "nosuch", "--model", "x", check=False)
    assert unknown_provider.returncode == 2 and "openrouter" in unknown_provider.stderr


@pytest.fixture
def running_daemon(cli_env, monkeypatch, tmp_path):
    """One dagster-daemon on the instance for the whole test, as in production: every command
    uses it instead of starting its own (each start costs seconds)."""
    import time

    from dagster import DagsterInstance

    from pricing_pipeline import submit

    for name in ("DAGSTER_HOME", "PRICING_DATABASE_URL"):
        monkeypatch.setenv(name, cli_env[name])
    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance, \
            submit.daemon_for(instance, ["-w", str(REPO_ROOT / "workspace.yaml")], tmp_path / "daemon.log") as daemon:
        deadline = time.monotonic() + 90
        while not submit.daemon_running(instance) and time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-2000:]
            time.sleep(0.5)
        assert submit.daemon_running(instance)
        yield daemon


def test_a_held_model_is_listed_accepted_and_rejected_from_the_command_line(cli_env, running_daemon, upstream, payloads):
    # without the new zero-priced models a first sync holds (unmarked_free): only this test's holds
    upstream.serve("/openrouter", json.dumps(payloads.models_only("openrouter")))
    cli(cli_env, "sync", "--provider", "openrouter")
    payload = payloads.models_only("openrouter")
    models = {m["id"]: m for m in payload["data"]}
    models["deepseek/deepseek-v3.2"]["pricing"]["completion"] = "0.0004"  # x1000
    models["openai/gpt-5.4"]["pricing"].update(prompt="0", completion="0")  # paid -> free
    models["openai/gpt-5.4-mini"]["pricing"]["prompt"] = "0.000000825"  # an ordinary change
    upstream.serve("/openrouter", json.dumps(payload))
    out = cli(cli_env, "sync", "--provider", "openrouter").stdout
    header, row = [line.split() for line in out.strip().splitlines()][:2]
    assert dict(zip(header, row))["held"] == "2" and dict(zip(header, row))["changed"] == "1"

    held = json.loads(cli(cli_env, "held", "--format", "json").stdout)
    assert [h["model_id"] for h in held] == ["deepseek/deepseek-v3.2", "openai/gpt-5.4"]
    jump = held[0]
    assert {"provider", "model_id", "rule", "reason", "held_since", "published", "proposed"} <= set(jump)
    assert (jump["rule"], jump["published"]["output_usd_per_mtok"], jump["proposed"]["output_usd_per_mtok"]) == (
        "price_jump", "0.4", "400")
    # a price record as `prices` prints it (which adds the model's endpoints, held apart)
    assert set(jump["published"]) | {"endpoints"} == set(json.loads(cli(cli_env, "prices", "--format", "json",
                                                                        "--model", "deepseek/deepseek-v3.2").stdout)[0])
    assert "x1000" in jump["reason"] and "openrouter" in cli(cli_env, "held").stdout

    missing = cli(cli_env, "accept", "--provider", "openrouter", "--model", "openai/gpt-4o", "--by", "jane",
                  "--reason", "r", check=False)
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "nothing is held for 'openai/gpt-4o'" in missing.stderr

    reason = "DeepSeek's pricing page (2026-12-04)"
    accepted = cli(cli_env, "accept", "--provider", "openrouter", "--model", "deepseek/deepseek-v3.2",
                   "--by", "jane.doe", "--reason", reason)
    assert "accepted 1: deepseek/deepseek-v3.2" in accepted.stdout
    prices = json.loads(cli(cli_env, "prices", "--format", "json", "--model", "deepseek/deepseek-v3.2").stdout)
    assert prices[0]["output_usd_per_mtok"] == "400"
    changes = json.loads(cli(cli_env, "changes", "--format", "json").stdout)
    [change] = [c for c in changes if c["model_id"] == "deepseek/deepseek-v3.2" and c["kind"] == "changed"]
    assert (change["accepted_by"], change["accept_reason"]) == ("jane.doe", reason)

    cli(cli_env, "reject", "--provider", "openrouter", "--all", "--by", "jane.doe", "--reason", "not free")
    assert json.loads(cli(cli_env, "held", "--format", "json").stdout) == []
    [rejected] = [c for c in json.loads(cli(cli_env, "changes", "--format", "json").stdout) if c["kind"] == "rejected"]
    assert (rejected["model_id"], rejected["decided_by"], rejected["decision_reason"]) == (
        "openai/gpt-5.4", "jane.doe", "not free")
    again = cli(cli_env, "reject", "--provider", "openrouter", "--all", "--by", "j", "--reason", "r", check=False)
    assert again.returncode == 2 and "nothing is held" in again.stderr

    from dagster import DagsterInstance

    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        reviews = [r for r in instance.get_runs() if r.job_name == "price_review_job"]
        assert len(reviews) == 2 and {r.tags["dagster/partition"] for r in reviews} == {"openrouter"}
