"""The instance config of all three deployments (dagster.yaml; compose; the Helm values) passes
Dagster's own schemas, names Dagster's stock launchers, and keeps dagster.yaml's per-provider
run limit and run monitoring unchanged."""

from __future__ import annotations

import copy

import pytest
from dagster._core.errors import DagsterInvalidConfigError

from pricing_pipeline_tests.deploy.instance_configs import (
    compose_instance_config,
    helm_instance_config,
    helm_values,
    shipped_instance_config,
    validate_instance_config,
)

DEPLOYMENTS = {
    "dagster.yaml": shipped_instance_config,
    "compose": compose_instance_config,
    "kubernetes": lambda: helm_instance_config(helm_values()),
}
STOCK_LAUNCHERS = {
    "dagster.yaml": ("dagster._core.launcher", "DefaultRunLauncher"),
    "compose": ("dagster._core.launcher", "DefaultRunLauncher"),
    "kubernetes": ("dagster_k8s", "K8sRunLauncher"),
}


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_instance_config_passes_dagsters_schemas(deployment, tmp_path):
    validate_instance_config(DEPLOYMENTS[deployment](), tmp_path)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_runs_are_launched_by_dagsters_stock_launcher(deployment):
    launcher = DEPLOYMENTS[deployment]()["run_launcher"]
    assert (launcher["module"], launcher["class"]) == STOCK_LAUNCHERS[deployment]


@pytest.mark.parametrize("deployment", ["compose", "kubernetes"])
def test_run_limits_and_run_monitoring_are_dagster_yamls(deployment):
    shipped, config = shipped_instance_config(), DEPLOYMENTS[deployment]()
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert limits == shipped["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
    assert config["run_monitoring"] == shipped["run_monitoring"]
    dequeue = {k: v for k, v in config["run_coordinator"]["config"].items() if k.startswith("dequeue")}
    assert dequeue == {k: v for k, v in shipped["run_coordinator"]["config"].items() if k.startswith("dequeue")}
    assert config["run_monitoring"]["enabled"] and config["run_monitoring"]["max_runtime_seconds"]


def test_production_storage_is_postgresql():
    assert "postgres" in compose_instance_config()["storage"]
    helm = helm_instance_config(helm_values())
    assert helm["run_storage"]["class"] == "PostgresRunStorage"
    assert helm_values()["postgresql"]["enabled"] is False  # external PostgreSQL


@pytest.mark.parametrize("mistake", [
    lambda c: c["run_launcher"]["config"].update(fail_pod_on_run_faillure=True),
    lambda c: c["run_monitoring"].update(max_runtime=900),
    lambda c: c["run_coordinator"]["config"]["tag_concurrency_limits"][0].update(limit="one"),
])
def test_a_mistake_in_the_config_is_refused(mistake, tmp_path):
    config = copy.deepcopy(helm_instance_config(helm_values()))
    mistake(config)
    with pytest.raises(DagsterInvalidConfigError):
        validate_instance_config(config, tmp_path)


def test_the_chart_would_not_write_run_monitoring_twice():
    values = helm_values()
    values["dagsterDaemon"]["runMonitoring"] = {"enabled": True, "startTimeoutSeconds": 120, "pollIntervalSeconds": 30}
    with pytest.raises(AssertionError, match="run_monitoring"):
        helm_instance_config(values)
