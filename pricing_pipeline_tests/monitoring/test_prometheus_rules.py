"""Prometheus rules and config: promtool checks, the promtool unit tests, and the rules'
own invariants (labels, annotations, runbooks, provider lists, thresholds, rule names)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from pricing_pipeline_tests.monitoring._support import (
    BLACKBOX_CONFIG,
    PROMETHEUS_DIR,
    PROMTOOL_TESTS,
    RULE_FILES,
    RUNBOOK_DIR,
    RUNBOOK_URL_PREFIX,
    alert_rules,
    all_rules,
    load_contract,
    load_rule_groups,
    recording_names,
    run,
    tool,
)

SEVERITIES = {"critical", "warning", "info"}
EXPECTED_RULE_FILES = {"pricing_sync_recording.yml", "pricing_sync_alerts.yml", "pricing_sync_slos.yml"}
NAMED_ALERTS = {
    # the 11 alerts operators know (issue 5)
    "PricingSyncSchedulerStopped": "critical",
    "PricingSyncHighErrorRate": "critical",
    "PricingSyncNoRunsRecorded": "critical",
    "PricingSyncDatabaseUpdateFailures": "critical",
    "PricingSyncSlowDuration": "warning",
    "PricingSyncLowModelsUpdated": "warning",
    "PricingSyncMemoryUsageHigh": "warning",
    "PricingSyncProviderTimeout": "warning",
    "PricingSyncStaleData": "warning",
    "PricingSyncCompleted": "info",
    "PricingSyncProviderAdded": "info",
    # price guard and metrics publisher
    "PricingSyncPriceGuardBlocked": "warning",
    "PricingMetricsPublisherHeartbeatStale": "warning",
    # the change watcher
    "PricingUpstreamUnverified": "warning",
    "PricingWatchBudgetExhausted": "info",
}


def test_rule_files_are_the_expected_ones():
    assert {p.name for p in RULE_FILES} == EXPECTED_RULE_FILES


def test_promtool_check_rules_is_clean():
    result = run([tool("promtool"), "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in (result.stdout + result.stderr).upper()


def test_promtool_check_config_is_clean_with_rule_files_relative_to_it():
    config = PROMETHEUS_DIR / "prometheus.yml"
    # Run from elsewhere: rule files must resolve relative to the config file, not the cwd.
    result = run([tool("promtool"), "check", "config", str(config)], cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "SUCCESS: 3 rule files found" in out
    for name in EXPECTED_RULE_FILES:
        assert f"Checking {PROMETHEUS_DIR / name}" in out or f"Checking {name}" in out, out
    assert "WARNING" not in out.upper()


def test_prometheus_config_wiring():
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert set(config["rule_files"]) == EXPECTED_RULE_FILES
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    pushgateway = jobs["pushgateway"]
    assert pushgateway["honor_labels"] is True, "pushed job/instance labels must be kept"

    probe = jobs["dagster_webserver_probe"]
    assert probe["metrics_path"] == "/probe"
    [target] = probe["static_configs"][0]["targets"]
    assert target.endswith("/server_info")
    [module] = probe["params"]["module"]
    modules = yaml.safe_load(BLACKBOX_CONFIG.read_text())["modules"]
    assert module in modules and modules[module]["prober"] == "http"
    relabel = {r.get("target_label"): r for r in probe["relabel_configs"]}
    assert relabel["__param_target"]["source_labels"] == ["__address__"]
    assert relabel["__address__"]["replacement"].endswith(":9115"), "probes go through the blackbox exporter"

    [am] = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"]
    # avg_over_time windows of the SLO rules assume one evaluation per minute at most
    assert config["global"]["evaluation_interval"] in ("15s", "30s", "1m")


# ------------------------------------------------------------------- promtool unit tests


@pytest.fixture(scope="module")
def promtool_runs():
    """Start every promtool test file at once (they are CPU-bound, minutes of rule evaluation
    each); the parametrized test below waits for its own."""
    promtool = tool("promtool")
    procs = {
        path.name: subprocess.Popen([promtool, "test", "rules", path.name], cwd=path.parent,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for path in PROMTOOL_TESTS
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_promtool_test_files_exist():
    assert len(PROMTOOL_TESTS) >= 4


@pytest.mark.parametrize("test_file", [p.name for p in PROMTOOL_TESTS])
def test_promtool_unit_tests_pass(promtool_runs, test_file):
    proc = promtool_runs[test_file]
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "SUCCESS" in out


def _promtool_alert_tests():
    """(test file, eval_time, alertname, exp_alerts) of every alert_rule_test."""
    out = []
    for path in PROMTOOL_TESTS:
        doc = yaml.safe_load(path.read_text())
        for group in doc["tests"]:
            for case in group.get("alert_rule_test", []):
                out.append((path.name, case["eval_time"], case["alertname"], case.get("exp_alerts") or []))
    return out


def test_every_alert_is_shown_firing_and_silent_with_exact_labels_and_annotations():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    cases = _promtool_alert_tests()
    firing = {name for _, _, name, exp in cases if exp}
    silent = {name for _, _, name, exp in cases if not exp}
    assert set(rules) - firing == set(), "alerts never shown firing"
    assert set(rules) - silent == set(), "alerts never shown silent on healthy series"
    assert {name for _, _, name, _ in cases} <= set(rules), "tests of alerts that do not exist"
    for test_file, eval_time, name, expected in cases:
        rule = rules[name]
        for alert in expected:
            where = f"{test_file} {name} at {eval_time}"
            labels = alert.get("exp_labels", {})
            for key, value in rule["labels"].items():
                assert labels.get(key) == value, f"{where}: label {key}"
            annotations = alert.get("exp_annotations", {})
            assert set(annotations) == set(rule["annotations"]), f"{where}: annotations not all checked"
            assert annotations["runbook_url"] == rule["annotations"]["runbook_url"]


def test_promtool_tests_do_not_use_hex_series_values():
    for path in PROMTOOL_TESTS:
        doc = yaml.safe_load(path.read_text())
        for group in doc["tests"]:
            for series in group.get("input_series", []):
                for token in series["values"].split():
                    assert not re.fullmatch(r"-?\d+x\d+", token), (
                        f"{path.name}: '{token}' is read as hex by promtool; write 'a+bxn'")


def test_promtool_tests_sample_no_sparser_than_the_lookback():
    for path in PROMTOOL_TESTS:
        doc = yaml.safe_load(path.read_text())
        for group in doc["tests"]:
            interval = group.get("interval", "1m")
            seconds = int(interval[:-1]) * {"s": 1, "m": 60}[interval[-1]]
            assert seconds <= 300, f"{path.name}: interval {interval} longer than the 5m lookback"


# ------------------------------------------------------------------------ rule invariants


def test_the_named_alerts_exist_with_their_severity():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for name, severity in NAMED_ALERTS.items():
        assert name in rules, name
        assert rules[name]["labels"]["severity"] == severity, name


def test_every_alert_has_severity_component_annotations_and_an_existing_runbook():
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert re.fullmatch(r"[a-z][a-z-]*", rule["labels"]["component"]), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        url = annotations["runbook_url"]
        assert url.startswith(RUNBOOK_URL_PREFIX), f"{name}: {url}"
        runbook = RUNBOOK_DIR / url[len(RUNBOOK_URL_PREFIX):]
        assert runbook.is_file(), f"{name}: runbook {runbook} does not exist"
        assert name in runbook.read_text() or _family(name) in runbook.read_text(), (
            f"{name}: {runbook.name} does not mention the alert")


def _family(name: str) -> str:
    """PricingSyncSuccessBudgetFastBurn -> PricingSync{Success,...}Budget{Fast,Slow}Burn style
    runbook titles mention the stem before 'Budget'."""
    m = re.match(r"(Pricing(?:Sync|Webserver))(\w+?)Budget(Fast|Slow)Burn", name)
    return m.group(2) if m else name


def test_every_runbook_is_linked_by_an_alert():
    linked = {rule["annotations"]["runbook_url"].rsplit("/", 1)[1] for rule in alert_rules()}
    runbooks = {p.name for p in RUNBOOK_DIR.glob("*.md")} - {"README.md"}
    assert runbooks == linked


def _providers_in(expr: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, expr))


def test_registered_provider_lists_match_metrics_md():
    contract = load_contract()
    rules = {rule.get("alert") or rule.get("record"): rule for rule in all_rules()}
    absent = r'absent\(pricing_last_sync_timestamp\{provider="([a-z0-9_]+)"\}\)'
    assert _providers_in(rules["PricingSyncSchedulerStopped"]["expr"], absent) == contract.label_values["provider"]
    assert _providers_in(rules["provider:pricing_sync_fresh:bool"]["expr"], absent) == contract.label_values["provider"]


def test_low_models_thresholds_are_per_provider_and_documented():
    contract = load_contract()
    [rule] = [r for r in alert_rules() if r["alert"] == "PricingSyncLowModelsUpdated"]
    explicit = {p: int(n) for p, n in re.findall(r'pricing_last_sync_models\{provider="([a-z0-9_]+)"\} < (\d+)', rule["expr"])}
    m = re.search(r'pricing_last_sync_models\{provider!~"([^"]+)"\} < (\d+)', rule["expr"])
    assert m, "no default threshold for providers without their own"
    assert set(m.group(1).split("|")) == set(explicit), "the default must exclude exactly the listed providers"
    assert int(m.group(2)) == 50
    assert set(explicit) <= contract.label_values["provider"]
    assert any(n < 50 for n in explicit.values()) and any(n > 50 for n in explicit.values())
    table = (RUNBOOK_DIR / "low-models-updated.md").read_text()
    documented = {p: int(n.replace(",", "")) for p, n in re.findall(r"^\| (\w+) \|[^|]*\| ([\d,]+)", table, re.M)}
    for provider in contract.label_values["provider"]:
        assert documented.get(provider) == explicit.get(provider, 50), provider


RECORD_NAME = re.compile(r"^(?P<level>[a-z][a-z0-9_]*):(?P<metric>[a-z][a-z0-9_]*):(?P<ops>[a-z][a-z0-9_]*)$")


def test_recording_rule_names_follow_level_metric_operations():
    contract = load_contract()
    allowed_metrics = set(contract.series_names()) | {n.removesuffix("_total") for n in contract.metrics}
    for path, group in load_rule_groups():
        for rule in group["rules"]:
            if "record" not in rule:
                continue
            name = rule["record"]
            m = RECORD_NAME.match(name)
            assert m, f"{path.name}: {name} is not level:metric:operations"
            level, metric = m.group("level"), m.group("metric")
            by = re.match(r"\s*sum by \(([^)]*)\)", rule["expr"])
            if by:  # the level names the labels the rule aggregates by
                assert level == "_".join(x.strip() for x in by.group(1).split(",")), name
            if level != "slo":
                assert metric in allowed_metrics or metric.startswith("pricing_sync_"), (
                    f"{name}: the metric part should name the contract metric it derives from")
            else:
                assert "slo" in (rule.get("labels") or {}) or "slo" in rule["expr"] or metric == "sli_error", name


def test_recording_rules_are_defined_once_per_label_set():
    seen = set()
    for rule in all_rules():
        if "record" in rule:
            key = (rule["record"], tuple(sorted((rule.get("labels") or {}).items())), rule["expr"])
            assert key not in seen, rule["record"]
            seen.add(key)
    assert "slo:error_budget_remaining:ratio" in recording_names()


def test_feeds_behind_waits_out_the_longest_healthy_delay_of_the_feeds():
    """Healthy, the feeds are behind a publish until the feeds sensor asks for its run (it waits
    for a tick's other syncs, MAX_WAIT_SECONDS at most, and ticks every feeds_sensor_seconds),
    the run has been launched and written them, and the heartbeat push, a scrape and an
    evaluation bring its time to the rule. PricingFeedsBehind's ``for:`` must outlast that."""
    from pricing_pipeline.defs.feeds.sensors import MAX_WAIT_SECONDS
    from pricing_pipeline.settings import settings

    def seconds(duration: str) -> int:
        amount, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()
        return int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]

    [rule] = [r for r in alert_rules() if r["alert"] == "PricingFeedsBehind"]
    waits = seconds(rule["for"])
    prometheus = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["global"]
    launch_and_write = 300  # a feeds run queued, launched and written on a loaded host
    healthy = (MAX_WAIT_SECONDS + settings().feeds_sensor_seconds + launch_and_write + settings().metrics_heartbeat_seconds
               + seconds(prometheus["scrape_interval"]) + seconds(prometheus["evaluation_interval"]))
    assert waits >= healthy, f"PricingFeedsBehind fires after {waits}s; healthy feeds may lag {healthy}s"
    assert waits <= 30 * 60, "stale feeds bill wrongly: not much longer than that"
