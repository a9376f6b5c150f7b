"""Which unit is a legacy price in: USD per token, per 1K tokens or per 1M tokens?

A diagnostic aid for price tables whose units got mixed (a gateway's ``pricing_prompt``
column holding per-token, per-1K and per-1M values side by side). It never rewrites a price:
it says which unit is most probable and why, for a human to act on.

:func:`detect_unit` reads a price under each candidate unit as USD per 1M tokens (x1e6 for
per token, x1e3 for per 1K, x1 for per 1M) and picks:

1. **catalog**: the model is found in the catalogs (:class:`CatalogIndex`, built from our
   sources: models.dev, LiteLLM, OpenRouter, ...) and one reading lands within 10x of the
   catalog's median price for it (prompt and completion compared, the mean log distance
   decides). The candidate units are 1000x apart, so a model priced differently by
   different providers (2-5x) still lands on one unit only.
2. **non-token**: the catalogs know the model only as an audio or image model priced per
   second, character or image (LiteLLM ``mode``), and no reading lands near a token price:
   the price has no token unit (``unknown``).
3. **plausibility**: the model is not in the catalogs; the unit whose reading of the prompt
   price lies in the range real per-1M prices occupy ($0.005 to $200 per 1M tokens); where
   two readings are plausible (a raw value between 0.005 and 0.2 reads as both a cheap
   per-1M and an expensive per-1K price) the one nearer $1 per 1M, flagged ambiguous.
4. otherwise, or for a zero price (zero in every unit): ``unknown``.

Catalog lookup is by a loose name key (:func:`name_key`): lowercase, without a ``Vendor: ``
prefix or an organisation path, letters and digits only, so ``Meta Llama/Meta Llama 3.1
405B Instruct``, ``meta-llama/Meta-Llama-3.1-405B-Instruct`` and ``Meta: Llama 3.1 405B
Instruct`` meet. Loose is right here: a near-miss (a sibling model) is still within 10x.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from pricing_pipeline.pricing.modality import LITELLM_MODES, MEDIA_TYPES
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.pricing.units import to_decimal


class Unit(str, Enum):
    PER_TOKEN = "per_token"
    PER_1K = "per_1k"
    PER_1M = "per_1m"
    UNKNOWN = "unknown"


# multiply a price in this unit by the factor to get USD per 1M tokens
TO_PER_MTOK = {Unit.PER_TOKEN: Decimal(1_000_000), Unit.PER_1K: Decimal(1_000), Unit.PER_1M: Decimal(1)}

CATALOG_MAX_FACTOR = 10  # a reading within 10x of the catalog price matches it
PLAUSIBLE_MIN = Decimal("0.005")  # USD per 1M tokens (prompt)
PLAUSIBLE_MAX = Decimal(200)
TYPICAL = Decimal(1)  # tie-break: nearer $1 per 1M
# LiteLLM modes of the media types, whose prices are not per token (the domain's resolver)
NON_TOKEN_MODES = frozenset(mode for mode, kind in LITELLM_MODES.items() if kind in MEDIA_TYPES)

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def name_key(name: str) -> str:
    """The loose lookup key of a model id or display name."""
    text = name.strip().lower()
    if ": " in text:  # "Anthropic: Claude Opus 4"
        text = text.split(": ", 1)[1]
    text = text.rsplit("/", 1)[-1]  # "meta-llama/Meta-Llama-3.1-405B-Instruct"
    return _NON_ALNUM.sub("", text)


@dataclass
class Reference:
    inputs: list[Decimal] = field(default_factory=list)
    outputs: list[Decimal] = field(default_factory=list)
    non_token: bool = False

    @property
    def input(self) -> Decimal | None:
        return _median(self.inputs)

    @property
    def output(self) -> Decimal | None:
        return _median(self.outputs)


def _median(values: list[Decimal]) -> Decimal | None:
    positive = [v for v in values if v > 0]
    return statistics.median(positive) if positive else None


class CatalogIndex:
    """Reference prices (USD per 1M tokens) by :func:`name_key`."""

    def __init__(self) -> None:
        self._refs: dict[str, Reference] = defaultdict(Reference)

    @classmethod
    def from_records(
        cls, records: Iterable[PriceRecord], names: Mapping[tuple[str, str], str] | None = None
    ) -> CatalogIndex:
        """``names`` maps (source, model_id) to a display name, where the source has one
        (models.dev and OpenRouter do); ids are always indexed."""
        index = cls()
        names = names or {}
        for record in records:
            keys = {name_key(record.upstream_model_id or record.model_id)}
            display = names.get((record.provider, record.model_id))
            if display:
                keys.add(name_key(display))
            for key in keys:
                index.add(key, record)
        return index

    def add(self, key: str, record: PriceRecord) -> None:
        ref = self._refs[key]
        if record.input_usd_per_mtok is not None:
            ref.inputs.append(record.input_usd_per_mtok)
        if record.output_usd_per_mtok is not None:
            ref.outputs.append(record.output_usd_per_mtok)
        if isinstance(record.raw, dict) and record.raw.get("mode") in NON_TOKEN_MODES:
            ref.non_token = True

    def lookup(self, name: str) -> Reference | None:
        return self._refs.get(name_key(name))

    def __len__(self) -> int:
        return len(self._refs)


@dataclass(frozen=True)
class UnitGuess:
    unit: Unit
    basis: str  # catalog | non-token | plausibility | ambiguous | none
    per_mtok: Decimal | None  # the prompt price read in the guessed unit, USD per 1M tokens
    reference: Decimal | None  # the catalog's median prompt price, USD per 1M tokens
    reason: str


def _log_distance(a: Decimal, b: Decimal) -> float:
    return abs(math.log10(a / b))


def detect_unit(
    model_name: str, prompt: object, completion: object = None, catalog: CatalogIndex | None = None
) -> UnitGuess:
    """The probable unit of a legacy (prompt, completion) price pair. See the module docs."""
    p = None if prompt is None else to_decimal(prompt)
    c = None if completion is None else to_decimal(completion)
    if not p and not c:
        return UnitGuess(Unit.UNKNOWN, "none", None, None, "no non-zero price: zero is zero in every unit")
    ref = catalog.lookup(model_name) if catalog is not None else None
    ref_in, ref_out = (ref.input, ref.output) if ref else (None, None)

    pairs = [(v, r) for v, r in ((p, ref_in), (c, ref_out)) if v and v > 0 and r]
    if pairs:
        scores = {
            unit: sum(_log_distance(v * factor, r) for v, r in pairs) / len(pairs)
            for unit, factor in TO_PER_MTOK.items()
        }
        unit = min(scores, key=scores.get)
        if scores[unit] <= math.log10(CATALOG_MAX_FACTOR):
            read = (p or c) * TO_PER_MTOK[unit]
            return UnitGuess(
                unit,
                "catalog",
                read,
                ref_in,
                f"read as {unit.value}: ${_fmt(read)}/1M, catalog median ${_fmt(ref_in or ref_out)}/1M",
            )
    if ref and ref.non_token:
        return UnitGuess(
            Unit.UNKNOWN,
            "non-token",
            None,
            ref_in,
            "the catalogs price this model per second, character or image, not per token",
        )

    value = p if p else c
    plausible = [u for u, f in TO_PER_MTOK.items() if PLAUSIBLE_MIN <= value * f <= PLAUSIBLE_MAX]
    note = "" if not pairs else "; no reading within 10x of the catalog price"
    if not plausible:
        return UnitGuess(Unit.UNKNOWN, "none", None, ref_in, f"no unit gives a plausible price{note}")
    unit = min(plausible, key=lambda u: _log_distance(value * TO_PER_MTOK[u], TYPICAL))
    basis = "plausibility" if len(plausible) == 1 else "ambiguous"
    read = value * TO_PER_MTOK[unit]
    return UnitGuess(
        unit,
        basis,
        read,
        ref_in,
        f"not in the catalogs{note}; read as {unit.value}: ${_fmt(read)}/1M"
        + ("" if basis == "plausibility" else f" (also plausible: {', '.join(u.value for u in plausible if u != unit)})"),
    )


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return "?"
    return format(value.normalize(), "f") if value == value.to_integral() else f"{float(value):.6g}"
