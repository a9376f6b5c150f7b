"""deploy/compose.yaml as podman-compose can start it on a machine that cannot pull Docker Hub
(this project's CI): the same services, networks, volumes, commands and health checks, with

- our image as built by `make image-check` (no `build:`: podman-compose would build it again);
- third-party images swapped for stand-ins built from Debian's packages where Debian has the
  program (deploy/podman/standins/), left out where it does not (SUBSTITUTED, OMITTED);
- env files filled from the *.env.example names with throwaway values, the provider URLs
  pointed at a `replay` service serving the recorded responses on the `egress` network;
- published ports moved to free 127.0.0.1 ports (other work on this machine uses the defaults).

    python deploy/podman/standin_compose.py OUT_DIR   # writes OUT_DIR/compose.yaml, prints the swaps
"""

from __future__ import annotations

import copy
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1]
STANDINS = Path(__file__).resolve().parent / "standins"
MONITORING_IMAGE_PROGRAMS = {
    "pushgateway": "/usr/bin/prometheus-pushgateway",
    "blackbox": "/usr/bin/prometheus-blackbox-exporter",
    "prometheus": "/usr/bin/prometheus",
    "alertmanager": "/usr/bin/prometheus-alertmanager",
}
OMITTED = {
    "auth-proxy": "oauth2-proxy is not packaged in Debian (operators reach the webserver on the backend network)",
    "grafana": "Grafana is not packaged in Debian (nor on PyPI or npm)",
}
PASSWORD = "topology-test-password"
READER_PASSWORD = "topology-test-reader-password"
PROVIDER_KEYS = {"TOGETHER_API_KEY": "test-together-key", "NOVITA_API_KEY": "test-novita-key",
                 "OPENROUTER_API_KEY": "test-openrouter-key"}
REPLAY_PORT = 8080
IMAGE_UID = 10001  # deploy/Dockerfile's user


@dataclass
class StandinTopology:
    compose_file: Path
    project: str
    substitutions: dict[str, str] = field(default_factory=dict)  # service -> what replaced its image
    omitted: dict[str, str] = field(default_factory=dict)  # service -> why
    ports: dict[str, int] = field(default_factory=dict)  # service -> host port on 127.0.0.1

    def report(self) -> str:
        lines = [f"  {name}: {what}" for name, what in sorted(self.substitutions.items())]
        lines += [f"  {name}: left out ({why})" for name, why in sorted(self.omitted.items())]
        return "stand-ins and omissions:\n" + "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_file_values(replay_files: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Each env file's settings: the names of its .example, throwaway values."""
    urls = {f"PRICING_{p.upper()}_URL": f"http://replay:{REPLAY_PORT}/{p}{path.suffix}"
            for p, path in replay_files.items()}
    return {
        "dagster.env": {"DAGSTER_PG_USER": "postgres", "DAGSTER_PG_PASSWORD": PASSWORD},
        "postgres.env": {"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": PASSWORD, "POSTGRES_DB": "dagster",
                         "PRICING_READER_PASSWORD": READER_PASSWORD},
        "prices-api.env": {
            "PRICING_DATABASE_URL": f"postgresql+psycopg2://pricing_reader:{READER_PASSWORD}@postgres:5432/pricing",
            "PRICING_FEEDS_DIR": "/var/lib/pricing/feeds",
        },
        "code-server.env": {
            "PRICING_DATABASE_URL": f"postgresql+psycopg2://postgres:{PASSWORD}@postgres:5432/pricing",
            "PRICING_PUSHGATEWAY_URL": "http://pushgateway:9091",
            **PROVIDER_KEYS,
            **urls,
        },
    }


