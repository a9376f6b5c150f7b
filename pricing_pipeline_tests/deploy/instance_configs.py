"""The Dagster instance config each deployment gives its processes, read from deploy/, and its
check against Dagster's own config schemas.

The Helm chart writes dagster.yaml from its values (templates/configmap-instance.yaml and
helpers/instance/*.tpl of dagster-io/dagster's helm/dagster). ``helm_instance_config`` maps the
values deploy/kubernetes/values.yaml sets the way those templates do (with Dagster 1.13's module
paths, ``dagster._core...``), so the result can be validated here without helm or a cluster. A
value the chart does not read is not mapped; a setting Dagster would refuse fails validation.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from pricing_pipeline_tests.recordings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
VALUES = DEPLOY / "kubernetes" / "values.yaml"
COMPOSE = DEPLOY / "compose.yaml"


def shipped_instance_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())


def compose_file() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_instance_config() -> dict:
    return yaml.safe_load((DEPLOY / "config" / "dagster.yaml").read_text())


def helm_values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _postgres(values: dict) -> dict:
    pg = values["postgresql"]
    return {"postgres_db": {
        "username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"], "db_name": pg["postgresqlDatabase"], "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams", {}), "scheme": pg.get("postgresqlScheme", "postgresql"),
    }}


def _k8s_run_launcher(values: dict, namespace: str) -> dict:
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s["loadInclusterConfig"], "job_namespace": k8s.get("jobNamespace") or namespace,
        "image_pull_policy": k8s["imagePullPolicy"], "service_account_name": "dagster",
        "dagster_home": "/opt/dagster/dagster_home", "instance_config_map": "dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    for value_key, config_key in (("envConfigMaps", "env_config_maps"), ("envSecrets", "env_secrets")):
        if k8s.get(value_key):
            config[config_key] = [item["name"] for item in k8s[value_key]]
    for value_key, config_key in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts"), ("volumes", "volumes"),
                                  ("labels", "labels"), ("resources", "resources"),
                                  ("securityContext", "security_context")):
        if k8s.get(value_key):
            config[config_key] = k8s[value_key]
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    run_k8s = k8s.get("runK8sConfig") or {}
    camel = {"containerConfig": "container_config", "podSpecConfig": "pod_spec_config", "jobSpecConfig": "job_spec_config",
             "podTemplateSpecMetadata": "pod_template_spec_metadata", "jobMetadata": "job_metadata"}
    if run_k8s:
        config["run_k8s_config"] = {camel[key]: value for key, value in run_k8s.items()}
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _queued_run_coordinator(values: dict) -> dict:
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    config: dict[str, Any] = {"max_concurrent_runs": queued.get("maxConcurrentRuns", -1)}
    for value_key, config_key in (("tagConcurrencyLimits", "tag_concurrency_limits"),
                                  ("dequeueIntervalSeconds", "dequeue_interval_seconds"),
                                  ("dequeueUseThreads", "dequeue_use_threads"),
                                  ("dequeueNumWorkers", "dequeue_num_workers")):
        if queued.get(value_key):  # the chart leaves out what is falsy
            config[config_key] = queued[value_key]
    return {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator", "config": config}


def helm_instance_config(values: dict, namespace: str = "pricing") -> dict:
    storage = {"config": _postgres(values)}
    config: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage", "class": "PostgresScheduleStorage", **storage},
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage", **storage},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage", **storage},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }
    assert values["runLauncher"]["type"] == "K8sRunLauncher", "only the K8sRunLauncher mapping is written here"
    config["run_launcher"] = _k8s_run_launcher(values, namespace)
    daemon = values["dagsterDaemon"]
    if daemon["enabled"] and daemon["runCoordinator"]["enabled"]:
        assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
        config["run_coordinator"] = _queued_run_coordinator(values)
    logs = values["computeLogManager"]
    assert logs["type"] == "CustomComputeLogManager", "only the custom compute log manager mapping is written here"
    config["compute_logs"] = dict(logs["config"]["customComputeLogManager"])
    monitoring = daemon.get("runMonitoring", {})
    if daemon["enabled"] and monitoring.get("enabled"):
        config["run_monitoring"] = {"enabled": True, "start_timeout_seconds": monitoring["startTimeoutSeconds"],
                                    "poll_interval_seconds": monitoring["pollIntervalSeconds"]}
    for key, value in (values.get("additionalInstanceConfig") or {}).items():
        # the chart appends these verbatim: a key it has written already would be there twice
        assert key not in config, f"additionalInstanceConfig repeats {key!r}, which the chart writes itself"
        config[key] = value
    return config


def validate_instance_config(config: dict, tmp_path: Path) -> None:
    """Dagster's instance schema for the whole file, then each configurable class's own schema
    for its ``config`` (what DagsterInstance checks when it builds that class; environment
    variables are not resolved here). Raises
    DagsterInvalidConfigError (or ImportError for a class that does not exist)."""
    from dagster._config import validate_config
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config

    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    dagster_instance_config(str(tmp_path))
    for key, section in config.items():
        if isinstance(section, dict) and "module" in section and "class" in section:
            cls = getattr(importlib.import_module(section["module"]), section["class"])
            result = validate_config(cls.config_type(), section.get("config") or {})
            if not result.success:
                raise DagsterInvalidConfigError(f"{key} ({section['class']}) config is invalid", result.errors,
                                                section.get("config"))
