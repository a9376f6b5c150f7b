"""The guard's judgements of a catalog as a whole, by its model ids: too many models (or
endpoints) added or removed at once (``mass_change``, a per-model rule that holds them as a
group), and another catalog in place of the established one (``catalog_replaced``, the one
snapshot-level judgement). Rules and thresholds: :mod:`pricing.guard`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from pricing_pipeline.pricing.endpoints import is_endpoint_id
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.records import PriceRecord

Offenders = dict[str, str]  # model id -> why


def mass_change(
    published: Mapping[str, PriceRecord],
    snapshot: Iterable[PriceRecord],
    thresholds: GuardThresholds,
    baseline: frozenset[str] | None = None,
) -> Offenders:
    """Too many models added or removed at once, against the *baseline*: the models live
    before the latest publish (see ``PricingStore.baseline_model_ids``). Judging against the
    baseline, not the live table, keeps an accepted junk snapshot from holding back the real
    one after it: its junk models are not part of the baseline, so dropping them again is no
    mass removal, and the real models it had removed are no mass addition."""
    baseline = frozenset(published) if baseline is None else baseline
    present = {record.model_id for record in snapshot}
    offenders: Offenders = {}
    for family, what in ((False, "models"), (True, "endpoints")):
        established = frozenset(m for m in baseline if is_endpoint_id(m) == family)
        if not established:
            continue  # a first sync (or a provider's first endpoint lists): nothing to compare with
        listed = {m for m in present if is_endpoint_id(m) == family}
        added = sorted(listed - set(published) - established)
        removed = sorted(established - listed)
        for ids, ratio, kind in (
            (added, thresholds.max_added_ratio, "added"),
            (removed, thresholds.max_removed_ratio, "removed"),
        ):
            if len(ids) > max(ratio * len(established), thresholds.min_mass_change_models):
                share = Decimal(len(ids)) / len(established)
                for model_id in ids:
                    offenders[model_id] = (
                        f"{kind}: one of {len(ids)} {what} {kind} at once ({share:.0%} of the {len(established)} established)"
                    )
    return offenders


def catalog_replaced(
    published: Mapping[str, PriceRecord],
    snapshot_ids: Iterable[str],
    thresholds: GuardThresholds,
    baseline: frozenset[str] | None = None,
) -> str | None:
    """Why the snapshot looks like another catalog than the established one, or None. Most
    established models gone and many unknown ones added: no per-model judgement makes sense.
    Judged on the models of the list (their endpoints follow them)."""
    baseline = frozenset(published) if baseline is None else baseline
    baseline = frozenset(m for m in baseline if not is_endpoint_id(m))
    published = {m: None for m in published if not is_endpoint_id(m)}
    if not baseline:
        return None
    present = {m for m in snapshot_ids if not is_endpoint_id(m)}
    added = len(present - set(published) - baseline)
    removed = len(baseline - present)
    limit = max(thresholds.catalog_replaced_ratio * len(baseline), thresholds.min_mass_change_models)
    if removed > limit and added > limit:
        return (
            f"catalog replaced: {removed} of the {len(baseline)} established models gone and {added} unknown "
            f"models added (each above {thresholds.catalog_replaced_ratio:.0%} of the established)"
        )
    return None
