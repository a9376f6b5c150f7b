"""Grafana dashboards as code: the committed JSON is what the generator writes, the dashboards
are well formed, every query parses offline and a real Prometheus accepts it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import promql_parser
import pytest
import yaml

from pricing_pipeline_tests.monitoring._support import (
    DASHBOARD_DIR,
    GRAFANA_DIR,
    RULE_FILES,
    all_rules,
    dashboard_queries,
    dashboards,
    expand_grafana,
    panels,
    tool,
    tool_server,
    variable_queries,
)

EXPECTED = {"pricing-sync-scheduler.json", "pricing-sync-system.json", "pricing-sync-slo.json"}


def test_regeneration_reproduces_the_committed_json(tmp_path):
    result = subprocess.run([sys.executable, str(GRAFANA_DIR / "generate.py"), "--output", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    generated = {p.name for p in tmp_path.glob("*.json")}
    assert generated == EXPECTED
    assert {p.name for p in DASHBOARD_DIR.glob("*.json")} == EXPECTED
    for name in EXPECTED:
        assert (tmp_path / name).read_bytes() == (DASHBOARD_DIR / name).read_bytes(), (
            f"{name} differs from the generator's output: run python monitoring/grafana/generate.py")


def test_check_mode_detects_a_stale_file(tmp_path):
    subprocess.run([sys.executable, str(GRAFANA_DIR / "generate.py"), "--output", str(tmp_path)], check=True, timeout=60)
    (tmp_path / "pricing-sync-slo.json").write_text("{}\n")
    result = subprocess.run([sys.executable, str(GRAFANA_DIR / "generate.py"), "--output", str(tmp_path), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "pricing-sync-slo.json" in result.stderr


def test_dashboards_have_unique_uids_and_the_shared_tag():
    uids = [d["uid"] for d in dashboards().values()]
    assert len(uids) == len(set(uids)) == 3
    for dash in dashboards().values():
        assert "pricing-pipeline" in dash["tags"]
        assert dash["title"].startswith("Pricing sync: ")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_panel_ids_unique_and_layout_sane(name):
    dash = dashboards()[name]
    all_panels = list(panels(dash))
    ids = [p["id"] for p in all_panels]
    assert all(isinstance(i, int) and i > 0 for i in ids), ids
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    cells = set()
    for panel in all_panels:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{name}: panel {panel['title']!r} overlaps another"
                cells.add((x, y))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_panels_query_the_datasource_variable(name):
    dash = dashboards()[name]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    queried = 0
    for panel in panels(dash):
        if panel["type"] in ("row", "text"):
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        targets = panel["targets"]
        assert targets, f"{panel['title']} has no query"
        refs = [t["refId"] for t in targets]
        assert len(set(refs)) == len(refs) and all(refs), panel["title"]
        assert panel["title"] and panel.get("description") is not None
        assert isinstance(panel.get("options"), dict), f"{panel['title']}: options must be an object"
        queried += 1
    assert queried >= 10


def test_the_three_dashboards_cover_what_the_issue_asks_for():
    text = {name: json.dumps(d) for name, d in dashboards().items()}
    system = text["pricing-sync-system.json"]
    for needle in ("pricing_sync_cpu_seconds", "pricing_sync_peak_rss_bytes", "pricing_provider_request_duration_seconds_bucket",
                   "histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,",
                   "pricing_database_query_duration_seconds_bucket", "error_type"):
        assert needle in system, needle
    slo = text["pricing-sync-slo.json"]
    for needle in ("slo:error_budget_remaining:ratio", "slo:sli_error:ratio_rate1h", "slo:objective:ratio"):
        assert needle in slo, needle
    scheduler = text["pricing-sync-scheduler.json"]
    for needle in ("pricing_scheduler_enabled", "pricing_last_sync_timestamp", "pricing_scheduled_sync_runs"):
        assert needle in scheduler, needle


def test_provisioning_matches_the_dashboards():
    datasources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasources["apiVersion"] == 1
    [ds] = datasources["datasources"]
    assert ds["type"] == "prometheus" and ds["url"].startswith("http")
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "pricing-pipeline.yml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    for name, dash in dashboards().items():
        [var] = [v for v in dash["templating"]["list"] if v["name"] == "datasource"]
        assert var["current"]["value"] == ds["uid"], f"{name}: default data source is not the provisioned one"


ALL_QUERIES = [(f"{d} / {title}", expr) for d, title, expr in dashboard_queries()]


@pytest.mark.parametrize("where,expr", ALL_QUERIES, ids=[w for w, _ in ALL_QUERIES])
def test_every_query_parses_offline(where, expr):
    promql_parser.parse(expand_grafana(expr))


def test_the_offline_parser_rejects_broken_queries():
    for bad in ("sum by (provider (x)", "rate(x[5m]", "x{provider=~}"):
        with pytest.raises(Exception):
            promql_parser.parse(bad)


# --------------------------------------------------------------------- a real Prometheus


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    binary = tool("prometheus")
    data = tmp_path_factory.mktemp("prometheus")
    config = data / "prometheus.yml"
    # Our rule files too: Prometheus refuses to start on a rule it cannot load.
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "30s", "evaluation_interval": "1m"},
        "rule_files": [str(p) for p in RULE_FILES],
        "scrape_configs": [],
    }))
    args = [binary, f"--config.file={config}", f"--storage.tsdb.path={data / 'tsdb'}",
            "--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"]
    with tool_server(args, "/-/ready", data / "prometheus.log") as url:
        yield url


def _query(url: str, expr: str) -> tuple[int, dict]:
    body = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(f"{url}/api/v1/query", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_real_prometheus_accepts_every_dashboard_and_rule_query(prometheus):
    exprs = [(where, expand_grafana(expr)) for where, expr in ALL_QUERIES]
    exprs += [(rule.get("alert") or rule["record"], rule["expr"]) for rule in all_rules()]
    rejected = []
    for where, expr in exprs:
        status, body = _query(prometheus, expr)
        if status != 200 or body.get("status") != "success":
            rejected.append(f"{where}: {status} {body.get('error')}")
    assert not rejected, "\n".join(rejected)


def test_real_prometheus_rejects_a_broken_query(prometheus):
    status, body = _query(prometheus, "sum by (provider (pricing_last_sync_models)")
    assert status == 400 and body["status"] == "error"


def test_real_prometheus_loaded_every_rule(prometheus):
    with urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=10) as response:
        groups = json.load(response)["data"]["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"]}
    defined = {rule.get("alert") or rule["record"] for rule in all_rules()}
    assert loaded == defined


def test_variable_queries_work_against_real_prometheus(prometheus):
    for dashboard, name, query in variable_queries():
        metric, label = query[len("label_values("):-1].split(", ")
        url = f"{prometheus}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": metric})
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.load(response)["status"] == "success", (dashboard, name)


def test_each_provider_gets_its_own_catalog_panels():
    # One chart of every provider put 13 models next to 5,141: repeated per provider instead.
    dashboard = json.loads((DASHBOARD_DIR / "pricing-sync-scheduler.json").read_text())
    repeated = {p["title"]: p for p in dashboard["panels"] if p.get("repeat") == "provider"}
    assert set(repeated) == {"$provider: models", "$provider: changes, held, quarantined"}
    exprs = " ".join(t["expr"] for p in repeated.values() for t in p["targets"])
    for metric in ("pricing_last_sync_models", "pricing_last_sync_model_changes", "pricing_held_models",
                   "pricing_last_sync_quarantined_models"):
        assert f'{metric}{{provider=~"$provider"}}' in exprs
