"""Alertmanager routing: amtool's config check and route tests for each severity, the config's
invariants (grouping, repeat, resolved notifications, no secrets), and a real Alertmanager
receiving alerts and showing which receivers they land on and what is inhibited."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import yaml

from pricing_pipeline_tests.monitoring._support import ALERTMANAGER_CONFIG, alert_rules, run, tool, tool_server

RECEIVERS = {
    "critical": "pagerduty-critical,slack-critical",
    "warning": "slack-warnings",
    "info": "null",
}
CONFIG = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())


def test_amtool_check_config():
    result = run([tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _routes_test(labels: list[str], receivers: str) -> "subprocess.CompletedProcess":  # noqa: F821
    return run([tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                f"--verify.receivers={receivers}", *labels])


@pytest.mark.parametrize("severity", sorted(RECEIVERS))
def test_each_severity_lands_on_its_receivers(severity):
    labels = [f"severity={severity}", "alertname=PricingSyncSomething", "component=sync"]
    result = _routes_test(labels, RECEIVERS[severity])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == RECEIVERS[severity]


@pytest.mark.parametrize("severity,wrong", [("critical", "slack-critical"), ("critical", "pagerduty-critical"),
                                            ("warning", "null"), ("info", "slack-warnings")])
def test_route_verification_fails_on_the_wrong_receivers(severity, wrong):
    result = _routes_test([f"severity={severity}"], wrong)
    assert result.returncode != 0, f"{severity} must not land on {wrong} alone"


def test_an_alert_without_severity_is_still_seen():
    result = _routes_test(["alertname=Mislabeled"], "slack-warnings")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_severity_has_a_route():
    severities = {rule["labels"]["severity"] for rule in alert_rules()}
    assert severities == set(RECEIVERS)


def test_grouping_repeat_and_resolved_notifications():
    route = CONFIG["route"]
    assert route["group_by"] == ["alertname", "component"]
    assert route["repeat_interval"] == "4h"
    receivers = {r["name"]: r for r in CONFIG["receivers"]}
    assert receivers["null"].keys() == {"name"}, "info alerts notify nobody"
    notifiers = [(name, kind, c) for name, r in receivers.items()
                 for kind in ("slack_configs", "pagerduty_configs") for c in r.get(kind, [])]
    assert {(n, k) for n, k, _ in notifiers} == {
        ("pagerduty-critical", "pagerduty_configs"), ("slack-critical", "slack_configs"),
        ("slack-warnings", "slack_configs")}
    for name, _, config in notifiers:
        assert config.get("send_resolved") is True, name
    channels = {name: c["channel"] for name, kind, c in notifiers if kind == "slack_configs"}
    assert channels == {"slack-critical": "#platform-critical", "slack-warnings": "#platform-warnings"}


SECRET_KEYS = {"api_url", "slack_api_url", "routing_key", "service_key", "url", "password", "auth_token"}


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key, value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


def test_no_secret_in_the_config_only_files():
    secret_files = []
    for path, key, value in _walk(CONFIG):
        assert key not in SECRET_KEYS, f"inline secret {'.'.join(map(str, path))}: use the _file variant"
        if isinstance(key, str) and key.endswith("_file"):
            assert isinstance(value, str) and value.startswith("/etc/alertmanager/secrets/"), path
            secret_files.append(key)
    assert {"slack_api_url_file", "routing_key_file"} <= set(secret_files)
    raw = ALERTMANAGER_CONFIG.read_text()
    assert "hooks.slack.com" not in raw and "events.pagerduty.com/v2/enqueue" not in raw


# ------------------------------------------------------------------ a real Alertmanager


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    binary = tool("prometheus-alertmanager")
    data = tmp_path_factory.mktemp("alertmanager")
    # The committed config as is: the secret files are only read when a notification is sent.
    args = [binary, f"--config.file={ALERTMANAGER_CONFIG}", f"--storage.path={data}",
            "--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    with tool_server(args, "/-/ready", data / "alertmanager.log") as url:
        yield url


def _post(url: str, alerts: list[dict]) -> None:
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def _settle(url: str, state: str, *keys: tuple[str, str]) -> dict[tuple[str, str], dict]:
    """The alerts once every one of ``keys`` is in ``state`` (Alertmanager marks inhibitions
    asynchronously after a POST), or as they are after 15 s, for the assertions to say what is wrong."""
    deadline = time.monotonic() + 15
    while True:
        alerts = _alerts(url)
        settled = all(alerts.get(key, {}).get("status", {}).get("state") == state for key in keys)
        if settled or time.monotonic() > deadline:
            return alerts
        time.sleep(0.2)


def _alerts(url: str) -> dict[tuple[str, str], dict]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:
        return {(a["labels"]["alertname"], a["labels"].get("provider", "")): a for a in json.load(response)}


def test_real_alertmanager_routes_and_inhibits(alertmanager):
    def alert(name, severity, component, provider, **extra):
        return {"labels": {"alertname": name, "severity": severity, "component": component,
                           "provider": provider, **extra},
                "annotations": {"summary": name}}

    _post(alertmanager, [
        alert("PricingSyncSchedulerStopped", "critical", "scheduler", "openrouter"),
        alert("PricingSyncStaleData", "warning", "freshness", "openrouter"),
        alert("PricingSyncStaleData", "warning", "freshness", "vercel"),
        alert("PricingSyncCompleted", "info", "sync", "deepinfra"),
        {"labels": {"alertname": "PricingSyncFreshnessBudgetFastBurn", "severity": "critical", "component": "slo",
                    "slo": "pricing-sync-freshness"}},
        {"labels": {"alertname": "PricingSyncFreshnessBudgetSlowBurn", "severity": "warning", "component": "slo",
                    "slo": "pricing-sync-freshness"}},
        {"labels": {"alertname": "PricingSyncSuccessBudgetSlowBurn", "severity": "warning", "component": "slo",
                    "slo": "pricing-sync-success"}},
    ])
    alerts = _settle(alertmanager, "suppressed", ("PricingSyncStaleData", "openrouter"),
                     ("PricingSyncFreshnessBudgetSlowBurn", ""))

    def receivers(key):
        return sorted(r["name"] for r in alerts[key]["receivers"])

    assert receivers(("PricingSyncSchedulerStopped", "openrouter")) == ["pagerduty-critical", "slack-critical"]
    assert receivers(("PricingSyncStaleData", "vercel")) == ["slack-warnings"]
    assert receivers(("PricingSyncCompleted", "deepinfra")) == ["null"]

    # the critical "no success in 8h" suppresses the "older than 6h" warning of the same provider only
    assert alerts[("PricingSyncStaleData", "openrouter")]["status"]["state"] == "suppressed"
    assert alerts[("PricingSyncStaleData", "openrouter")]["status"]["inhibitedBy"]
    assert alerts[("PricingSyncStaleData", "vercel")]["status"]["state"] == "active"
    # a fast burn suppresses the slow burn of the same SLO only
    assert alerts[("PricingSyncFreshnessBudgetSlowBurn", "")]["status"]["state"] == "suppressed"
    assert alerts[("PricingSyncSuccessBudgetSlowBurn", "")]["status"]["state"] == "active"


def test_real_alertmanager_inhibits_unverified_upstreams(alertmanager):
    """PricingUpstreamUnverified is suppressed by the critical "no success in 8h" of the same
    provider, and for every provider while the metrics publisher is silent (frozen values)."""
    def alert(name, severity, component, provider=None):
        labels = {"alertname": name, "severity": severity, "component": component}
        return {"labels": {**labels, "provider": provider} if provider else labels, "annotations": {"summary": name}}

    _post(alertmanager, [
        alert("PricingSyncSchedulerStopped", "critical", "scheduler", "novita"),
        alert("PricingUpstreamUnverified", "warning", "watcher", "novita"),
        alert("PricingUpstreamUnverified", "warning", "watcher", "chutes"),
    ])
    alerts = _settle(alertmanager, "suppressed", ("PricingUpstreamUnverified", "novita"))
    assert sorted(r["name"] for r in alerts[("PricingUpstreamUnverified", "chutes")]["receivers"]) == ["slack-warnings"]
    assert alerts[("PricingUpstreamUnverified", "novita")]["status"]["state"] == "suppressed"
    assert alerts[("PricingUpstreamUnverified", "chutes")]["status"]["state"] == "active"

    _post(alertmanager, [alert("PricingMetricsPublisherHeartbeatStale", "warning", "metrics-publisher")])
    alerts = _settle(alertmanager, "suppressed", ("PricingUpstreamUnverified", "chutes"))
    assert alerts[("PricingUpstreamUnverified", "chutes")]["status"]["state"] == "suppressed"
    assert alerts[("PricingMetricsPublisherHeartbeatStale", "")]["status"]["state"] == "active"


def test_real_alertmanager_inhibits_feeds_behind_while_the_publisher_is_silent(alertmanager):
    """PricingFeedsBehind is notified on its own, and suppressed while the metrics publisher is
    silent (the feeds' time is frozen then, a sync's own hook may still push a publish)."""
    def alert(name, component, resolved=False):
        out = {"labels": {"alertname": name, "severity": "warning", "component": component},
               "annotations": {"summary": name}}
        if resolved:  # an end in the past: resolved, it inhibits nothing
            out["endsAt"] = "2000-01-01T00:00:00Z"
        return out

    key = ("PricingFeedsBehind", "")
    silent = alert("PricingMetricsPublisherHeartbeatStale", "metrics-publisher")
    # the publisher pushing (an earlier test of this Alertmanager may have left its alert firing)
    _post(alertmanager, [alert("PricingMetricsPublisherHeartbeatStale", "metrics-publisher", resolved=True),
                         alert("PricingFeedsBehind", "feeds")])
    alerts = _settle(alertmanager, "active", key)
    assert alerts[key]["status"]["state"] == "active"
    assert sorted(r["name"] for r in alerts[key]["receivers"]) == ["slack-warnings"]
    try:
        _post(alertmanager, [silent])
        alerts = _settle(alertmanager, "suppressed", key)
        assert alerts[key]["status"]["state"] == "suppressed"
        assert alerts[key]["status"]["inhibitedBy"]
    finally:  # leave nothing inhibiting the other tests' alerts
        _post(alertmanager, [alert("PricingMetricsPublisherHeartbeatStale", "metrics-publisher", resolved=True),
                             alert("PricingFeedsBehind", "feeds", resolved=True)])
