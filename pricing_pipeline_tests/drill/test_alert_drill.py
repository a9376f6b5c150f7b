"""The alert drill: the whole monitoring chain, end to end, with the real tools.

    provider replay server --HTTP--> price_sync_job (in process, real hooks) --push--> Pushgateway
    run-status / heartbeat sensors (evaluated in process, as the daemon does) --push--^
    Pushgateway <--scrape (honor_labels)-- Prometheus (generated rules) --alerts--> Alertmanager
    Alertmanager (generated config: the real routing tree) --webhook--> local receiver
    blackbox exporter --probe--> local /server_info stand-in; Prometheus scrapes it too

Every process runs on a free 127.0.0.1 port with its data in the test's temp dir and is stopped
when the test ends, failed or not. Missing tools fail the test (CI installs them).

The asserted alert is PricingSyncHighErrorRate (critical, component=sync, per provider): of the
alerts on the pricing metrics it is the one a provider answering 500 trips first and for that
reason alone. Its expression reads the failed scheduled runs of the provider over the 1d
window (compressed to 24s, see generate.py) and needs more than half of at least 2 runs to have
failed, so the drill runs the provider's scheduled sync once successfully, then twice against
500s (after the first failure the alert must still be silent), then twice successfully again
(2 failures of 4 is not more than half: resolved, with both failures still inside the window,
so the resolution comes from the restored provider and not from the failures ageing out).
The other candidates do not fit: PricingSyncSchedulerStopped / StaleData need a success older
than 8h / 6h (age thresholds are not compressed), PricingSyncSuccessBudgetFastBurn has no
provider label and a 2m ``for:``, PricingSyncProviderTimeout is about timeouts.

Other alerts are active in the drill and not asserted: PricingSyncSchedulerStopped for the
seven providers the drill never syncs (their series are absent), PricingSyncCompleted (info:
checked to stay in Alertmanager's "null" receiver) and pending SLO burn-rate alerts (their
``for:`` is not shortened). SchedulerStopped fires on Prometheus' first evaluations, before its
notifier has discovered the Alertmanager; Prometheus drops that first send and re-sends only
after --rules.alert.resend-delay (1m), so it is not delivered within the drill.

The runs carry the tags the sync schedule gives them (its own RunRequest for the provider plus
dagster/schedule_name), because the alert counts scheduled runs. The drill cannot wait for
Dagster's daemon (sensor ticks >= 30 s): it evaluates the real heartbeat and run-status sensors
itself after each run, with the same helpers as the metrics tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from pricing_pipeline_tests.drill import generate
from pricing_pipeline_tests.monitoring._support import (
    ALERTMANAGER_CONFIG,
    BLACKBOX_CONFIG,
    PROMETHEUS_DIR,
    RULE_FILES,
    FakeDagsterWebserver,
    all_rules,
    background,
    dashboard_queries,
    expand_grafana,
    free_port,
    http_server,
    recording_names,
    run,
    selectors,
    tool,
    variable_queries,
)
from pricing_pipeline_tests.recordings import DUMMY_API_KEYS, REPLAY_FILES

PROVIDER = "together"  # a fixture in the repo (no external recording needed), 10 models
ALERT = "PricingSyncHighErrorRate"
WINDOW_RULE = "provider_status:pricing_scheduled_sync_runs:increase1d"  # what the alert reads
NOTIFY_TIMEOUT = 20  # scrape 1s + evaluation 1s + group_wait/interval 1s, with ample slack


# ------------------------------------------------------------------------ local HTTP servers


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.owner.record(self.path.strip("/"), json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class WebhookReceiver(_Server):
    """Stands in for PagerDuty and Slack: keeps every notification Alertmanager posts, by the
    receiver named in the URL path (generate.alertmanager_config)."""

    def __init__(self):
        super().__init__(_WebhookHandler)
        self.lock = threading.Lock()
        self.notifications: list[tuple[str, dict]] = []

    def record(self, path: str, payload: dict) -> None:
        with self.lock:
            self.notifications.append((path, payload))

    def alerts(self, alertname: str, status: str) -> list[tuple[str, str, dict]]:
        """(URL path, payload receiver, alert) of every delivered alert with that name/status."""
        with self.lock:
            return [(path, payload["receiver"], alert) for path, payload in self.notifications
                    for alert in payload["alerts"]
                    if alert["labels"].get("alertname") == alertname and alert["status"] == status]

    def summary(self) -> str:
        with self.lock:
            return "\n".join(
                f"  {path}: {payload['status']} "
                + ", ".join(f"{a['labels'].get('alertname')}{{provider={a['labels'].get('provider')}}}={a['status']}"
                            for a in payload["alerts"])
                for path, payload in self.notifications) or "  (none)"


# ------------------------------------------------------------------------------ Prometheus


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.get("/api/v1/query", query=expr)["result"]

    def values(self, expr: str, by: str) -> dict[str, float]:
        return {r["metric"].get(by, ""): float(r["value"][1]) for r in self.query(expr)}

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def alert_states(self, alertname: str) -> str:
        for group in self.get("/api/v1/rules")["groups"]:
            for rule in group["rules"]:
                if rule["name"] == alertname:
                    return f"{rule['state']}: {[(a['labels'].get('provider'), a['state']) for a in rule['alerts']]}"
        return "not loaded"


def wait_until(what: str, check, timeout: float, details=lambda: ""):
    """Poll ``check`` until it returns something truthy; fail with ``details()`` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{details()}", pytrace=False)
        time.sleep(0.1)


