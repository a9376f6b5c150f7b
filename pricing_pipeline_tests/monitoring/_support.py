"""Shared helpers of the monitoring tests: paths, tools, the metric contract, PromQL walking,
and local servers (started on free 127.0.0.1 ports, always stopped)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
RULE_FILES = sorted(p for p in PROMETHEUS_DIR.glob("*.yml") if p.name != "prometheus.yml")
PROMTOOL_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"
BLACKBOX_CONFIG = MONITORING / "blackbox" / "blackbox.yml"
GRAFANA_DIR = MONITORING / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
METRICS_MD = MONITORING / "METRICS.md"
RUNBOOK_DIR = ROOT / "docs" / "runbooks"
RUNBOOK_URL_PREFIX = "https://github.com/example/pricing-pipeline/blob/main/docs/runbooks/"

# Series that rules and dashboards may use although the pipeline does not export them:
# produced by Prometheus itself (up, ALERTS) or by the blackbox exporter's probe of the
# Dagster webserver (probe_*).
EXTERNAL_METRICS = {"up", "ALERTS", "probe_success", "probe_duration_seconds"}
# Labels every pushed series carries besides its own (Pushgateway grouping key).
TARGET_LABELS = {"job", "instance"}


def tool(name: str) -> str:
    """A required command-line tool; CI installs them, so a missing one is a failure."""
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found on PATH: install the Debian package (see .ci/run)", pytrace=False)
    return path


def run(args: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


# ------------------------------------------------------------------------ metric contract


@dataclass(frozen=True)
class ContractMetric:
    name: str
    type: str
    labels: frozenset[str]


@dataclass
class Contract:
    metrics: dict[str, ContractMetric]
    label_values: dict[str, set[str]] = field(default_factory=dict)
    # "- `label` of `metric`: `a | b`": values of a label that hold for one metric only
    metric_label_values: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def series_names(self) -> dict[str, ContractMetric]:
        """Every series name the contract allows, histogram suffixes included."""
        names = {}
        for metric in self.metrics.values():
            if metric.type == "histogram":
                for suffix in ("_bucket", "_sum", "_count"):
                    names[metric.name + suffix] = metric
            else:
                names[metric.name] = metric
        return names

    def values_of(self, series_name: str, label: str) -> set[str] | None:
        """The values a label may take on a series (None: unbounded or not listed)."""
        metric = self.series_names()[series_name].name
        return self.metric_label_values.get((metric, label), self.label_values.get(label))

    def labels_of(self, series_name: str) -> set[str]:
        metric = self.series_names()[series_name]
        extra = {"le"} if series_name.endswith("_bucket") and metric.type == "histogram" else set()
        return set(metric.labels) | TARGET_LABELS | extra


def load_contract() -> Contract:
    text = METRICS_MD.read_text()
    metrics = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([a-z_:]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|([^|]*)\|", line)
        if m:
            labels = frozenset(x.strip() for x in m.group(3).split(",") if x.strip())
            metrics[m.group(1)] = ContractMetric(m.group(1), m.group(2), labels)
    values = {}
    for label in ("provider", "status", "error_type", "kind", "outcome"):
        # "- `label`: ... `a | b | c` ..." or "`a, b, c`" (the first list in backticks)
        m = re.search(rf"^- `{label}`:(.*?)(?=^- |^\s*$)", text, re.M | re.S)
        assert m, f"METRICS.md does not list the values of {label}"
        lists = [span for span in re.findall(r"`([^`]+)`", m.group(1)) if "|" in span or "," in span]
        assert lists, f"no value list for {label} in METRICS.md"
        values[label] = {v.strip() for v in re.split(r"[|,]", lists[0]) if v.strip()}
    per_metric = {}
    for label, metric, values_list in re.findall(r"^- `(\w+)` of `(\w+)`: `([^`]+)`", text, re.M):
        assert metric in metrics and label in metrics[metric].labels, f"METRICS.md lists {label} values of {metric}"
        per_metric[(metric, label)] = {v.strip() for v in re.split(r"[|,]", values_list) if v.strip()}
    return Contract(metrics, values, per_metric)


# ------------------------------------------------------------------------------- rules


def load_rule_groups() -> list[tuple[Path, dict]]:
    groups = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            groups.append((path, group))
    return groups


def all_rules() -> list[dict]:
    return [rule for _, group in load_rule_groups() for rule in group["rules"]]


def alert_rules() -> list[dict]:
    return [rule for rule in all_rules() if "alert" in rule]


def recording_names() -> set[str]:
    return {rule["record"] for rule in all_rules() if "record" in rule}


# ------------------------------------------------------------------------------- PromQL


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of a PromQL expression."""
    found: list[Selector] = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            matchers = tuple((m.name, str(m.op).split(".")[-1], m.value) for m in node.matchers.matchers)
            name = node.name or next((v for n, op, v in matchers if n == "__name__" and op == "Equal"), "")
            found.append(Selector(name, tuple(x for x in matchers if x[0] != "__name__")))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


GRAFANA_MACROS = {
    "$__rate_interval": "2m",
    "$__interval": "1m",
    "$__range": "1d",
    "${__range}": "1d",
    "$window": "1d",
    "$provider": ".*",
}


def expand_grafana(expr: str) -> str:
    for macro, value in sorted(GRAFANA_MACROS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(macro, value)
    assert "$" not in expr, f"unknown Grafana variable left in {expr!r}"
    return expr


# ----------------------------------------------------------------------------- dashboards


def dashboards() -> dict[str, dict]:
    import json

    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) for every Prometheus query, Grafana macros intact."""
    out = []
    for name, dash in dashboards().items():
        for panel in panels(dash):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((name, panel.get("title", ""), target["expr"]))
    return out


def variable_queries() -> list[tuple[str, str, str]]:
    out = []
    for name, dash in dashboards().items():
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") == "query":
                q = var["query"]
                out.append((name, var["name"], q if isinstance(q, str) else q.get("query", "")))
    return out


# --------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@contextlib.contextmanager
def background(args: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen]:
    """Start a server process, wait until ready_url answers 200, always stop it."""
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_http(ready_url, process=process)
        except Exception:
            raise RuntimeError(f"{args[0]} did not start:\n{log.read_text(errors='replace')[-3000:]}") from None
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.contextmanager
def tool_server(args: list[str], ready_path: str, log: Path) -> Iterator[str]:
    """A server tool on a free port (``{port}`` in its arguments), ready; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with background([arg.replace("{port}", str(port)) for arg in args], url + ready_path, log):
        yield url


class FakeDagsterWebserver(BaseHTTPRequestHandler):
    """/server_info like dagster-webserver's; /proxy_error like a proxy in front of a dead one."""

    def do_GET(self):  # noqa: N802
        if self.path == "/server_info":
            body = json.dumps({"dagster_webserver_version": "1.13.27", "dagster_version": "1.13.27",
                               "dagster_graphql_version": "1.13.27"}).encode()
            status = 200
        elif self.path == "/proxy_error":
            body, status = b"<html>Bad gateway</html>", 200
        else:
            body, status = b"nope", 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP server on a free 127.0.0.1 port; ``server.url`` is its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def venv_bin(name: str) -> str | None:
    """An executable on PATH or next to the running Python (the project's virtualenv)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() and os.access(candidate, os.X_OK) else None
