"""What the provider billed against what our prices say: the one check of our prices against the
provider's own ledger.

A bill is what a gateway logs of an OpenRouter chat-completion response without its
``choices``: ``id, model, provider, created`` (unix seconds) and the verbatim ``usage``. It is
billed with our prices live at ``created`` at the endpoint that served it (``provider``), and
compared with ``usage.cost_details.upstream_inference_cost`` when present, else ``usage.cost``.
Money outside the upstream's charge (the web plugin, OpenRouter's BYOK fee) is reported apart
as ``fees_usd``.

The usage becomes our :class:`Usage` by OpenRouter's documented fields: ``prompt_tokens``
(cache reads and writes included), ``completion_tokens`` (reasoning included),
``prompt_tokens_details.cached_tokens`` / ``cache_write_tokens`` / ``audio_tokens`` and
``completion_tokens_details.reasoning_tokens`` / ``image_tokens``; a part without its own price
on the endpoint stays in its parent (pricing/cost.py).

A bill older than our first observation of the model (a deployment reconciling the bills it
had before it started) is priced with the first price we observed, and counted as
``before_history``: the comparison says whether that price is what the provider billed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pricing_pipeline.pricing.cost import CostError, NotListedAt, RequestCost, UnknownModel, Usage
from pricing_pipeline.providers.errors import UpstreamError

EXACT_USD = Decimal("1e-9")
WITHIN_SHARE = Decimal("0.01")
OUTCOMES = ("exact", "within_1pct", "off", "error")


class BadBill(ValueError):
    """A bill that cannot be read (reported with its line number, never fatal)."""


@dataclass(frozen=True)
class Bill:
    request_id: str
    model: str
    upstream_provider: str | None
    created: datetime
    usage: Mapping[str, Any]

    @classmethod
    def from_json(cls, obj: Any) -> Bill:
        if not isinstance(obj, dict):
            raise BadBill(f"expected a JSON object, got {type(obj).__name__}")
        missing = [key for key in ("id", "model", "created", "usage") if obj.get(key) is None]
        if missing:
            raise BadBill(f"missing {', '.join(missing)}")
        created, usage = obj["created"], obj["usage"]
        if isinstance(created, bool) or not isinstance(created, (int, float, Decimal)):
            raise BadBill(f"created is {created!r}, expected unix seconds")
        if not isinstance(usage, dict):
            raise BadBill("usage is not an object")
        provider = obj.get("provider")
        if provider is not None and not isinstance(provider, str):
            raise BadBill(f"provider is {provider!r}, expected a string")
        return cls(str(obj["id"]), str(obj["model"]), provider, datetime.fromtimestamp(float(created), UTC), usage)

    def to_usage(self) -> Usage:
        u = self.usage
        prompt, completion = _count(u, "prompt_tokens"), _count(u, "completion_tokens")
        prompt_details = u.get("prompt_tokens_details") or {}
        completion_details = u.get("completion_tokens_details") or {}
        return Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=_count(prompt_details, "cached_tokens"),
            cache_write_tokens=_count(prompt_details, "cache_write_tokens"),
            audio_input_tokens=_count(prompt_details, "audio_tokens"),
            reasoning_tokens=_count(completion_details, "reasoning_tokens"),
            image_output_tokens=_count(completion_details, "image_tokens"),
        )

    def billed(self) -> tuple[Decimal, Decimal]:
        """(what the upstream charged, fees outside it)."""
        cost = _money(self.usage.get("cost"), "usage.cost")
        upstream = (self.usage.get("cost_details") or {}).get("upstream_inference_cost")
        if upstream is None:
            if cost is None:
                raise BadBill("usage has neither cost nor cost_details.upstream_inference_cost")
            return cost, Decimal(0)
        upstream = _money(upstream, "usage.cost_details.upstream_inference_cost")
        if cost is None:
            return upstream, Decimal(0)
        if self.usage.get("is_byok"):
            return upstream, cost  # OpenRouter's fee on a request billed to the user's own key
        return upstream, max(cost - upstream, Decimal(0))


def _count(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadBill(f"{key} is {value!r}, expected a token count")
    return value


def _money(value: Any, key: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise BadBill(f"{key} is {value!r}, expected a number") from None
    if isinstance(value, bool) or not amount.is_finite() or amount < 0:
        raise BadBill(f"{key} is {value!r}, expected a non-negative number")
    return amount


@dataclass(frozen=True)
class Outcome:
    """One bill reconciled."""

    bill: Bill | None
    outcome: str  # exact | within_1pct | off | error
    ours: RequestCost | None = None
    billed_usd: Decimal | None = None
    fees_usd: Decimal = Decimal(0)
    error: str | None = None
    line: int | None = None
    before_history: bool = False

    @property
    def difference_usd(self) -> Decimal | None:
        return None if self.ours is None or self.billed_usd is None else self.ours.total_usd - self.billed_usd


def judge(ours: Decimal, billed: Decimal) -> str:
    difference = abs(ours - billed)
    if difference <= EXACT_USD:
        return "exact"
    if difference <= abs(billed) * WITHIN_SHARE:
        return "within_1pct"
    return "off"


def with_aliases(price, aliases: Mapping[str, str]):
    """``price``, answering for a model named by an alias (a bill's ``model`` may be the
    provider's dated canonical name rather than the listed id) as for the model it names."""
    if not aliases:
        return price

    def priced(provider: str, model_id: str, *args, **kwargs):
        try:
            return price(provider, model_id, *args, **kwargs)
        except UnknownModel:
            if model_id not in aliases:
                raise
            return price(provider, aliases[model_id], *args, **kwargs)

    return priced


def provider_aliases(store, provider: str) -> dict[str, str]:
    """The aliases of ``provider``'s models, from the newest list body the store archived."""
    from pricing_pipeline.providers.registry import get_adapter

    snapshots = store.raw_snapshots(provider)
    if not snapshots:
        return {}
    try:
        return get_adapter(provider).aliases(store.raw_snapshot_body(snapshots[-1]["id"]))
    except (UpstreamError, ValueError, TypeError, KeyError):  # an unreadable archived body: no aliases
        return {}


def reconcile_one(price, provider: str, bill: Bill, line: int | None = None) -> Outcome:
    """Bill one record with ``price`` (``PriceBook.cost``-like: provider, model, usage, at=,
    upstream_provider=) and compare. Never raises for a bad record: its outcome is ``error``."""
    try:
        billed, fees = bill.billed()
        usage = bill.to_usage()
    except (BadBill, CostError) as error:
        return Outcome(bill, "error", error=str(error), line=line)
    before_history = False
    try:
        try:
            ours = price(provider, bill.model, usage, at=bill.created, upstream_provider=bill.upstream_provider)
        except NotListedAt as error:
            if error.first_listed is None or bill.created >= error.first_listed:
                raise
            # older than what we observed: the first price we have is the one to compare
            before_history = True
            ours = price(provider, bill.model, usage, at=error.first_listed, upstream_provider=bill.upstream_provider)
    except CostError as error:
        return Outcome(bill, "error", billed_usd=billed, fees_usd=fees, error=str(error), line=line)
    return Outcome(bill, judge(ours.total_usd, billed), ours, billed, fees, line=line, before_history=before_history)


@dataclass
class Report:
    """The reconciliation of many bills: the command's JSON (a contract) and its table."""

    outcomes: list[Outcome] = field(default_factory=list)

    def to_json(self, details: int = 50) -> dict[str, Any]:
        counts = Counter(o.outcome for o in self.outcomes)
        records = len(self.outcomes)
        groups: dict[tuple[str, str | None], Counter] = {}
        for o in self.outcomes:
            key = (o.bill.model, o.bill.upstream_provider) if o.bill else ("(unreadable)", None)
            groups.setdefault(key, Counter()).update({"records": 1, "exact": o.outcome == "exact"})
        by_model = [
            {"model_id": model, "upstream_provider": upstream, "records": c["records"], "exact": c["exact"],
             "off": c["records"] - c["exact"]}
            for (model, upstream), c in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        ]
        not_exact = [o for o in self.outcomes if o.outcome != "exact"]
        return {
            "records": records,
            "exact": counts["exact"],
            "within_1pct": counts["within_1pct"],
            "off": counts["off"],
            "errors": counts["error"],
            "exact_share": format(Decimal(counts["exact"]) / records, ".6f") if records else None,
            "fees_usd": format(sum((o.fees_usd for o in self.outcomes), Decimal(0)).normalize(), "f"),
            "before_history": sum(o.before_history for o in self.outcomes),
            "by_model": by_model,
            # the records that are not exact, with what differs (the first ``details``)
            "not_exact": [_detail(o) for o in not_exact[:details]],
        }


def _detail(o: Outcome) -> dict[str, Any]:
    return {
        "line": o.line,
        "id": o.bill.request_id if o.bill else None,
        "model_id": o.bill.model if o.bill else None,
        "upstream_provider": o.bill.upstream_provider if o.bill else None,
        "outcome": o.outcome,
        "ours_usd": format(o.ours.total_usd, "f") if o.ours else None,
        "billed_usd": format(o.billed_usd, "f") if o.billed_usd is not None else None,
        "difference_usd": format(o.difference_usd, "f") if o.difference_usd is not None else None,
        "upstream_tag": o.ours.upstream_tag if o.ours else None,
        "error": o.error,
    }


def read_bills(lines: Iterable[str]) -> Iterable[tuple[int, Bill | None, str | None]]:
    """(line number, bill or None, why not) of each non-blank JSON line. Numbers are read as
    Decimals: a billed cost is compared exactly as the provider wrote it."""
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            yield number, Bill.from_json(json.loads(text, parse_float=Decimal)), None
        except (json.JSONDecodeError, BadBill, ValueError, OverflowError) as error:
            yield number, None, f"line {number}: {error}"[:300]


def reconcile_lines(price, provider: str, lines: Iterable[str]) -> Report:
    report = Report()
    for number, bill, problem in read_bills(lines):
        if bill is None:
            report.outcomes.append(Outcome(None, "error", error=problem, line=number))
        else:
            report.outcomes.append(reconcile_one(price, provider, bill, number))
    return report


def exact_ratio(outcomes: Iterable[str]) -> float | None:
    counts = Counter(outcomes)
    total = sum(counts.values())
    return counts["exact"] / total if total else None