# -------------------------------------------------------------------------------- fixtures


@pytest.fixture
def stack(tmp_path):
    """Webhook receiver, /server_info stand-in, Pushgateway, blackbox exporter, Alertmanager and
    Prometheus, configured from generate.py; everything stopped on the way out."""
    binaries = {name: tool(name) for name in
                ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "prometheus-blackbox-exporter")}
    with contextlib.ExitStack() as stack:
        webhook = stack.enter_context(WebhookReceiver())
        webserver = stack.enter_context(http_server(FakeDagsterWebserver))
        ports = {name: free_port() for name in ("pushgateway", "blackbox", "alertmanager", "prometheus")}
        addr = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
        config_dir = tmp_path / "config"
        rule_files = generate.write_rule_files(config_dir)
        prometheus_config = generate.write_prometheus_config(config_dir, rule_files, webserver=webserver.url, **addr)
        alertmanager_config = generate.write_alertmanager_config(config_dir, webhook.url)

        stack.enter_context(background(
            [binaries["prometheus-pushgateway"], f"--web.listen-address={addr['pushgateway']}"],
            f"http://{addr['pushgateway']}/-/ready", tmp_path / "pushgateway.log"))
        stack.enter_context(background(
            [binaries["prometheus-blackbox-exporter"], f"--config.file={BLACKBOX_CONFIG}",
             f"--web.listen-address={addr['blackbox']}"],
            f"http://{addr['blackbox']}/-/healthy", tmp_path / "blackbox.log"))
        stack.enter_context(background(
            [binaries["prometheus-alertmanager"], f"--config.file={alertmanager_config}",
             f"--storage.path={tmp_path / 'alertmanager'}", f"--web.listen-address={addr['alertmanager']}",
             "--cluster.listen-address="],
            f"http://{addr['alertmanager']}/-/ready", tmp_path / "alertmanager.log"))
        stack.enter_context(background(
            [binaries["prometheus"], f"--config.file={prometheus_config}",
             f"--storage.tsdb.path={tmp_path / 'prometheus'}", f"--web.listen-address={addr['prometheus']}"],
            f"http://{addr['prometheus']}/-/ready", tmp_path / "prometheus.log"))
        yield {
            "webhook": webhook,
            "prometheus": Prometheus(f"http://{addr['prometheus']}"),
            "pushgateway": f"http://{addr['pushgateway']}",
            "alertmanager": f"http://{addr['alertmanager']}",
            "rule_files": rule_files,
        }


@pytest.fixture
def drill_sync(stack, upstream, sqlite_url, tmp_path, monkeypatch):
    """(run(i) -> scheduled run i of PROVIDER with the sensors' push afterwards, instance)."""
    from dagster import build_schedule_context
    from dagster._core.storage.tags import SCHEDULE_NAME_TAG
    from dagster._core.test_utils import instance_for_test

    from pricing_pipeline.definitions import build_definitions
    from pricing_pipeline.defs.metrics import publisher as publisher_module
    from pricing_pipeline.defs.metrics.resources import MetricsPublisher
    from pricing_pipeline.defs.runs import SYNC_JOB_NAME
    from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi
    from pricing_pipeline.defs.sync.schedules import price_sync_schedule
    from pricing_pipeline_tests.metrics.conftest import heartbeat, run_status_sensor_tick

    monkeypatch.setenv(f"PRICING_{PROVIDER.upper()}_URL", upstream.serve_file(f"/{PROVIDER}", REPLAY_FILES[PROVIDER]))
    for name, value in DUMMY_API_KEYS.items():
        monkeypatch.setenv(name, value)
    publisher_module.reset_history()
    publisher = MetricsPublisher(pushgateway_url=stack["pushgateway"])
    defs = build_definitions({
        "pricing_db": PricingDatabase(url=sqlite_url),
        "upstream": UpstreamApi(timeout_seconds=2, connect_timeout_seconds=1),
        "metrics": publisher,
    })
    job = defs.resolve_job_def(SYNC_JOB_NAME)
    home = tmp_path / "dagster_home"
    home.mkdir()
    first_tick = datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)

    with instance_for_test(temp_dir=str(home)) as instance:

        def run_scheduled(i: int):
            """The sync schedule's tick i (6h apart) for PROVIDER, then the run-status sensor."""
            with build_schedule_context(scheduled_execution_time=first_tick + timedelta(hours=6 * i)) as context:
                request = next(r for r in price_sync_schedule(context) if r.partition_key == PROVIDER)
            tags = {**request.tags, SCHEDULE_NAME_TAG: price_sync_schedule.name, "dagster/run_key": request.run_key}
            result = job.execute_in_process(partition_key=PROVIDER, instance=instance, raise_on_error=False, tags=tags)
            assert run_status_sensor_tick(instance, publisher, result.run_id) is None
            return result

        yield run_scheduled, lambda: heartbeat(instance, publisher)
    publisher_module.reset_history()


