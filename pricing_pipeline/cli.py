"""pricing-pipeline sync | prices | changes | cost | serve | held | accept | reject | reconcile"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing_pipeline import cli_holds, cli_reconcile
from pricing_pipeline.cli_support import PRICE_JSON_KEYS, ensure_dagster_home, open_store, print_table
from pricing_pipeline.gateway.listing import parse_instant as instant
from pricing_pipeline.pricing.records import SERVICE_TIERS
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pricing-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("sync", help="materialize provider partitions through Dagster and publish prices")
    sync.add_argument("--provider", action="append", choices=PROVIDER_NAMES, metavar="NAME",
                      help=f"provider to sync (repeatable; default: all of {', '.join(PROVIDER_NAMES)})")
    sync.add_argument("--workspace", default=settings().workspace, metavar="FILE",
                      help="Dagster workspace of the code location the runs are launched from (default: ./workspace.yaml)")
    sync.add_argument("--timeout", type=float, default=1800, metavar="SECONDS",
                      help="stop waiting for the runs after this long (they go on in the instance)")

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

    cost = commands.add_parser("cost", help="the exact cost of one request, with the prices live at an instant")
    cost.add_argument("--provider", required=True, metavar="P", choices=PROVIDER_NAMES, help="provider (partition)")
    cost.add_argument("--model", required=True, metavar="M", help="model id")
    for flag in COST_USAGE_FLAGS:
        cost.add_argument(f"--{flag}", type=non_negative_int, default=0, metavar="N")
    cost.add_argument("--seconds", type=non_negative_decimal, default=Decimal(0), metavar="S",
                      help="seconds of audio or video (per-second or per-minute prices)")
    cost.add_argument("--at", metavar="ISO8601", type=parse_instant,
                      help="when the request ran (default now; no offset: UTC); its UTC weekday picks weekday windows")
    cost.add_argument("--service-tier", choices=SERVICE_TIERS, default="standard")
    cost.add_argument("--region", metavar="R", help="a regional price, where the model has one")
    cost.add_argument("--upstream-provider", metavar="NAME",
                      help="the endpoint that served the request: the provider the response names (OpenRouter's "
                      "`provider`, e.g. Azure) or an endpoint tag (azure/eu); default: the model's headline price")
    cost.add_argument("--format", choices=("table", "json"), default="table", help="output format")

    serve = commands.add_parser("serve", help="prices, the cost of a request and the feeds over HTTP (read-only; "
                                "docs/serving.md)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--database-url", metavar="URL", help="the pricing database, read only (default: "
                       "PRICING_DATABASE_URL; prefer it: a URL here shows in the process list)")
    serve.add_argument("--feeds-dir", metavar="DIR", help="the feeds folder (default: PRICING_FEEDS_DIR)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="processes on the port, each with its own price book (default: 1)")

    handlers = {**cli_holds.add_commands(commands), **cli_reconcile.add_commands(commands)}
    args = parser.parse_args(argv)
    command = {"sync": run_sync, "prices": show_prices, "changes": show_changes, "cost": show_cost, "serve": run_serve,
               **handlers}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # e.g. `pricing-pipeline prices | head`
        sys.stderr.close()
        return 0


COST_USAGE_FLAGS = {
    "input-tokens": "input_tokens",
    "output-tokens": "output_tokens",
    "cache-read-tokens": "cache_read_tokens",
    "cache-write-tokens": "cache_write_tokens",
    "cache-write-1h-tokens": "cache_write_1h_tokens",
    "reasoning-tokens": "reasoning_tokens",
    "web-searches": "web_searches",
    "requests": "requests",
    "images": "images",
    "characters": "characters",
    "pixels": "pixels",
}


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"negative: {value}")
    return number


def non_negative_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise argparse.ArgumentTypeError(f"not a non-negative number: {value}")
    return number


def parse_instant(value: str) -> datetime:
    try:
        return instant(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value!r}") from None


# --- sync ----------------------------------------------------------------------------------


def run_sync(args: argparse.Namespace) -> int:
    """Submit one run per provider to the instance's run queue, wait, print one row each."""
    home = ensure_dagster_home()
    from dagster import DagsterInstance, DagsterRunStatus

    from pricing_pipeline import submit
    from pricing_pipeline.defs.runs import TRIGGER_TAG
    from pricing_pipeline.defs.sync.sensors import reconcile_sync_log

    providers = args.provider or list(PROVIDER_NAMES)
    target, target_args = submit.workspace_target(Path(args.workspace))
    store = open_store()
    started = time.perf_counter()
    cli_tags = {TRIGGER_TAG: "cli"}
    with DagsterInstance.get() as instance:
        with submit.workspace_context(instance, target) as workspace, \
                submit.daemon_for(instance, target_args, home / "pricing-cli" / "daemon.log") as daemon:
            run_ids = {
                provider: submit.submit_sync_run(instance, workspace, provider, cli_tags) for provider in providers
            }
            statuses = submit.wait_for_runs(instance, list(run_ids.values()), args.timeout, daemon)
            reconcile_sync_log(instance, store)  # before freshness reads each provider's last sync
            follow_ups, feeds_run, feeds_note = [], None, None
            if any(status == DagsterRunStatus.SUCCESS for status in statuses.values()):
                # the feeds after the CLI's syncs (the daemon's sensor leaves CLI runs to us)
                feeds_run = submit.submit_run(instance, workspace, "price_feeds_job", cli_tags)
                follow_ups.append(feeds_run)
            freshness_run, freshness_note = submit_freshness_run(instance, workspace, run_ids.values(), statuses,
                                                                 cli_tags)
            follow_ups += [freshness_run] if freshness_run else []
            if follow_ups:  # side by side: freshness does not read the feeds
                finished = submit.wait_for_runs(instance, follow_ups, args.timeout, daemon)
                if feeds_run and finished.get(feeds_run) != DagsterRunStatus.SUCCESS:
                    feeds_note = feeds_failed_note(feeds_run, finished.get(feeds_run))
                if freshness_run:
                    freshness_note = freshness_run_note(freshness_run, finished.get(freshness_run))
        rows = [sync_summary(provider, run_id, statuses.get(run_id), store, instance) for provider, run_id in run_ids.items()]
    print_table(rows, ["provider", "status", "models", "added", "changed", "removed", "held", "quarantined",
                       "endpoints_failed", "seconds", "error", "run_id"])
    sys.stdout.flush()  # the table first, then the notes
    print(f"{len(rows)} run(s) in {time.perf_counter() - started:.1f}s; logs: Dagster UI (make dev) → Runs", file=sys.stderr)
    if any(row["error_type"] == "connection" for row in rows):
        print("hint: no connection to the provider API. Without internet, replay the recorded responses: "
              "make sync REPLAY=../shared/fixtures/providers", file=sys.stderr)
    for note in (feeds_note, freshness_note):
        if note:
            print(note, file=sys.stderr)
    # the syncs decide the exit status (the prices are published); the feeds and freshness are
    # reported
    return 0 if all(row["status"] == "success" for row in rows) else 1


