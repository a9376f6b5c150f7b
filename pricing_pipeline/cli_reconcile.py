"""pricing-pipeline reconcile: a gateway's logged bills against our prices (gateway/reconcile.py).

One OpenRouter chat-completion response per line (without ``choices``): each is billed with
our prices live when it ran, at the endpoint that served it, and compared with what the
provider charged. Exit 0 whatever the outcome (a report, not a gate); 2 when the file cannot
be opened.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from pricing_pipeline.cli_support import open_store, print_table
from pricing_pipeline.providers.registry import PROVIDER_NAMES

# Bills may be old: the price book holds the whole history, so every bill is priced from memory.
WHOLE_HISTORY = timedelta(days=36500)


def add_commands(commands) -> dict:
    parser = commands.add_parser("reconcile", help="compare logged bills (usage.cost) with our prices at the "
                                 "endpoint that served each request")
    parser.add_argument("--provider", required=True, metavar="P", choices=PROVIDER_NAMES,
                        help="the provider the bills are from (openrouter)")
    parser.add_argument("file", metavar="FILE.jsonl", help="one response per line: id, model, provider, created, usage "
                        "(- for standard input)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    return {"reconcile": reconcile}


def reconcile(args: argparse.Namespace) -> int:
    from pricing_pipeline.gateway.pricebook import PriceBook
    from pricing_pipeline.gateway.reconcile import provider_aliases, reconcile_lines, with_aliases

    try:
        source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    store = open_store()
    book = PriceBook(store, history_window=WHOLE_HISTORY)
    # a bill's model may be the provider's dated canonical name (OpenRouter's canonical_slug)
    price = with_aliases(book.cost, provider_aliases(store, args.provider))
    with source:
        report = reconcile_lines(price, args.provider, source).to_json()
    if args.format == "json":
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    print(f"{report['records']} bills: {report['exact']} exact, {report['within_1pct']} within 1%, {report['off']} off, "
          f"{report['errors']} errors; exact share {report['exact_share']}; fees {report['fees_usd']} USD")
    rows = [row for row in report["by_model"] if row["off"]]
    if rows:
        print("\nnot exact, by model and upstream provider:")
        print_table(rows, ["model_id", "upstream_provider", "records", "exact", "off"])
    if report["not_exact"]:
        print("\nfirst records not exact:")
        print_table(report["not_exact"], ["line", "model_id", "upstream_provider", "upstream_tag", "outcome", "ours_usd",
                                          "billed_usd", "error"])
    return 0