# ----------------------------------------------------------------------------------- drill


def _expected_receivers(labels: dict[str, str]) -> set[str]:
    """Where the REAL monitoring/alertmanager/alertmanager.yml routes these labels (amtool)."""
    result = run([tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                  *(f"{k}={v}" for k, v in sorted(labels.items()))])
    assert result.returncode == 0, result.stdout + result.stderr
    return set(result.stdout.strip().split(","))


def _metric_names_used_by_monitoring() -> set[str]:
    """Every series name read by a rule file or a dashboard in monitoring/, recording rules'
    own names excluded (they are computed by Prometheus, not exported)."""
    exprs = [rule["expr"] for rule in all_rules()]
    exprs += [expand_grafana(expr) for _, _, expr in dashboard_queries()]
    names = {sel.name for expr in exprs for sel in selectors(expr)}
    names |= {query[len("label_values("):].split(",")[0].strip() for _, _, query in variable_queries()}
    return names - recording_names()


def test_a_failing_provider_pages_and_the_page_resolves(stack, drill_sync, upstream):
    run_scheduled, heartbeat = drill_sync
    prom: Prometheus = stack["prometheus"]
    webhook: WebhookReceiver = stack["webhook"]
    rule = next(r for r in all_rules() if r.get("alert") == ALERT)
    expected_labels = {"alertname": ALERT, "provider": PROVIDER, **rule["labels"]}
    assert expected_labels["severity"] == "critical" and expected_labels["component"] == "sync"
    receivers = _expected_receivers(expected_labels)
    assert receivers == {"pagerduty-critical", "slack-critical"}
    generated = yaml.safe_load((stack["rule_files"][RULE_FILES.index(PROMETHEUS_DIR / "pricing_sync_alerts.yml")]).read_text())
    alert_expr = next(r for g in generated["groups"] for r in g["rules"] if r.get("alert") == ALERT)["expr"]
    runs = f'pricing_scheduled_sync_runs_total{{provider="{PROVIDER}"}}'
    window = f'{WINDOW_RULE}{{provider="{PROVIDER}"}}'

    def details() -> str:
        return (f"{ALERT}: {prom.alert_states(ALERT)}\n{window}: {prom.values(window, 'status')}\n"
                f"{runs}: {prom.values(runs, 'status')}\nnotifications:\n{webhook.summary()}")

    # Prometheus drops what it sends before its notifier has discovered the Alertmanager.
    wait_until("Prometheus to discover the Alertmanager",
               lambda: prom.get("/api/v1/alertmanagers")["activeAlertmanagers"], 15, details)
    # The daemon's heartbeat: every series, at 0, before anything happens.
    heartbeat()
    wait_until("Prometheus to scrape the first push", lambda: prom.values(runs, "status").get("success") == 0, 15, details)

    # 1. A scheduled sync that succeeds.
    assert run_scheduled(0).success
    wait_until("the successful run in Prometheus", lambda: prom.values(runs, "status").get("success") == 1, 10, details)

    # The 1d window (24s here) answers once Prometheus has a full window of history.
    wait_until(f"{WINDOW_RULE} to look back a full window", lambda: prom.query(window), 24 + 15, details)

    # 2. The provider answers 500. One failed run is not "most runs failing".
    upstream.serve(f"/{PROVIDER}", b'{"error": "internal server error"}', status=500)
    assert not run_scheduled(1).success
    wait_until("the first failure in the window", lambda: prom.values(window, "status").get("failure") == 1, 10, details)
    assert prom.query(alert_expr) == [], details()
    assert not prom.query(f'ALERTS{{alertname="{ALERT}"}}'), details()
    errors = prom.values(f'pricing_provider_errors_total{{provider="{PROVIDER}"}} > 0', "error_type")
    assert errors == {"http_5xx": 1.0}, errors

    # 3. A second failure: 2 of at most 3 runs in the window failed -> the page.
    assert not run_scheduled(2).success
    wait_until(f"{ALERT} at {sorted(receivers)}",
               lambda: receivers <= {r for _, r, a in webhook.alerts(ALERT, "firing") if a["labels"].get("provider") == PROVIDER},
               NOTIFY_TIMEOUT, details)
    delivered = webhook.alerts(ALERT, "firing")
    for path, receiver, alert in delivered:
        assert path == receiver, (path, receiver)  # the URL of that receiver's webhook
        assert receiver in receivers, f"{ALERT} reached {receiver}, routing says only {sorted(receivers)}"
        labels = alert["labels"]
        assert {k: labels.get(k) for k in expected_labels} == expected_labels, labels
        assert alert["annotations"]["runbook_url"] == rule["annotations"]["runbook_url"]
        assert PROVIDER in alert["annotations"]["summary"]

    # 4. The provider recovers; the next two scheduled syncs succeed: 2 failures of 4 runs is
    # not more than half. Both failures are still in the window when the alert resolves.
    upstream.serve_file(f"/{PROVIDER}", REPLAY_FILES[PROVIDER])
    assert run_scheduled(3).success
    assert run_scheduled(4).success
    counted = wait_until("both recoveries in the window",
                         lambda: (lambda v: v if v.get("success", 0) >= 2 else None)(prom.values(window, "status")),
                         10, details)
    assert counted["failure"] == 2, counted
    wait_until(f"resolved {ALERT} at {sorted(receivers)}",
               lambda: receivers <= {r for _, r, a in webhook.alerts(ALERT, "resolved") if a["labels"].get("provider") == PROVIDER},
               NOTIFY_TIMEOUT, details)
    # Resolved by the recoveries, not by a failure ageing out of the window (1d /
    # TIME_COMPRESSION = 24s): both failures were still counted when the alert ended.
    ends_at = max(a["endsAt"] for _, _, a in webhook.alerts(ALERT, "resolved"))
    at_resolution = {r["metric"].get("status", ""): float(r["value"][1])
                     for r in prom.get("/api/v1/query", query=window, time=ends_at)["result"]}
    assert at_resolution.get("failure") == 2, (at_resolution, details())
    for path, receiver, alert in webhook.alerts(ALERT, "resolved"):
        assert receiver in receivers and path == receiver
        assert {k: alert["labels"].get(k) for k in expected_labels} == expected_labels

    # The info alert of the successful syncs reached Alertmanager and stayed there (receiver
    # "null"): logged, nobody notified.
    with urllib.request.urlopen(f"{stack['alertmanager']}/api/v2/alerts", timeout=5) as response:
        in_alertmanager = json.load(response)
    completed = [a for a in in_alertmanager if a["labels"]["alertname"] == "PricingSyncCompleted"]
    assert [(a["labels"]["provider"], a["labels"]["severity"], [r["name"] for r in a["receivers"]]) for a in completed] \
        == [(PROVIDER, "info", ["null"])], in_alertmanager
    assert not webhook.alerts("PricingSyncCompleted", "firing"), webhook.summary()

    # 5. Every metric a rule or dashboard reads exists in Prometheus now (the old files' bug).
    present = set(prom.get("/api/v1/label/__name__/values"))
    used = _metric_names_used_by_monitoring()
    assert {"pricing_scheduled_sync_runs_total", "probe_success", "ALERTS"} <= used  # not vacuous
    # (pricing_bill_exact_ratio exists once a gateway's bills were reconciled in the last 24 h:
    # the drill has none; pricing_pipeline_tests/bills tests it)
    # (the change watcher's configuration is exported while it is on: off in the drill, as in the
    # deployments of every test but deployment/test_watcher.py, which reads them)
    watcher_on_only = {"pricing_watch_interval_seconds", "pricing_watch_budget_requests_per_hour"}
    # (pricing_feeds_written_timestamp_seconds exists once the feeds were written: the drill runs
    # no feeds job; pricing_pipeline_tests/metrics/test_feeds_metric.py tests it)
    missing = sorted(used - present - {"pricing_bill_exact_ratio", "pricing_feeds_written_timestamp_seconds"}
                     - watcher_on_only)
    assert not missing, f"used by monitoring/ but not in Prometheus after the drill: {missing}"
    # ... and every rule evaluated without error on the real series.
    broken = [(r["name"], r.get("lastError")) for g in prom.get("/api/v1/rules")["groups"] for r in g["rules"]
              if r["health"] != "ok"]
    assert not broken, broken