def feeds_failed_note(run_id: str, status: DagsterRunStatus | None) -> str:
    ended = status.value if status else "unfinished"
    return (f"feeds: price_feeds_job run {run_id} ended {ended}; the feeds still hold the prices before this "
            "sync (docs/runbooks/feeds-behind.md)")


FRESHNESS_LATER = "price_freshness_schedule evaluates it at its next tick"


def submit_freshness_run(instance, workspace, sync_run_ids, statuses, tags: dict[str, str]
                         ) -> tuple[str | None, str | None]:
    """Submit one price_freshness_check_job run once every sync run has finished, so each
    provider's fresh_<provider> check has a result now rather than at the schedule's next tick
    (up to 15 minutes). Returns its run id, or a one-line note saying why there is none."""
    from dagster import DagsterRunStatus

    from pricing_pipeline import submit
    from pricing_pipeline.defs.runs import FRESHNESS_CHECK_JOB_NAME

    finished = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    unfinished = sum(statuses.get(run_id) not in finished for run_id in sync_run_ids)
    if unfinished:  # judged now, it would miss what these runs publish
        return None, f"freshness not evaluated: {unfinished} sync run(s) unfinished; {FRESHNESS_LATER}"
    try:
        return submit.submit_run(instance, workspace, FRESHNESS_CHECK_JOB_NAME, tags), None
    except Exception as error:  # never the command's failure: the syncs' outcome is
        reason = (str(error).strip().splitlines() or [""])[0][:200]
        return None, f"freshness not evaluated: {type(error).__name__}: {reason}; {FRESHNESS_LATER}"


