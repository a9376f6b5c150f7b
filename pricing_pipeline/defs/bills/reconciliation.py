"""Reconcile a provider's stored bills (``billed_requests``) against our prices: the bills that
have no reconciliation yet, in batches, each written in one transaction.

Priced with a :class:`PriceBook` read once for the run, with a history window reaching back to
the oldest bill waiting (plus a margin): every bill is then priced from memory with the prices
live when it was created, by the same routine as ``request_cost`` (an instant older than the
window would still be answered from the database). The price book reads every provider's
listings; at the catalog sizes measured (benchmarks/endpoints.py) that is well under a second.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.gateway.reconcile import (
    OUTCOMES,
    BadBill,
    Bill,
    Outcome,
    provider_aliases,
    reconcile_one,
    with_aliases,
)
from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.redaction import redact
from pricing_pipeline.store import bills as stored

BATCH = 5000
WORST_LISTED = 20
HISTORY_MARGIN = timedelta(minutes=5)
# The bills pricing_bill_exact_ratio is computed over (by their created_at).
RATIO_WINDOW = timedelta(hours=24)
NEVER_REFRESH = timedelta(days=3650)  # one run prices with one snapshot of the prices


@dataclass(frozen=True)
class Mismatch:
    """One bill that was not exact, as the materialization lists it."""

    request_id: str
    model_id: str
    upstream_provider: str | None
    outcome: str
    ours_usd: Decimal | None
    billed_usd: Decimal | None
    error: str | None

    @property
    def difference_usd(self) -> Decimal | None:
        return None if self.ours_usd is None or self.billed_usd is None else self.ours_usd - self.billed_usd

    def weight(self) -> tuple:
        """Largest absolute differences first; errors after every difference."""
        difference = self.difference_usd
        return (difference is not None, abs(difference) if difference is not None else Decimal(0))


@dataclass
class RunSummary:
    pending: int = 0  # bills waiting when the run started
    counts: Counter = field(default_factory=Counter)
    fees_usd: Decimal = Decimal(0)
    before_history: int = 0
    worst: list[Mismatch] = field(default_factory=list)
    load_seconds: float | None = None

    @property
    def reconciled(self) -> int:
        return sum(self.counts.values())

    @property
    def exact_share(self) -> float | None:
        return self.counts["exact"] / self.reconciled if self.reconciled else None


def bill_of(row: Mapping[str, Any]) -> Bill:
    """A stored bill as reconcile reads it (its usage checked as the command checks a line)."""
    usage = row["usage"]
    if not isinstance(usage, dict):
        raise BadBill("usage is not an object")
    return Bill(str(row["request_id"]), str(row["model"]), row["upstream_provider"], row["created_at"], usage)


def reconciliation_row(row: Mapping[str, Any], outcome: Outcome, now: datetime, run_id: str | None) -> dict:
    ours = outcome.ours
    priced = None
    if ours is not None:
        priced = endpoint_id(ours.model_id, ours.upstream_tag) if ours.upstream_tag else ours.model_id
    return {
        "billed_request_id": row["id"],
        "provider": row["provider"],
        "model_id": row["model"],
        "upstream_provider": row["upstream_provider"],
        "created_at": row["created_at"],
        "outcome": outcome.outcome,
        "our_usd": ours.total_usd if ours is not None else None,
        "billed_usd": outcome.billed_usd,
        "fees_usd": outcome.fees_usd if outcome.billed_usd is not None else None,
        "priced_model_id": priced,
        # the billed price's start: every line of one request comes from one listing
        "price_valid_from": ours.lines[0].valid_from if ours is not None and ours.lines else None,
        "error": redact(outcome.error)[:2000] if outcome.error else None,
        "reconciled_at": now,
        "run_id": run_id,
    }


def reconcile_pending(store, provider: str, run_id: str | None = None, now: datetime | None = None,
                      batch: int = BATCH, log=None) -> RunSummary:
    """Reconcile every bill of ``provider`` that has no reconciliation yet."""
    now = now or datetime.now(UTC)
    summary = RunSummary()
    summary.pending, oldest = stored.oldest_unreconciled(store, provider)
    if not summary.pending:
        return summary
    window = max(now - oldest, timedelta(0)) + HISTORY_MARGIN
    book = PriceBook(store, history_window=window, check_every=NEVER_REFRESH)
    summary.load_seconds = book.load_seconds
    if log is not None:
        log.info(f"{summary.pending} {provider} bill(s) to reconcile, the oldest from {oldest.isoformat()}; "
                 f"price book of {book.models} listings read in {book.load_seconds:.2f}s")
    price = with_aliases(book.cost, provider_aliases(store, provider))  # bills may name a dated canonical slug
    after_id = 0
    while True:
        rows = stored.unreconciled(store, provider, after_id=after_id, limit=batch)
        if not rows:
            break
        after_id = rows[-1]["id"]
        written, mismatches = [], []
        for row in rows:
            try:
                outcome = reconcile_one(price, provider, bill_of(row))
            except BadBill as error:
                outcome = Outcome(None, "error", error=str(error))
            written.append(reconciliation_row(row, outcome, now, run_id))
            summary.counts[outcome.outcome] += 1
            summary.fees_usd += outcome.fees_usd
            summary.before_history += outcome.before_history
            if outcome.outcome != "exact":
                mismatches.append(Mismatch(str(row["request_id"]), row["model"], row["upstream_provider"],
                                           outcome.outcome, outcome.ours.total_usd if outcome.ours else None,
                                           outcome.billed_usd, outcome.error))
        stored.write_reconciliations(store, written)
        summary.worst = heapq.nlargest(WORST_LISTED, summary.worst + mismatches, key=Mismatch.weight)
    return summary


def ledger_facts(store, provider: str, now: datetime) -> dict[str, float]:
    """What the metrics read from each materialization: every reconciliation of the provider so
    far by outcome (``total_<outcome>``: only grows) and the exact share of the bills created in
    the last ``RATIO_WINDOW`` (``exact_ratio_24h``, absent without any)."""
    totals = stored.outcome_totals(store, provider)
    bills_24h, ratio = stored.exact_ratio_since(store, provider, now - RATIO_WINDOW)
    facts: dict[str, float] = {f"total_{outcome}": totals[outcome] for outcome in OUTCOMES}
    facts["bills_24h"] = bills_24h
    if ratio is not None:
        facts["exact_ratio_24h"] = ratio
    return facts