# ------------------------------------------------------------------- the generated config


def test_generated_rules_differ_from_the_real_ones_only_in_durations(tmp_path):
    generated = {p.name: yaml.safe_load(p.read_text()) for p in generate.write_rule_files(tmp_path)}
    assert sorted(generated) == sorted(p.name for p in RULE_FILES)
    compressed = 0
    for source in RULE_FILES:
        real = yaml.safe_load(source.read_text())
        copy = generated[source.name]
        assert [g["name"] for g in copy["groups"]] == [g["name"] for g in real["groups"]]
        for group_real, group_copy in zip(real["groups"], copy["groups"]):
            assert len(group_real["rules"]) == len(group_copy["rules"])
            for a, b in zip(group_real["rules"], group_copy["rules"]):
                assert {k: v for k, v in a.items() if k not in ("expr", "for")} == \
                       {k: v for k, v in b.items() if k not in ("expr", "for")}
                assert generate.durations_masked(a["expr"]) == generate.durations_masked(b["expr"])
                if source.name not in generate.COMPRESSED_RULE_FILES:
                    assert a == b
                    continue
                assert ("for" in a) == ("for" in b)
                if "for" in a:
                    assert generate.parse_duration(b["for"]) * generate.TIME_COMPRESSION >= generate.parse_duration(a["for"])
                compressed += a["expr"] != b["expr"]
    assert compressed >= 16  # every windowed recording rule and the alerts with windows
    assert "offset 24s" in json.dumps(generated["pricing_sync_recording.yml"])  # 1d
    assert "offset 6s" in json.dumps(generated["pricing_sync_recording.yml"])  # 6h
    result = run([tool("promtool"), "check", "rules", *(str(tmp_path / name) for name in generated)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_prometheus_and_alertmanager_configs_are_valid(tmp_path):
    rules = generate.write_rule_files(tmp_path)
    prometheus = generate.write_prometheus_config(
        tmp_path, rules, prometheus="127.0.0.1:1", pushgateway="127.0.0.1:2", blackbox="127.0.0.1:3",
        alertmanager="127.0.0.1:4", webserver="http://127.0.0.1:5")
    result = run([tool("promtool"), "check", "config", str(prometheus)])
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(prometheus.read_text())
    assert [j["job_name"] for j in config["scrape_configs"]] == \
           [j["job_name"] for j in yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())["scrape_configs"]]
    assert next(j for j in config["scrape_configs"] if j["job_name"] == "pushgateway")["honor_labels"] is True

    alertmanager = generate.write_alertmanager_config(tmp_path, "http://127.0.0.1:6")
    result = run([tool("amtool"), "check-config", str(alertmanager)])
    assert result.returncode == 0, result.stdout + result.stderr
    real = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    copy = yaml.safe_load(alertmanager.read_text())
    strip = lambda route: {k: v for k, v in route.items() if k not in ("group_wait", "group_interval")}  # noqa: E731
    assert strip(copy["route"]) == strip(real["route"])
    assert copy["inhibit_rules"] == real["inhibit_rules"]
    assert [r["name"] for r in copy["receivers"]] == [r["name"] for r in real["receivers"]]
    for receiver in copy["receivers"]:
        notifying = any(k.endswith("_configs") for k in next(r for r in real["receivers"] if r["name"] == receiver["name"]))
        if notifying:
            assert set(receiver) == {"name", "webhook_configs"}
            assert receiver["webhook_configs"][0]["url"] == f"http://127.0.0.1:6/{receiver['name']}"
        else:
            assert receiver == {"name": receiver["name"]}
    # every severity lands on the same receivers as with the real config
    for severity in ("critical", "warning", "info", "other"):
        routes = [run([tool("amtool"), "config", "routes", "test", f"--config.file={f}", f"severity={severity}"]).stdout
                  for f in (ALERTMANAGER_CONFIG, alertmanager)]
        assert routes[0] == routes[1], (severity, routes)


def test_compression_of_durations():
    assert generate.compress("1d") == "24s" and generate.compress("6h") == "6s" and generate.compress("15m") == "250ms"
    assert generate.compress_expr("last_over_time(x[1d] offset 1h) and y offset -2h or rate(z[1h:5m])") == \
        "last_over_time(x[24s] offset 1s) and y offset -2s or rate(z[1s:84ms])"
    with pytest.raises(ValueError):
        generate.parse_duration("1.5h")