def freshness_run_note(run_id: str, status) -> str | None:
    """One line when the freshness run did not succeed (its log is in the UI), else None."""
    from dagster import DagsterRunStatus

    from pricing_pipeline.defs.runs import FRESHNESS_CHECK_JOB_NAME

    if status == DagsterRunStatus.SUCCESS:
        return None
    state = status.value.lower() if status else "unknown"
    return f"freshness: {FRESHNESS_CHECK_JOB_NAME} run {run_id} did not succeed ({state}); {FRESHNESS_LATER}"


def sync_summary(provider: str, run_id: str, run_status, store, instance) -> dict[str, Any]:
    log = store.sync_row(run_id) or {}
    record = instance.get_run_record_by_id(run_id)
    seconds = (
        f"{record.end_time - record.start_time:.1f}" if record and record.start_time and record.end_time else ""
    )
    if log.get("status") and log["status"] != "running":
        status = log["status"]  # what the run did: success, failure, blocked, canceled, ...
    else:  # not finished when we stopped waiting (or never started: no sync log row yet)
        status = f"unfinished ({run_status.value.lower() if run_status else 'unknown'})"
    error = log.get("error") or ""
    return {
        "provider": provider,
        "status": status,
        "models": log.get("models_fetched"),
        "added": log.get("models_added"),
        "changed": log.get("models_changed"),
        "removed": log.get("models_removed"),
        # held back by the price guard (decide with `held` / `accept` / `reject`), and unreadable entries
        "held": log.get("models_held"),
        "quarantined": log.get("models_quarantined"),
        # models whose endpoint prices could not be fetched (they kept the ones they had)
        "endpoints_failed": log.get("endpoint_fetch_failures"),
        "seconds": seconds,
        "error": error.splitlines()[0][:100] if error else "",
        "error_type": log.get("error_type"),
        "run_id": run_id,
    }


# --- prices / changes ----------------------------------------------------------------------


def show_prices(args: argparse.Namespace) -> int:
    from pricing_pipeline.gateway.listing import prices_json

    records = prices_json(open_store(), provider=args.provider, model_id=args.model, at=args.at)
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
            # set when a person accepted a change the price guard had held
            "accepted_by": row["accepted_by"],
            "accept_reason": row["accept_reason"],
            # the guard's own entries (kind held | rejected | hold_cleared): who decided and why
            **({"decided_by": row["decided_by"], "decision_reason": row["decision_reason"]} if row["decided_by"] else {}),
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


def show_cost(args: argparse.Namespace) -> int:
    from pricing_pipeline.gateway.cost import request_cost
    from pricing_pipeline.pricing.cost import CostError, Usage

    usage = Usage(**{field: getattr(args, flag.replace("-", "_")) for flag, field in COST_USAGE_FLAGS.items()},
                  seconds=args.seconds)
    try:
        cost = request_cost(args.provider, args.model, usage, at=args.at, service_tier=args.service_tier,
                            region=args.region, store=open_store(), upstream_provider=args.upstream_provider)
    except CostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    result = cost.to_json()
    if args.format == "json":
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print_table(result["lines"], ["component", "quantity", "unit", "unit_price_usd", "usd", "tier", "service_tier", "valid_from"])
    endpoint = f" at endpoint {cost.upstream_provider} ({cost.upstream_tag})" if cost.upstream_tag else " (headline price)"
    print(f"total_usd {result['total_usd']}  ({cost.provider}/{cost.model_id}{endpoint} at {result['at']})")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from pricing_pipeline.gateway.serve import serve
    from pricing_pipeline.store import default_database_url

    return serve(args.database_url or default_database_url(), args.feeds_dir or settings().feeds_directory(),
                 args.host, args.port, args.workers)


def _transition(change: dict[str, Any], key: str) -> str:
    before = (change["before"] or {}).get(key)
    after = (change["after"] or {}).get(key)
    if change["before"] is None:
        return str(after)
    if change["after"] is None:
        return f"{before} -> (removed)"
    return str(after) if before == after else f"{before} -> {after}"


if __name__ == "__main__":
    sys.exit(main())
