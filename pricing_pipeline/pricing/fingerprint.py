"""The price fingerprint: a digest of what a record's price key is computed from, stored with
every live row (``model_prices.price_fingerprint``) and as a held proposal's key. Its text
never changes: another digest for the same prices would re-read every live row once and judge
every held proposal afresh (pricing_pipeline_tests/pricing/test_records.py pins it)."""

from __future__ import annotations

import hashlib

_MEMO_ENTRIES = 4096


def price_digest(prices: tuple, tiers: list, extras: list | tuple, attributes: tuple) -> str:
    """The digest of a record's price fields, its context tiers ``[(min tokens, prices)]``, its
    extra components (sorted ``(identity, usd)``, or ``()``) and the attributes a change is
    judged on, in the record's order."""
    if tiers or extras:
        return _digest(prices, tiers, extras, attributes)
    # Most records are only price fields and attributes, and a catalog shares a few hundred
    # Decimal objects between its models (units.round_price): the digest of the very same
    # objects is computed once. Keyed by identity, since equal Decimals may print differently
    # (1.0, 1); the entry keeps its objects alive, so no id is reused while it exists.
    plain = prices + attributes
    key = tuple(map(id, plain))
    known = _DIGESTS_OF_SAME_OBJECTS.get(key)
    if known is not None:
        return known[0]
    if len(_DIGESTS_OF_SAME_OBJECTS) >= _MEMO_ENTRIES:
        _DIGESTS_OF_SAME_OBJECTS.clear()
    digest = _digest(prices, tiers, extras, attributes)
    _DIGESTS_OF_SAME_OBJECTS[key] = (digest, plain)
    return digest


_DIGESTS_OF_SAME_OBJECTS: dict[tuple[int, ...], tuple[str, tuple]] = {}


def _digest(prices: tuple, tiers: list, extras: list | tuple, attributes: tuple) -> str:
    canonical = repr((prices, tiers, extras, *attributes))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
