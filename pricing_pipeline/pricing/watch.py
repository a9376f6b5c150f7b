"""The change watcher's rules, plain: what a list's content is, which models moved, which
endpoints are volatile, and the hourly request budget.

A list's content is its models' price fingerprints (and the ids it could not read), not its
bytes: a reworded description, a reordered list or a new request id is no price change, and
launches nothing. The sync records the same fingerprint of what it fetched, so a poll compares
like with like however the published prices were since held or accepted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pricing_pipeline.pricing.endpoints import endpoint_model, is_endpoint_id
from pricing_pipeline.pricing.records import NormalizedSnapshot, PriceRecord

BUDGET_WINDOW_SECONDS = 3600.0


def list_fingerprint(snapshot: NormalizedSnapshot) -> str:
    """The content of a provider's list: every listed model's price fingerprint and every
    unreadable id (an entry turning unreadable is news too). Endpoint records (fetched per
    model) are not part of the list."""
    digest = hashlib.sha256()
    for model_id, fingerprint in sorted(list_fingerprints(snapshot.records).items()):
        digest.update(f"{model_id}\0{fingerprint}\n".encode())
    for model_id in sorted(snapshot.quarantined):
        if not is_endpoint_id(model_id):
            digest.update(f"{model_id}\0unreadable\n".encode())
    return digest.hexdigest()


def list_fingerprints(records: Iterable[PriceRecord]) -> dict[str, str]:
    return {r.model_id: r.price_fingerprint() for r in records if not is_endpoint_id(r.model_id)}


def volatile_models(changes: Iterable[Mapping], since: datetime) -> list[str]:
    """The models whose endpoints' prices changed at or after ``since``, the most recently
    changed first (they get the budget first). ``changes``: the change log's rows."""
    latest: dict[str, datetime] = {}
    for row in changes:
        model_id = row["model_id"]
        if not is_endpoint_id(model_id) or row["changed_at"] < since:
            continue
        model = endpoint_model(model_id)
        latest[model] = max(latest.get(model, row["changed_at"]), row["changed_at"])
    return sorted(latest, key=lambda m: (-latest[m].timestamp(), m))


# List requests a run launched by the watcher may need in an hour, beyond one poll per interval.
RUN_LIST_MARGIN = 6


@dataclass
class RequestBudget:
    """At most ``per_hour`` requests in any sliding hour. ``spent``: the unix times of the
    requests made (or reserved for a launched run) within the last hour; ``list_spent``: those
    of them that were list requests.

    The list polls come first: per-model requests (volatile endpoints, a run's endpoints) may use
    only what is left after a list poll every ``interval_seconds`` for the hour (and a few runs'
    list requests), so a change of the list is seen at the next poll however many endpoints are
    volatile. An interval that asks for more list polls than half the budget gets half: the
    volatile endpoints (where prices move most) are never starved, and the list polls thin out
    late in the hour instead (each skip is said)."""

    per_hour: int
    spent: list[float] = field(default_factory=list)
    list_spent: list[float] = field(default_factory=list)
    interval_seconds: float = 300.0

    def _prune(self, now: float) -> None:
        self.spent = [t for t in self.spent if now - t < BUDGET_WINDOW_SECONDS]
        self.list_spent = [t for t in self.list_spent if now - t < BUDGET_WINDOW_SECONDS]

    def remaining(self, now: float) -> int:
        self._prune(now)
        return max(0, self.per_hour - len(self.spent))

    @property
    def list_share(self) -> int:
        """The requests per hour kept for list requests."""
        wanted = math.ceil(BUDGET_WINDOW_SECONDS / self.interval_seconds) + RUN_LIST_MARGIN
        return min(wanted, math.ceil(self.per_hour / 2))

    def per_model_allowance(self, now: float) -> int:
        """How many per-model requests may be made now without eating into the list share."""
        remaining = self.remaining(now)
        return max(0, remaining - max(0, self.list_share - len(self.list_spent)))

    def spend(self, now: float, requests: int = 1, lists: int = 0) -> bool:
        """Spend ``requests`` (``lists`` of them list requests) if the hour has them; False
        (nothing spent) if it has not."""
        if requests > self.remaining(now):
            return False
        self.spent.extend([now] * requests)
        self.list_spent.extend([now] * lists)
        return True

    def next_free_at(self, now: float) -> float:
        """When the next request may be made."""
        if self.remaining(now) > 0:
            return now
        return min(self.spent) + BUDGET_WINDOW_SECONDS
