"""The alert drill's configuration, GENERATED from the real files in monitoring/ so the drill
exercises exactly what production loads, only faster. Nothing here is committed as YAML: the
drill writes the files into its temp dir (``python -m pricing_pipeline_tests.drill.generate
DIR`` writes them for a look).

What changes, and why:

Rule files (monitoring/prometheus/*.yml)
  * pricing_sync_recording.yml and pricing_sync_alerts.yml: time is compressed, ONE HOUR
    BECOMES ONE SECOND (factor 1/3600). Every PromQL range (``[8h]``), offset (``offset 1d``)
    and every alert's ``for:`` is divided by 3600: the windows 6h/1d/3d/7d become 6s/24s/72s/
    168s, ``for: 15m`` becomes 250ms (i.e. "fires on the next evaluation"). The windowed
    recording rules can only answer once Prometheus has one full window of history, so
    shortening ``for:`` alone would leave e.g. PricingSyncHighErrorRate (1d window, no ``for:``)
    silent for a day. Nothing else changes: the same groups, rule names, expressions (up to the
    durations), labels and annotations (test_alert_drill checks this).
  * NOT compressed: numeric thresholds inside expressions (ages such as ``8 * 3600`` seconds,
    ``> 60`` seconds of duration, model counts). Age-based alerts (SchedulerStopped, StaleData,
    NoRunsRecorded, HeartbeatStale) therefore keep their real thresholds and only fire in the
    drill through their "series absent" branches (e.g. for the providers the drill never syncs).
  * pricing_sync_slos.yml is copied unchanged: its windows (5m .. 30d of avg_over_time over
    per-evaluation SLIs) would fall below the 1s evaluation interval if divided by 3600, and its
    burn-rate alerts carry no provider label and are not asserted. It is loaded so that
    Prometheus evaluates the complete rule set against real data (the drill checks every rule's
    health). Its event-based SLIs read the compressed recording rules.

Prometheus (monitoring/prometheus/prometheus.yml)
  * scrape_interval, scrape_timeout and evaluation_interval 1s (per-job intervals dropped);
  * rule_files point at the generated copies;
  * the local default addresses (Pushgateway :9091, blackbox :9115, Alertmanager :9093,
    Prometheus :9090, webserver :3000) become the drill's free 127.0.0.1 ports. Scrape jobs,
    honor_labels, probe module and relabeling are kept as they are.

Alertmanager (monitoring/alertmanager/alertmanager.yml)
  * the same routing tree, matchers, ``continue``, group_by, inhibit rules and receiver names;
  * every receiver's pagerduty/slack configs are replaced by ONE webhook_config posting to the
    drill's local receiver at ``<base>/<receiver name>`` (send_resolved as in the original);
    receivers without configs (``null``) stay empty: nobody is notified, as in production;
  * group_wait 1s, group_interval 1s (30s / 5m in production); the global Slack URL file is
    dropped (no Slack config is left to use it).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import yaml

from pricing_pipeline_tests.monitoring._support import ALERTMANAGER_CONFIG, PROMETHEUS_DIR, RULE_FILES

TIME_COMPRESSION = 3600  # one hour of production time is one second of drill time
COMPRESSED_RULE_FILES = {"pricing_sync_recording.yml", "pricing_sync_alerts.yml"}
INTERVAL = "1s"  # scrape, scrape timeout and rule evaluation
AM_GROUP_WAIT = "1s"
AM_GROUP_INTERVAL = "1s"

_UNIT_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
# A duration literal of PromQL: a range / subquery ``[5m]``, ``[1h:1m]`` or an ``offset 1d``.
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"\boffset\s+(-?)({_DURATION})\b")


def parse_duration(text: str) -> int:
    """Milliseconds of a Prometheus duration such as ``1d``, ``1h30m``, ``250ms``."""
    parts = re.findall(r"(\d+)(ms|[smhdwy])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


def format_duration(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def compress(duration: str) -> str:
    """``duration`` divided by TIME_COMPRESSION, rounded up to a whole millisecond."""
    return format_duration(max(1, math.ceil(parse_duration(duration) / TIME_COMPRESSION)))


def compress_expr(expr: str) -> str:
    """The PromQL expression with every range, subquery and offset duration compressed."""

    def range_(m: re.Match) -> str:
        rng, step = m.group(1), m.group(2)
        if ":" not in m.group(0):
            return f"[{compress(rng)}]"
        return f"[{compress(rng)}:{compress(step) if step else ''}]"

    expr = _RANGE.sub(range_, expr)
    return _OFFSET.sub(lambda m: f"offset {m.group(1)}{compress(m.group(2))}", expr)


def durations_masked(expr: str) -> str:
    """The expression with every duration literal replaced by a placeholder (for comparing a
    generated expression with its original)."""
    expr = _RANGE.sub(lambda m: "[D:D]" if ":" in m.group(0) else "[D]", expr)
    return _OFFSET.sub("offset D", expr)


def compress_rules(document: dict) -> dict:
    out = {"groups": []}
    for group in document["groups"]:
        group = dict(group)
        if "interval" in group:  # none today; would otherwise override the 1s evaluation
            group["interval"] = compress(group["interval"])
        rules = []
        for rule in group["rules"]:
            rule = dict(rule)
            rule["expr"] = compress_expr(rule["expr"])
            if "for" in rule:
                rule["for"] = compress(rule["for"])
            rules.append(rule)
        group["rules"] = rules
        out["groups"].append(group)
    return out


class _BlockDumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def _dump(data: dict, source: Path) -> str:
    header = (
        f"# GENERATED for the alert drill from {source.relative_to(source.parents[2])} by\n"
        "# pricing_pipeline_tests/drill/generate.py (see its docstring for what changes). Do not edit.\n"
    )
    return header + yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=120)


def write_rule_files(out_dir: Path) -> list[Path]:
    """The drill's copies of every rule file, in the order of monitoring/prometheus."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in RULE_FILES:
        document = yaml.safe_load(source.read_text())
        if source.name in COMPRESSED_RULE_FILES:
            document = compress_rules(document)
        target = out_dir / source.name
        target.write_text(_dump(document, source))
        written.append(target)
    return written