def write_standin_compose(out: Path, *, image: str, base_image: str, postgres_image: str, monitoring_image: str,
                          replay_files: dict[str, Path], project: str,
                          run_monitoring: dict | None = None, code_server_settings: dict | None = None,
                          feeds_volume_mib: int | None = None) -> StandinTopology:
    """Drill-time changes, each reported among the substitutions: ``run_monitoring``, settings to
    override in compose's dagster.yaml; ``code_server_settings``, more of our settings for the
    code server (and so its runs); ``feeds_volume_mib``, the feeds volume as a tmpfs of that
    size, so a drill can fill it without filling the host's disk."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    topology = StandinTopology(out / "compose.yaml", project)
    (out / "config").mkdir(parents=True, exist_ok=True)
    (out / "env").mkdir(exist_ok=True)
    mounts = {}  # a file of deploy/config/ -> the drill's version of it
    if run_monitoring:
        instance = yaml.safe_load((DEPLOY / "config" / "dagster.yaml").read_text())
        before = {key: instance["run_monitoring"][key] for key in run_monitoring}
        instance["run_monitoring"].update(run_monitoring)
        (out / "config" / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
        mounts["./config/dagster.yaml"] = str(out / "config" / "dagster.yaml")
        topology.substitutions["dagster.yaml"] = f"run_monitoring {before} -> {run_monitoring} (drill time)"
    if feeds_volume_mib:
        # nr_blocks (4 KiB pages), not size=: podman 4.3 takes size= for a quota request, which
        # needs XFS project quotas
        options = f"nr_blocks={feeds_volume_mib * 256},uid={IMAGE_UID},gid={IMAGE_UID},mode=0755"
        compose["volumes"]["pricing-data"] = {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": options}}
        topology.substitutions["pricing-data"] = f"volume -> tmpfs of {feeds_volume_mib} MiB (the drill fills it)"
    env_files = env_file_values(replay_files)
    if code_server_settings:
        env_files["code-server.env"].update(code_server_settings)
        topology.substitutions["code-server.env"] = f"+ {code_server_settings} (drill time)"
    for env_name, values in env_files.items():
        example = (DEPLOY / "env" / f"{env_name}.example").read_text()
        names = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
        assert names <= set(values), f"{env_name}: {sorted(names - set(values))} not set"  # the example's names
        (out / "env" / env_name).write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    secrets = out / "secrets" / "alertmanager"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "pagerduty_routing_key").write_text("test-routing-key\n")
    (secrets / "slack_webhook_url").write_text("http://127.0.0.1:9/slack\n")

    # the <<: *dagster anchor's lists arrive shared between services: a copy of each to edit
    services = compose["services"] = {name: copy.deepcopy(service) for name, service in compose["services"].items()}
    for key in [k for k in compose if k.startswith("x-")]:
        compose.pop(key)
    for name, why in OMITTED.items():
        services.pop(name)
        topology.omitted[name] = why
    for name, service in services.items():
        service.pop("build", None)
        if service["image"] == "pricing-pipeline:0.1.0":
            service["image"] = image
        elif name == "postgres":
            topology.substitutions[name] = f"{service['image']} -> {postgres_image} (Debian postgresql-15)"
            service["image"] = postgres_image
        elif name in MONITORING_IMAGE_PROGRAMS:
            program = MONITORING_IMAGE_PROGRAMS[name]
            topology.substitutions[name] = f"{service['image']} -> {monitoring_image} ({program}, Debian)"
            service["image"] = monitoring_image
            service["entrypoint"] = [program]
        else:
            raise AssertionError(f"{name}: no stand-in and not omitted ({service['image']})")
        service["volumes"] = [absolute_volume(v, out, mounts) for v in service.get("volumes", [])]
        service["env_file"] = [str(out / "env" / Path(f).name) for f in service.get("env_file", [])]
        deps = service.get("depends_on", {})
        for gone in set(deps) & set(OMITTED):
            deps.pop(gone)
        if service.get("ports"):
            port = free_port()
            container_port = service["ports"][0].rsplit(":", 1)[1]
            service["ports"] = [f"127.0.0.1:{port}:{container_port}"]
            topology.ports[name] = port
    services["replay"] = replay_service(base_image, replay_files)
    topology.substitutions["replay"] = f"added: the provider APIs, recorded ({base_image}, python3 http.server)"
    compose["name"] = project
    topology.compose_file.write_text(yaml.safe_dump(compose, sort_keys=False))
    return topology


def absolute_volume(volume: str, out: Path, mounts: dict[str, str]) -> str:
    source, rest = volume.split(":", 1)
    if source in mounts:
        return f"{mounts[source]}:{rest}"
    if source.startswith("./secrets"):
        return f"{out / source[2:]}:{rest}"
    if source.startswith(("./", "../")):
        return f"{(DEPLOY / source).resolve()}:{rest}"
    return volume


def replay_service(base_image: str, replay_files: dict[str, Path]) -> dict:
    """The recorded provider responses, served where the code server's URLs point."""
    return {
        "image": base_image,
        "command": ["python3", "-m", "http.server", str(REPLAY_PORT), "--directory", "/replay"],
        "volumes": [f"{path}:/replay/{p}{path.suffix}:ro" for p, path in replay_files.items()],
        "networks": ["egress"],
        "healthcheck": {"test": ["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen("
                                 f"'http://127.0.0.1:{REPLAY_PORT}/', timeout=5)"],
                        "interval": "15s", "timeout": "5s", "retries": 5},
    }


if __name__ == "__main__":
    sys.path.insert(0, str(DEPLOY.parent))
    from pricing_dev.recordings import REPLAY_FILES

    written = write_standin_compose(Path(sys.argv[1]), image="localhost/pricing-pipeline:0.1.0",
                                    base_image="BASE", postgres_image="POSTGRES", monitoring_image="MONITORING",
                                    replay_files=REPLAY_FILES, project="pricing-pipeline")
    print(written.report())
