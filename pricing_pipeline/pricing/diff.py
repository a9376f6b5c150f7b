"""Added / changed / removed between a fresh snapshot and what is published."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pricing_pipeline.pricing.records import PriceRecord

# The kinds of a price change. The change log also records the price guard's decisions
# (held | rejected | hold_cleared), which change no price.
PRICE_CHANGE_KINDS = ("added", "changed", "removed")


@dataclass(frozen=True)
class PriceChange:
    model_id: str
    kind: str  # added | changed | removed
    before: PriceRecord | None
    after: PriceRecord | None


@dataclass(frozen=True)
class SnapshotDiff:
    added: list[PriceChange] = field(default_factory=list)
    changed: list[PriceChange] = field(default_factory=list)
    removed: list[PriceChange] = field(default_factory=list)

    @property
    def changes(self) -> list[PriceChange]:
        return [*self.added, *self.changed, *self.removed]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def diff_snapshot(
    published: Mapping[str, PriceRecord], snapshot: Iterable[PriceRecord], keep: Iterable[str] = ()
) -> SnapshotDiff:
    """Compare live (not removed) published records with a complete upstream snapshot.
    Models in ``keep`` (quarantined: listed upstream but unreadable) are not removed."""
    diff = SnapshotDiff()
    seen: set[str] = set(keep)
    for record in sorted(snapshot, key=lambda r: r.model_id):
        seen.add(record.model_id)
        before = published.get(record.model_id)
        if before is None:
            diff.added.append(PriceChange(record.model_id, "added", None, record))
        elif before.price_key() != record.price_key():
            diff.changed.append(PriceChange(record.model_id, "changed", before, record))
    for model_id in sorted(set(published) - seen):
        diff.removed.append(PriceChange(model_id, "removed", published[model_id], None))
    return diff
