"""deploy/compose.yaml and deploy/Dockerfile, read as an operator would run them: every service
health-checked, every image pinned, the secrets from env files (the provider keys for the code
server alone), nothing reachable from outside but the authenticating proxy, the read-only
webserver and (on 127.0.0.1) the monitoring UIs, and our monitoring files mounted as they are."""

from __future__ import annotations

import re

import yaml

from pricing_pipeline_tests.deploy.instance_configs import DEPLOY, compose_file

PRIVATE = {"postgres", "code-server", "webserver", "daemon", "pushgateway", "blackbox"}
PINNED_TAG = re.compile(r":v?\d+\.\d+(\.\d+)?([-.][\w.-]+)?$")  # an exact release, never "latest"


def services() -> dict:
    return compose_file()["services"]


def test_the_whole_topology_is_there():
    assert {"postgres", "code-server", "webserver", "webserver-read-only", "daemon", "auth-proxy", "pushgateway",
            "prometheus", "alertmanager", "grafana"} <= set(services())


def test_every_service_is_health_checked_and_pinned():
    for name, service in services().items():
        assert service.get("healthcheck", {}).get("test"), name
        assert PINNED_TAG.search(service["image"]), (name, service["image"])


def test_one_image_for_the_dagster_processes():
    dagster = {name: s for name, s in services().items() if "dagster" in " ".join(s.get("command", []))}
    assert set(dagster) == {"code-server", "webserver", "webserver-read-only", "daemon"}
    assert {s["image"] for s in dagster.values()} == {"pricing-pipeline:0.1.0"}
    assert {s["build"]["dockerfile"] for s in dagster.values()} == {"deploy/Dockerfile"}


def test_the_provider_keys_reach_the_code_server_alone():
    for name, service in services().items():
        env_files = service.get("env_file", [])
        assert ("env/code-server.env" in env_files) == (name == "code-server"), name
        assert not service.get("environment"), f"{name}: settings come from env files"
    for env_file in {f for s in services().values() for f in s.get("env_file", [])}:
        assert (DEPLOY / f"{env_file}.example").exists(), env_file
    example = (DEPLOY / "env/code-server.env.example").read_text()
    assert re.search(r"^TOGETHER_API_KEY=$", example, re.M)  # names only, never values


def test_nothing_private_is_reachable_from_outside():
    networks = compose_file()["networks"]
    assert networks["backend"]["internal"] is True
    for name in PRIVATE:
        service = services()[name]
        assert not service.get("ports"), name
        assert set(service["networks"]) <= {"backend", "egress"}, name
    assert set(services()["code-server"]["networks"]) == {"backend", "egress"}  # out to the providers
    for name in ("prometheus", "alertmanager", "grafana"):
        assert all(port.startswith("127.0.0.1:") for port in services()[name]["ports"]), name


def test_operators_go_through_the_authenticating_proxy_and_viewers_get_read_only():
    proxy = services()["auth-proxy"]
    assert "--upstream=http://webserver:3000/" in proxy["command"]
    assert "--provider=oidc" in proxy["command"]
    assert services()["webserver"].get("ports") is None
    read_only = services()["webserver-read-only"]
    assert read_only["command"][:2] == ["dagster-webserver", "--read-only"]
    assert "--read-only" not in services()["webserver"]["command"]


def test_our_monitoring_is_mounted_as_it_is():
    prometheus = yaml.safe_load((DEPLOY / "config" / "prometheus.yml").read_text())
    rules = {path.split("/")[-1] for path in prometheus["rule_files"]}
    assert rules == {p.name for p in (DEPLOY.parent / "monitoring/prometheus").glob("*.yml")} - {"prometheus.yml"}
    assert any(job.get("honor_labels") for job in prometheus["scrape_configs"] if job["job_name"] == "pushgateway")
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(("./", "../")) and "secrets" not in source:
                assert (DEPLOY / source).exists(), (name, source)


def test_the_image_is_pinned_and_not_root():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert PINNED_TAG.search(base.split("@")[0]) or "@sha256:" in base, base
    assert "--constraint constraints.txt" in dockerfile
    constraints = (DEPLOY / "constraints.txt").read_text()
    assert "dagster==1.13.27" in constraints.splitlines() and "dagster-k8s==0.29.27" in constraints.splitlines()
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and not user[-1].startswith(("root", "0")), user
    assert not re.search(r"API_KEY|PASSWORD", dockerfile)


def test_prices_api_serves_read_only_on_an_internal_network():
    """`pricing-pipeline serve` from our image, reached only by gateways on the internal
    `gateway` network, health-checked on /healthz, with read-only access to the database
    (its own env file: no provider key, no Dagster login) and to the feeds."""
    api = services()["prices-api"]
    assert api["image"] == services()["code-server"]["image"] and api["build"]["dockerfile"] == "deploy/Dockerfile"
    assert api["command"][:2] == ["pricing-pipeline", "serve"] and "--port" in api["command"]
    port = api["command"][api["command"].index("--port") + 1]
    assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert not api.get("ports")
    assert set(api["networks"]) == {"backend", "gateway"}
    assert compose_file()["networks"]["gateway"]["internal"] is True
    assert api["env_file"] == ["env/prices-api.env"]
    example = (DEPLOY / "env/prices-api.env.example").read_text()
    assert re.search(r"^PRICING_DATABASE_URL=postgresql\+psycopg2://pricing_reader:<password>@postgres:", example, re.M)
    assert "API_KEY" not in example
    assert api["volumes"] == ["pricing-data:/var/lib/pricing:ro"] and api["read_only"] is True
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
