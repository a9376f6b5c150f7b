"""deploy/kubernetes/ without a cluster: every manifest (and the monitoring ConfigMaps rendered
from monitoring/) against the Kubernetes API schemas (kubernetes-validate, offline, strict), and
the Helm values' promises: our image for the code server, the provider keys only in user-code
and run pods, shared storage for what runs write, the read-only webserver, no secret values."""

from __future__ import annotations

import json
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from pricing_pipeline_tests.deploy.instance_configs import DEPLOY, helm_values
from pricing_pipeline_tests.recordings import REPO_ROOT

KUBERNETES = DEPLOY / "kubernetes"
# the oldest Kubernetes still supported upstream when this was written, and the newest known here
KUBERNETES_VERSIONS = ["1.31.0", kubernetes_validate.utils.latest_version()]
MANIFEST_FILES = sorted((KUBERNETES / "manifests").glob("*.yaml")) + [KUBERNETES / "secrets.example.yaml"]


def rendered_monitoring() -> list[dict]:
    out = subprocess.run([sys.executable, str(KUBERNETES / "monitoring.py")], capture_output=True, check=True, text=True)
    return json.loads(out.stdout)["items"]


def manifests() -> list[tuple[str, dict]]:
    docs = [(f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc)
            for path in MANIFEST_FILES for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs + [(f"monitoring.py:{doc['metadata']['name']}", doc) for doc in rendered_monitoring()]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(version):
    problems = {}
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems[name] = str(error)
    assert not problems, problems


def test_the_validator_refuses_a_broken_manifest():
    name, deployment = next((n, d) for n, d in manifests() if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_monitoring_configmaps_carry_every_rule_file_and_dashboard():
    maps = {doc["metadata"]["name"]: doc for doc in rendered_monitoring()}
    rules = maps["pricing-prometheus-rules"]["data"]
    expected_rules = {p.name for p in (REPO_ROOT / "monitoring/prometheus").glob("*.yml")} - {"prometheus.yml"}
    assert set(rules) == expected_rules
    assert all(yaml.safe_load(text)["groups"] for text in rules.values())
    dashboards = maps["pricing-grafana-dashboards"]
    assert set(dashboards["data"]) == {p.name for p in (REPO_ROOT / "monitoring/grafana/dashboards").glob("*.json")}
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "route" in yaml.safe_load(maps["pricing-alertmanager-config"]["data"]["alertmanager.yml"])


def test_the_code_server_runs_our_image_and_the_keys_reach_only_user_code_and_runs():
    values = helm_values()
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["image"]["repository"].endswith("/pricing-pipeline") and deployment["image"]["tag"] != "latest"
    assert "pricing_pipeline.definitions" in deployment["dagsterApiGrpcArgs"]
    assert {"name": "pricing-code-server"} in deployment["envSecrets"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"]  # run pods get the same secret
    for other in (values["dagsterWebserver"], values["dagsterDaemon"], values["runLauncher"]["config"]["k8sRunLauncher"]):
        assert "pricing-code-server" not in json.dumps(other)
    secret_names = {doc["metadata"]["name"] for _, doc in manifests() if doc["kind"] == "Secret"}
    assert "pricing-code-server" in secret_names


def test_what_runs_write_lives_on_shared_storage():
    values = helm_values()
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    claim = {v["persistentVolumeClaim"]["claimName"] for v in deployment["volumes"]}
    (pvc,) = [doc for _, doc in manifests() if doc["kind"] == "PersistentVolumeClaim"]
    assert claim == {pvc["metadata"]["name"]} and pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    shared = {m["mountPath"] for m in deployment["volumeMounts"]}
    assert deployment["env"]["PRICING_FEEDS_DIR"].startswith(tuple(shared))
    additional = values["additionalInstanceConfig"]
    assert additional["local_artifact_storage"]["config"]["base_dir"].startswith(tuple(shared))  # step outputs
    compute_logs = values["computeLogManager"]["config"]["customComputeLogManager"]["config"]["base_dir"]
    assert compute_logs.startswith(tuple(shared))
    assert {m["mountPath"] for m in values["dagsterWebserver"]["volumeMounts"]} == shared  # it shows the logs


def test_only_the_proxy_reaches_the_operator_webserver_and_viewers_get_a_read_only_one():
    values = helm_values()
    assert values["dagsterWebserver"]["enableReadOnly"] is True
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP"
    policies = {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == "NetworkPolicy"}
    webserver = policies["dagster-webserver-from-auth-proxy"]["spec"]
    assert webserver["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "pricing-auth-proxy"}}}]}]
    code_server = policies["code-server-from-namespace"]["spec"]
    assert code_server["ingress"] == [{"from": [{"podSelector": {}}]}]  # this namespace only


def test_no_secret_value_is_in_the_repository():
    for _, doc in manifests():
        if doc["kind"] == "Secret":
            for key, value in doc["stringData"].items():
                assert value == "" or "<password>" in value or not any(
                    word in key for word in ("KEY", "SECRET", "PASSWORD", "password")), key


def test_prices_api_is_read_only_and_reached_only_by_gateways():
    """prices-api (`pricing-pipeline serve`): our image, probed on /healthz, the feeds mounted
    read-only, a database URL of its own (a SELECT-only user), and a NetworkPolicy that lets in
    only this namespace and pods labelled as price clients."""
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in manifests()}
    deployment = docs[("Deployment", "pricing-prices-api")]["spec"]
    (container,) = deployment["template"]["spec"]["containers"]
    image = helm_values()["dagster-user-deployments"]["deployments"][0]["image"]
    assert container["image"] == f"{image['repository']}:{image['tag']}"
    assert container["command"][:2] == ["pricing-pipeline", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["envFrom"] == [{"secretRef": {"name": "pricing-prices-api"}}]
    assert all(mount["readOnly"] for mount in container["volumeMounts"])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    secret = docs[("Secret", "pricing-prices-api")]["stringData"]
    assert set(secret) == {"PRICING_DATABASE_URL"} and "pricing_reader:<password>@" in secret["PRICING_DATABASE_URL"]
    service = docs[("Service", "pricing-prices-api")]["spec"]
    assert service["type"] == "ClusterIP" and service["selector"] == deployment["selector"]["matchLabels"]
    policy = docs[("NetworkPolicy", "prices-api-from-gateways")]["spec"]
    assert policy["podSelector"] == deployment["selector"] and policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    clients = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"pricing-pipeline/prices-client": "true"}}}
    assert rule["from"] == [{"podSelector": {}}, clients]
