"""pricing-pipeline held | accept | reject: a person decides what the price guard held.

`held` reads the database. `accept` and `reject` check that something is held for each named
model (exit 2 and one line on stderr when not), then submit a ``price_review_job`` run (the
UI's Runs page shows it) with the proposals the person was shown: a proposal upstream has
replaced since is refused by the run (exit 2, saying so). After an accept the feeds are
rewritten, as after a sync.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from pricing_pipeline.cli_support import ensure_dagster_home, open_store, price_json, print_table
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.settings import settings

REVIEW_OP = "review_held_prices"
EXIT_NOTHING_TO_DECIDE = 2


def add_commands(commands) -> dict:
    held = commands.add_parser("held", help="models the price guard held for a person, with what other sources say")
    held.add_argument("--provider", metavar="P", choices=PROVIDER_NAMES, help="only this provider (partition)")
    held.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    for name, verb in (("accept", "publish the held proposals"), ("reject", "keep the published prices")):
        parser = commands.add_parser(name, help=f"{verb} (a price_review_job run, audited in `changes`)")
        parser.add_argument("--provider", required=True, metavar="P", choices=PROVIDER_NAMES)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--model", nargs="+", action="extend", metavar="M", help="held model id(s)")
        which.add_argument("--all", action="store_true", help="every model held for the provider")
        parser.add_argument("--by", required=True, metavar="NAME", help="who decides")
        parser.add_argument("--reason", required=True, metavar="TEXT", help="why")
        parser.add_argument("--workspace", default=settings().workspace, metavar="FILE")
        parser.add_argument("--timeout", type=float, default=600, metavar="SECONDS")
    return {"held": show_held, "accept": decide, "reject": decide}


def held_rows(store, provider: str | None) -> list[dict[str, Any]]:
    """The `held` JSON: provider, model_id, rule, reason, held_since, published, proposed
    (price records as `prices` prints them), plus other_sources (the same model elsewhere)."""
    from pricing_pipeline.pricing.matching import other_sources
    from pricing_pipeline.store.rows import record_from_json

    holds = store.held(provider)
    if not holds:
        return []
    everything = store.prices()
    live = {(p.record.provider, p.record.model_id): p for p in everything}
    records = [p.record for p in everything]
    out = []
    for row in holds:
        current = live.get((row["provider"], row["model_id"]))
        proposed = None if row["proposed"] is None else record_from_json(row["proposed"])
        subject = proposed or (current.record if current else None)
        out.append({
            "provider": row["provider"],
            "model_id": row["model_id"],
            "rule": row["rules"],
            "reason": row["reason"],
            "held_since": row["held_since"].isoformat(),
            "published": price_json(current.record, current.valid_from) if current else None,
            "proposed": price_json(proposed, None) if proposed else None,
            "other_sources": [price_json(r, live[(r.provider, r.model_id)].valid_from)
                              for r in (other_sources(subject, records) if subject else [])],
        })
    return out


def show_held(args: argparse.Namespace) -> int:
    rows = held_rows(open_store(), args.provider)
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    print_table(
        [
            {
                "provider": r["provider"],
                "model_id": r["model_id"],
                "rule": r["rule"],
                "held_since": r["held_since"][:16],
                "published in/out $/1M": _short(r["published"]),
                "proposed in/out $/1M": _short(r["proposed"]) if r["proposed"] else "(removed upstream)",
                "other sources": "; ".join(f"{o['provider']} {_short(o)}" for o in r["other_sources"]) or "-",
                "reason": r["reason"][:120],
            }
            for r in rows
        ],
        ["provider", "model_id", "rule", "held_since", "published in/out $/1M", "proposed in/out $/1M",
         "other sources", "reason"],
    )
    return 0


def _short(price: dict | None) -> str:
    if price is None:
        return "(not published)"
    return f"{price['input_usd_per_mtok']}/{price['output_usd_per_mtok']}"


def decide(args: argparse.Namespace) -> int:
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    from pricing_pipeline import submit
    from pricing_pipeline.defs.runs import PARTITION_TAG, REVIEW_JOB_NAME, TRIGGER_TAG

    store = open_store()
    held = {row["model_id"]: row for row in store.held(args.provider)}
    if args.all and not held:
        print(f"error: {args.provider}: nothing is held", file=sys.stderr)
        return EXIT_NOTHING_TO_DECIDE
    for model_id in args.model or []:
        if model_id not in held:
            print(f"error: {store.nothing_held_message(args.provider, model_id)}", file=sys.stderr)
            return EXIT_NOTHING_TO_DECIDE
    chosen = list(held) if args.all else args.model
    config = {
        "decision": args.command,
        "models": [] if args.all else chosen,
        "all": bool(args.all),
        "by": args.by,
        "reason": args.reason,
        "expected_proposals": {m: held[m]["proposal"] for m in chosen},
    }
    home = ensure_dagster_home()
    target, target_args = submit.workspace_target(Path(args.workspace))
    tags = {TRIGGER_TAG: "cli", PARTITION_TAG: args.provider}
    with DagsterInstance.get() as instance:
        with submit.workspace_context(instance, target) as workspace, \
                submit.daemon_for(instance, target_args, home / "pricing-cli" / "daemon.log") as daemon:
            run_id = submit.submit_run(instance, workspace, REVIEW_JOB_NAME, tags, {"ops": {REVIEW_OP: {"config": config}}})
            status = submit.wait_for_runs(instance, [run_id], args.timeout, daemon).get(run_id)
            if status == DagsterRunStatus.SUCCESS and args.command == "accept":
                feeds = submit.submit_run(instance, workspace, "price_feeds_job", {TRIGGER_TAG: "cli"})
                submit.wait_for_runs(instance, [feeds], args.timeout, daemon)
        failures = [
            e.dagster_event.step_failure_data.error.message.strip()
            for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        ]
    if status != DagsterRunStatus.SUCCESS:
        message = failures[0].splitlines()[0] if failures else f"run {run_id} ended {status.value if status else 'unknown'}"
        print(f"error: {message.removeprefix('dagster._core.definitions.events.Failure: ')} (run {run_id})", file=sys.stderr)
        return EXIT_NOTHING_TO_DECIDE if "refused" in message or "nothing is held" in message else 1
    decided = defaultdict(list)
    for row in store.holds_history(args.provider):
        if row["resolved_run_id"] == run_id:
            decided[row["status"]].append(row["model_id"])
    for status_name, models in decided.items():
        print(f"{args.provider}: {status_name} {len(models)}: {', '.join(sorted(models))} (run {run_id})")
    return 0