def _replace_strings(node, mapping: dict[str, str]):
    if isinstance(node, dict):
        return {k: _replace_strings(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, mapping) for v in node]
    if isinstance(node, str):
        for old, new in mapping.items():
            node = node.replace(old, new)
        return node
    return node


def write_prometheus_config(
    out_dir: Path,
    rule_files: list[Path],
    *,
    prometheus: str,
    pushgateway: str,
    blackbox: str,
    alertmanager: str,
    webserver: str,
) -> Path:
    """monitoring/prometheus/prometheus.yml with 1s intervals, the generated rule files and
    the drill's addresses (``host:port``; ``webserver`` a base URL)."""
    source = PROMETHEUS_DIR / "prometheus.yml"
    config = yaml.safe_load(source.read_text())
    config["global"].update(scrape_interval=INTERVAL, scrape_timeout=INTERVAL, evaluation_interval=INTERVAL)
    by_name = {p.name: p for p in rule_files}
    config["rule_files"] = [str(by_name[Path(name).name].resolve()) for name in config["rule_files"]]
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
    config = _replace_strings(
        config,
        {
            "http://localhost:3000": webserver,
            "localhost:9090": prometheus,
            "localhost:9091": pushgateway,
            "localhost:9093": alertmanager,
            "localhost:9115": blackbox,
        },
    )
    left = re.findall(r"localhost:\d+", yaml.safe_dump(config))
    assert not left, f"prometheus.yml has addresses the drill does not map: {left}"
    target = out_dir / "prometheus.yml"
    target.write_text(_dump(config, source))
    return target


NOTIFIER_CONFIGS = ("pagerduty_configs", "slack_configs", "email_configs", "opsgenie_configs", "webhook_configs",
                    "victorops_configs", "pushover_configs", "wechat_configs", "telegram_configs", "sns_configs",
                    "webex_configs", "discord_configs")


def alertmanager_config(webhook_base: str) -> dict:
    """monitoring/alertmanager/alertmanager.yml with webhooks to ``<webhook_base>/<receiver>``."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for key in [k for k in config.get("global", {}) if k.startswith(("slack_", "pagerduty_", "opsgenie_"))]:
        del config["global"][key]
    config["route"].update(group_wait=AM_GROUP_WAIT, group_interval=AM_GROUP_INTERVAL)
    receivers = []
    for receiver in config["receivers"]:
        notifiers = [c for key in NOTIFIER_CONFIGS for c in receiver.get(key, [])]
        replaced = {"name": receiver["name"]}
        if notifiers:
            replaced["webhook_configs"] = [{
                "url": f"{webhook_base}/{receiver['name']}",
                "send_resolved": all(c.get("send_resolved", True) for c in notifiers),
                "max_alerts": 0,
            }]
        receivers.append(replaced)
    config["receivers"] = receivers
    return config


def write_alertmanager_config(out_dir: Path, webhook_base: str) -> Path:
    target = out_dir / "alertmanager.yml"
    target.write_text(_dump(alertmanager_config(webhook_base), ALERTMANAGER_CONFIG))
    return target


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "drill-config")
    rules = write_rule_files(out)
    write_prometheus_config(out, rules, prometheus="127.0.0.1:9090", pushgateway="127.0.0.1:9091",
                            blackbox="127.0.0.1:9115", alertmanager="127.0.0.1:9093",
                            webserver="http://127.0.0.1:3000")
    write_alertmanager_config(out, "http://127.0.0.1:8080")
    print(f"wrote {out}/")


if __name__ == "__main__":
    main(sys.argv[1:])
