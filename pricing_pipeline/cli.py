"""pricing-pipeline sync | prices | changes"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pricing_pipeline.pricing.units import decimal_str
from pricing_pipeline.providers.registry import PROVIDER_NAMES

PRICE_JSON_KEYS = (
    "provider",
    "model_id",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cache_read_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "valid_from",
)
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pricing-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("sync", help="materialize provider partitions through Dagster and publish prices")
    sync.add_argument("--provider", action="append", choices=PROVIDER_NAMES, metavar="NAME",
                      help=f"provider to sync (repeatable; default: all of {', '.join(PROVIDER_NAMES)})")

    prices = commands.add_parser("prices", help="current or point-in-time prices")
    prices.add_argument("--provider", metavar="P", choices=PROVIDER_NAMES, help="only this provider (partition)")
    prices.add_argument("--model", metavar="M", help="only this model id")
    prices.add_argument("--at", metavar="ISO8601", type=parse_instant,
                        help="prices live at this instant (no offset: UTC)")
    prices.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format; prices are decimal strings (USD per 1M tokens)")

    changes = commands.add_parser("changes", help="added / changed / removed models")
    changes.add_argument("--provider", metavar="P", choices=PROVIDER_NAMES, help="only this provider (partition)")
    changes.add_argument("--since", metavar="ISO8601", type=parse_instant,
                         help="changes at or after this instant (no offset: UTC)")
    changes.add_argument("--format", choices=("table", "json"), default="table", help="output format")

    args = parser.parse_args(argv)
    command = {"sync": run_sync, "prices": show_prices, "changes": show_changes}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # e.g. `pricing-pipeline prices | head`
        sys.stderr.close()
        return 0


def parse_instant(value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


# --- sync ----------------------------------------------------------------------------------


def ensure_dagster_home() -> Path:
    """Runs must land on a persistent instance so `dagster dev` shows them."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(Path.cwd() / ".dagster_home")
        os.environ["DAGSTER_HOME"] = home
        print(f"DAGSTER_HOME not set; using {home}", file=sys.stderr)
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    config = Path.cwd() / "dagster.yaml"
    if config.exists() and not (path / "dagster.yaml").exists():
        (path / "dagster.yaml").symlink_to(config)
    return path


def run_sync(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    from dagster import DagsterInstance

    from pricing_pipeline.definitions import defs
    from pricing_pipeline.defs.sync.jobs import SYNC_JOB_NAME
    from pricing_pipeline.defs.sync.schedules import TRIGGER_TAG

    job = defs.resolve_job_def(SYNC_JOB_NAME)
    store = open_store()
    rows = []
    with DagsterInstance.get() as instance:
        for provider in args.provider or PROVIDER_NAMES:
            started = time.perf_counter()
            result = job.execute_in_process(
                partition_key=provider,
                instance=instance,
                raise_on_error=False,
                run_config=QUIET_RUN_CONFIG,
                tags={TRIGGER_TAG: "cli"},
            )
            seconds = time.perf_counter() - started
            log = store.sync_row(result.run_id) or {}
            rows.append(
                {
                    "provider": provider,
                    "status": log.get("status") or ("success" if result.success else "failure"),
                    "models": log.get("models_fetched"),
                    "added": log.get("models_added"),
                    "changed": log.get("models_changed"),
                    "removed": log.get("models_removed"),
                    "seconds": f"{seconds:.1f}",
                    "error": (log.get("error") or "").splitlines()[0][:100] if log.get("error") else "",
                }
            )
    print_table(rows, ["provider", "status", "models", "added", "changed", "removed", "seconds", "error"])
    return 0 if all(row["status"] == "success" for row in rows) else 1


# --- prices / changes ----------------------------------------------------------------------


def open_store():
    from pricing_pipeline.store import PricingStore, default_database_url

    store = PricingStore(default_database_url())
    store.migrate()
    return store


def show_prices(args: argparse.Namespace) -> int:
    published = open_store().prices(provider=args.provider, model_id=args.model, at=args.at)
    records = [
        {
            "provider": p.record.provider,
            "model_id": p.record.model_id,
            **{key: decimal_str(getattr(p.record, key)) for key in PRICE_JSON_KEYS[2:6]},
            "valid_from": p.valid_from.isoformat(),
            "model_type": p.record.model_type,
            "components": [c.to_json() for c in p.record.components()],
        }
        for p in published
    ]
    if args.format == "json":
        json.dump(records, sys.stdout, indent=2)
        print()
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=PRICE_JSON_KEYS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    else:
        for record in records:
            # The four base token prices are columns; every other component is counted.
            base = sum(record[key] is not None for key in PRICE_JSON_KEYS[2:6])
            record["more_components"] = len(record["components"]) - base or ""
        print_table(records, [*PRICE_JSON_KEYS[:6], "more_components", "valid_from"])
    return 0


def show_changes(args: argparse.Namespace) -> int:
    rows = open_store().changes(provider=args.provider, since=args.since)
    records = [
        {
            "provider": row["provider"],
            "model_id": row["model_id"],
            "kind": row["kind"],
            "before": row["before"],
            "after": row["after"],
            "changed_at": row["changed_at"].isoformat(),
            # set when an operator accepted a change the price guard had blocked
            "accepted_by": row["accepted_by"],
            "accept_reason": row["accept_reason"],
        }
        for row in rows
    ]
    if args.format == "json":
        json.dump(records, sys.stdout, indent=2)
        print()
    else:
        print_table(
            [
                {
                    "changed_at": r["changed_at"],
                    "provider": r["provider"],
                    "model_id": r["model_id"],
                    "kind": r["kind"],
                    "input $/1M": _transition(r, "input_usd_per_mtok"),
                    "output $/1M": _transition(r, "output_usd_per_mtok"),
                }
                for r in records
            ],
            ["changed_at", "provider", "model_id", "kind", "input $/1M", "output $/1M"],
        )
    return 0


def _transition(change: dict[str, Any], key: str) -> str:
    before = (change["before"] or {}).get(key)
    after = (change["after"] or {}).get(key)
    if change["before"] is None:
        return str(after)
    if change["after"] is None:
        return f"{before} -> (removed)"
    return str(after) if before == after else f"{before} -> {after}"


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    if not rows:
        print("(none)")


if __name__ == "__main__":
    sys.exit(main())
