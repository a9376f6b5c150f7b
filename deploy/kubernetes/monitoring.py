"""Our monitoring as Kubernetes ConfigMaps, made from the files in monitoring/ (so there is no
second copy to keep in step): Prometheus' rules, Alertmanager's routing, Grafana's dashboards.

    python deploy/kubernetes/monitoring.py | kubectl apply -n monitoring -f -

Standard library only. Mount the rules ConfigMap into Prometheus' rule_files directory (or load
it with the Prometheus Operator's tooling), the Alertmanager one as its config file; the
dashboards ConfigMap carries the label Grafana's Helm chart sidecar looks for
(grafana_dashboard: "1").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PART_OF = {"app.kubernetes.io/part-of": "pricing-pipeline"}


def config_map(name: str, files: list[Path], labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {**PART_OF, **(labels or {})}},
        "data": {path.name: path.read_text() for path in files},
    }


def config_maps() -> list[dict]:
    rules = sorted(p for p in (MONITORING / "prometheus").glob("*.yml") if p.name != "prometheus.yml")
    return [
        config_map("pricing-prometheus-rules", rules),
        config_map("pricing-alertmanager-config", [MONITORING / "alertmanager" / "alertmanager.yml"]),
        config_map("pricing-grafana-dashboards", sorted((MONITORING / "grafana" / "dashboards").glob("*.json")),
                   {"grafana_dashboard": "1"}),
    ]


def main() -> None:
    json.dump({"apiVersion": "v1", "kind": "List", "items": config_maps()}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
