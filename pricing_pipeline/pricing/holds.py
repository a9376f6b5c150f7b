"""The guard's decision per model: what a snapshot publishes and what it holds for a person.

A real catalog changes model by model every day; one suspicious model must never freeze the
rest. :func:`review` runs every rule of :mod:`pricing_pipeline.pricing.guard` and decides
each flagged model on its own:

* **held**: the flagged proposal waits for a person. A changed model keeps its published
  prices, a new model is not added yet, a removed model stays live. Everything else of the
  snapshot publishes in the same transaction.
* **accepted**: the run's operator override (``price_guard_override``) accepts it: published,
  and the change log says who and why.
* **silenced**: a person rejected exactly this proposal; upstream still sends it. Kept out
  (published prices stay), not held again, until upstream proposes something else.
* **warned**: a plausibility flag on a reference catalog (models.dev, LiteLLM), which we
  compare against rather than resell: published, with the warning.

A proposal is identified by its :func:`proposal_key` (the price fingerprint of the record as
stored, or ``"removed"``): a hold persists while upstream keeps proposing the same key, and a
new key is judged afresh against what is published.

Mass additions (or removals) are held as a group (:attr:`Hold.group`): accepting one member
releases the group, since they were flagged together and only together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.guard import RULES, Offenders
from pricing_pipeline.pricing.guard_settings import GuardOverride, GuardThresholds
from pricing_pipeline.pricing.records import PriceRecord

REMOVED = "removed"
HELD, REJECTED = "held", "rejected"  # the standing states; a resolved hold is history


@dataclass(frozen=True)
class Flag:
    rule: str
    reason: str


@dataclass(frozen=True)
class Hold:
    """A flagged proposal for one model. ``proposed`` None: upstream removed the model."""

    model_id: str
    kind: str  # added | changed | removed
    flags: tuple[Flag, ...]
    published: PriceRecord | None
    proposed: PriceRecord | None
    proposal: str  # proposal_key(proposed)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(f.rule for f in self.flags)

    @property
    def reason(self) -> str:
        return "; ".join(f"{f.rule}: {f.reason}" for f in self.flags)

    @property
    def group(self) -> str | None:
        """Holds released together: a mass addition or a mass removal (of models, or of endpoints)."""
        if "mass_change" not in self.rules or self.kind == "changed":
            return None
        return f"mass_change:{self.kind}" + (":endpoints" if is_endpoint_id(self.model_id) else "")


@dataclass(frozen=True)
class StandingHold:
    """What the store keeps of an earlier decision that is still in force."""

    model_id: str
    status: str  # held | rejected
    proposal: str
    held_since: datetime


@dataclass
class Verdict:
    results: dict[str, Offenders]  # every rule's flags, {rule: {model_id: reason}}
    held: dict[str, Hold] = field(default_factory=dict)
    accepted: dict[str, Hold] = field(default_factory=dict)
    silenced: dict[str, Hold] = field(default_factory=dict)
    warned: dict[str, Offenders] = field(default_factory=dict)  # reference catalogs' plausibility flags
    override: GuardOverride = field(default_factory=GuardOverride)  # the run's, which decided ``accepted``

    @property
    def withheld(self) -> set[str]:
        """Models whose proposal is not published this run (their published prices stay)."""
        return set(self.held) | set(self.silenced)


def proposal_key(record: PriceRecord | None) -> str:
    return REMOVED if record is None else record.price_fingerprint()


def review(
    published: Mapping[str, PriceRecord],
    snapshot: Iterable[PriceRecord],
    thresholds: GuardThresholds,
    baseline: frozenset[str] | None = None,
    standing: Mapping[str, StandingHold] | None = None,
    override: GuardOverride | None = None,
    reference_catalog: bool = False,
    canonical: Callable[[PriceRecord], PriceRecord] = lambda record: record,
    moved: list[PriceRecord] | None = None,
) -> Verdict:
    """Judge every model of a snapshot against what is published. ``standing`` holds and
    rejections come from earlier runs; ``canonical`` maps a snapshot record to the record as
    the store would give it back (so a proposal's key is the same before and after storing).
    ``moved``: the snapshot records that are new or may have changed, when the caller knows
    them (the store compared fingerprints); by default those ``published`` does not map to
    themselves."""
    snapshot = list(snapshot)
    standing = standing or {}
    override = override or GuardOverride()
    # The rules judge new and moved models only; a model the store mapped to the snapshot's own
    # record (same fingerprint) is unchanged, so they never see the 99% of a big catalog that
    # did not move. The mass-change rule counts ids and sees them all. A rule that only warns on
    # a reference catalog judges every listed price as if new: its warning stands while the
    # implausible price is live, instead of reading "passed" on the next sync.
    if moved is None:
        moved = [record for record in snapshot if published.get(record.model_id) is not record]

    def evaluate(spec) -> dict[str, str]:
        if reference_catalog and spec.resold_only:
            return {}
        if reference_catalog and not spec.judges_changes:
            return spec.evaluate({}, snapshot, thresholds, baseline)
        return spec.evaluate(published, snapshot if spec.needs_baseline else moved, thresholds, baseline)

    results = {name: evaluate(spec) for name, spec in RULES.items()}
    verdict = Verdict(results, override=override)
    flags: dict[str, list[Flag]] = defaultdict(list)
    for name, offenders in results.items():
        if reference_catalog and not RULES[name].judges_changes:
            if offenders:
                verdict.warned[name] = offenders
            continue
        for model_id, reason in offenders.items():
            flags[model_id].append(Flag(name, reason))
    rejected = {m: s for m, s in standing.items() if s.status == REJECTED}
    # Flagged models are moved ones (or gone from the snapshot); a rejected one may be back at
    # the published prices, so only then is the whole snapshot looked up.
    by_id = {record.model_id: record for record in moved}
    if any(m not in by_id for m in rejected):
        by_id = {record.model_id: record for record in snapshot}
    for model_id in sorted(set(flags) | set(rejected)):
        proposed = by_id.get(model_id)
        before = published.get(model_id)
        if proposed is not None and before is not None and (before is proposed or before.price_key() == proposed.price_key()):
            continue  # upstream is back at the published prices: nothing to decide
        if proposed is None and before is None:
            continue  # neither listed nor live (e.g. quarantined): not judged
        stored = canonical(proposed) if proposed is not None else None
        kind = "added" if before is None else ("removed" if proposed is None else "changed")
        hold = Hold(model_id, kind, tuple(flags.get(model_id, ())), before, stored, proposal_key(stored))
        prior = rejected.get(model_id)
        if prior is not None and prior.proposal == hold.proposal:
            verdict.silenced[model_id] = hold
        elif not hold.flags:
            continue  # rejected earlier, but upstream moved on and nothing is flagged now
        elif override.accepts(model_id):
            verdict.accepted[model_id] = hold
        else:
            verdict.held[model_id] = hold
    return verdict


def reviewer(
    snapshot: list[PriceRecord],
    thresholds: GuardThresholds,
    override: GuardOverride | None = None,
    reference_catalog: bool = False,
    canonical: Callable[[PriceRecord], PriceRecord] = lambda record: record,
) -> Callable[..., Verdict]:
    """The review a publish runs under its lock, once it has read what is published, the
    standing holds, the baseline and the records that moved (``PricingStore.publish(review=...)``)."""

    def judge(published, standing, baseline, moved=None):
        return review(
            published, snapshot, thresholds, baseline, standing, override, reference_catalog, canonical, moved
        )

    return judge
