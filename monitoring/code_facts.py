"""Facts of the code written into monitoring/: the provider lists and the freshness threshold.

    python monitoring/code_facts.py            # rewrite the generated lines
    python monitoring/code_facts.py --check    # exit 1 if a file is out of date (a test runs it)

Rewritten in place: the ``absent(...)`` lines that make a registered provider without any
series count (PricingSyncSchedulerStopped, the freshness SLI), PricingSyncLowModelsUpdated's
per-provider minimums (``min_expected_models`` on each adapter), the provider label list in
METRICS.md, and the age after which prices are stale (``FRESHNESS_FAIL_AFTER`` in
settings.py, which the provider_freshness check and the dashboards use too). Adding a
provider needs no edit here: run this and commit the result.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pricing_pipeline.providers.registry import ADAPTERS  # noqa: E402
from pricing_pipeline.settings import FRESHNESS_FAIL_AFTER, FRESHNESS_WARN_AFTER  # noqa: E402

DEFAULT_MIN_MODELS = 50
ABSENT = re.compile(r"(?m)^(?P<indent> *)or on \(provider\) 0 \* absent\(pricing_last_sync_timestamp\{provider=\"[^\"]+\"\}\)\n"
                    r"(?:(?P=indent)or on \(provider\) 0 \* absent\(pricing_last_sync_timestamp\{provider=\"[^\"]+\"\}\)\n)*")
LOW_MODELS = re.compile(r"(?m)^(?P<indent> *)pricing_last_sync_models\{provider=\"[^\"]+\"\} < \d+\n"
                        r"(?:(?P=indent)or pricing_last_sync_models\{provider[=!~]+\"[^\"]+\"\} < \d+\n)*")
# "time() - ...last_sync[_attempt]_timestamp) > 8 * 3600" (the alerts) and "<= bool 8 * 3600" (the
# SLI); PricingSyncStaleData is the early warning (FRESHNESS_WARN_AFTER).
STALE_AFTER = re.compile(r"(pricing_last_sync(?:_attempt)?_timestamp\) (?:>|<= bool) )\d+ \* 3600")
STALE_WARNING = re.compile(r"(alert: PricingSyncStaleData\n(?:.*\n)*?.*pricing_last_sync_timestamp\) > )\d+ \* 3600")
METRICS_LIST = re.compile(r"(registry\.py`\):\n  )`[^`]*`")


def absent_lines(match: re.Match) -> str:
    indent = match["indent"]
    return "".join(f'{indent}or on (provider) 0 * absent(pricing_last_sync_timestamp{{provider="{name}"}})\n'
                   for name in ADAPTERS)


def low_models_lines(match: re.Match) -> str:
    indent = match["indent"]
    listed = [(name, a.min_expected_models) for name, a in ADAPTERS.items() if a.min_expected_models]
    lines = [f'pricing_last_sync_models{{provider="{name}"}} < {minimum}' for name, minimum in listed]
    others = "|".join(name for name, _ in listed)
    lines.append(f'pricing_last_sync_models{{provider!~"{others}"}} < {DEFAULT_MIN_MODELS}')
    return "".join(f"{indent}{'' if i == 0 else 'or '}{line}\n" for i, line in enumerate(lines))


def hours(delta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


def generated(path: Path) -> str:
    text = path.read_text()
    if path.suffix == ".yml":
        text = ABSENT.sub(absent_lines, text)
        text = STALE_AFTER.sub(lambda m: f"{m[1]}{hours(FRESHNESS_FAIL_AFTER)} * 3600", text)
        text = STALE_WARNING.sub(lambda m: f"{m[1]}{hours(FRESHNESS_WARN_AFTER)} * 3600", text)
        if "PricingSyncLowModelsUpdated" in text:
            text = LOW_MODELS.sub(low_models_lines, text)
    else:
        text = METRICS_LIST.sub(lambda m: m[1] + "`" + ", ".join(ADAPTERS) + "`", text)
    return text


FILES = [
    ROOT / "monitoring/prometheus/pricing_sync_alerts.yml",
    ROOT / "monitoring/prometheus/pricing_sync_slos.yml",
    ROOT / "monitoring/METRICS.md",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for path in FILES:
        text = generated(path)
        if text != path.read_text():
            stale.append(path)
            if not args.check:
                path.write_text(text)
    if args.check and stale:
        print("out of date (run python monitoring/code_facts.py):", *[str(p.relative_to(ROOT)) for p in stale])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
