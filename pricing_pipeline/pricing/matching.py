"""Cross-source matching: the same model's price as told by different sources.

A *source* is a partition of the sync (a provider API such as ``openrouter``, or a catalog
such as ``modelsdev`` / ``litellm``). Every record names the model it prices as a pair
(provider, model id):

* a provider adapter's record prices its own model: ``(record.provider, record.model_id)``;
* a catalog record describes another provider's model: ``(record.upstream_provider,
  record.upstream_model_id)``, e.g. models.dev ``openrouter/z-ai/glm-4.6v`` describes
  OpenRouter's ``z-ai/glm-4.6v``.

Provider names are made comparable with :data:`PROVIDER_ALIASES` (catalogs spell the same
provider differently: LiteLLM ``together_ai``, models.dev ``togetherai``, our partition
``together``). Models are matched only *within the same provider*: two providers selling
the same open-weights model at different prices is competition, not a disagreement.

Matching rules, in order (each model is matched by the first rule that applies):

1. **Exact**: same provider, identical model id.
2. **Normalized**: same provider, same :func:`normalize_model_id` key: lowercase, and
   ``.`` / ``_`` written as ``-`` (``DeepSeek-V3.1`` = ``deepseek-ai/DeepSeek-V3-1``,
   ``claude-opus-4.7`` = ``claude-opus-4-7``). A normalized key is used only where it is
   unambiguous: if two different ids of one source normalize to the same key, that key
   is not matched at all.

Deliberately *not* normalized (measured on the recordings, each produced false matches):

* date / version suffixes (``-0528``, ``-20250514``, ``@20251101``): ``DeepSeek-R1`` and
  ``DeepSeek-R1-0528`` are different models at different prices (DeepInfra $0.5 vs
  LiteLLM's $0.7 input for the undated one), and ``gpt-4o-2024-05-13`` costs twice
  ``gpt-4o``;
* ``:free`` and other OpenRouter variants (``:free``, ``:nitro``, ``:extended``): a
  different product with its own price (zero for ``:free``);
* organisation prefixes (``meta-llama/``, ``Qwen/``): within one provider they are part
  of the id.

Comparison (:func:`disagreements`): for each matched model, every token price component
known (not None) in two sources is compared; a relative difference
``|a - b| / max(a, b)`` above the tolerance is a disagreement. When the provider's own API
is one of the sources, each catalog is compared with it (the provider's API is the truth
for its own price); otherwise the catalogs are compared with each other. Unknown (None)
never disagrees with anything; zero against a positive price always does. Tiers and
per-unit prices are not compared (their units differ between sources).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from pricing_pipeline.pricing.records import TOKEN_PRICE_FIELDS, PriceRecord

# Catalog spellings of a provider -> the canonical name (our partition name where we have
# an adapter for it). Names not listed are used as they are, lowercased, "_" as "-".
PROVIDER_ALIASES: dict[str, str] = {
    "togetherai": "together",
    "together-ai": "together",
    "novita-ai": "novita",
    "vercel-ai-gateway": "vercel",
    "fireworks-ai": "fireworks",
    "amazon-bedrock": "bedrock",
    "bedrock-converse": "bedrock",
    "gemini": "google",
    "moonshotai": "moonshot",
    "cloudflare-workers-ai": "cloudflare",
    "friendliai": "friendli",
    "nvidia-nim": "nvidia",
    "meta-llama": "llama",
}

DEFAULT_TOLERANCE = Decimal("0.05")

COMPONENT_LABELS = {
    "input_usd_per_mtok": "input",
    "output_usd_per_mtok": "output",
    "cache_read_usd_per_mtok": "cache read",
    "cache_write_usd_per_mtok": "cache write",
}


def canonical_provider(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    return PROVIDER_ALIASES.get(key, key)


def normalize_model_id(model_id: str) -> str:
    """Rule 2's key: lowercase, with ``.`` and ``_`` written as ``-``."""
    return model_id.strip().lower().replace(".", "-").replace("_", "-")


def is_catalog(record: PriceRecord) -> bool:
    return record.upstream_provider is not None


def priced_model(record: PriceRecord) -> tuple[str, str]:
    """(canonical provider, model id) of the model a record prices."""
    if is_catalog(record):
        return canonical_provider(record.upstream_provider), record.upstream_model_id or record.model_id
    return canonical_provider(record.provider), record.model_id


@dataclass(frozen=True)
class Member:
    source: str  # the partition the record came from
    record: PriceRecord

    @property
    def anchor(self) -> bool:
        """The provider's own API (not a catalog)."""
        return not is_catalog(self.record)


@dataclass
class MatchedModel:
    provider: str
    model_id: str  # the id as the anchor (or the first source, by name) spells it
    rule: str  # "exact" | "normalized"
    members: list[Member] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted({m.source for m in self.members})


@dataclass(frozen=True)
class Disagreement:
    provider: str
    model_id: str
    component: str
    reference_source: str
    reference_model_id: str
    reference: Decimal
    other_source: str
    other_model_id: str
    other: Decimal

    @property
    def relative_difference(self) -> Decimal:
        return relative_difference(self.reference, self.other)


def relative_difference(a: Decimal, b: Decimal) -> Decimal:
    high = max(a, b)
    return Decimal(0) if high == 0 else abs(a - b) / high


def match_sources(records: Iterable[PriceRecord]) -> list[MatchedModel]:
    """Models priced by at least two sources, matched by the rules above."""
    by_exact: dict[tuple[str, str], list[Member]] = defaultdict(list)
    for record in records:
        if record.variable_pricing or record.upstream_tag is not None:
            continue  # an endpoint's price is one route's (pricing/endpoints.py), not the model's
        by_exact[priced_model(record)].append(Member(record.provider, record))

    # Rule 2: ids that differ only by the normalization join one model, unless a source
    # has two different ids with the same key (then nothing is merged for that key).
    by_key: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for provider, model_id in by_exact:
        by_key[(provider, normalize_model_id(model_id))].append((provider, model_id))
    matched: list[MatchedModel] = []
    for exact_keys in by_key.values():
        groups = [(model_id, by_exact[(provider, model_id)]) for provider, model_id in sorted(exact_keys)]
        source_sets = [{m.source for m in members} for _, members in groups]
        if len(groups) > 1 and sum(map(len, source_sets)) == len(set().union(*source_sets)):
            members = [m for _, group in groups for m in group]
            matched.append(_matched(exact_keys[0][0], _display_id(groups), "normalized", members))
            continue
        for model_id, members in groups:
            if len({m.source for m in members}) > 1:
                matched.append(_matched(exact_keys[0][0], model_id, "exact", members))
    matched.sort(key=lambda m: (m.provider, m.model_id))
    return matched


def _display_id(groups: list[tuple[str, list[Member]]]) -> str:
    """The id as the provider's own API spells it, else as the most sources spell it."""
    for model_id, members in groups:
        if any(m.anchor for m in members):
            return model_id
    return max(groups, key=lambda g: (len({m.source for m in g[1]}), g[0]))[0]


def _matched(provider: str, model_id: str, rule: str, members: list[Member]) -> MatchedModel:
    return MatchedModel(provider, model_id, rule, sorted(members, key=lambda m: (m.source, m.record.model_id)))


def disagreements(matched: Iterable[MatchedModel], tolerance: Decimal = DEFAULT_TOLERANCE) -> list[Disagreement]:
    """Token price components on which two sources of a matched model differ by more than
    ``tolerance`` (relative)."""
    out: list[Disagreement] = []
    for model in matched:
        anchors = [m for m in model.members if m.anchor]
        others = [m for m in model.members if not m.anchor]
        if anchors:
            pairs = [(a, o) for a in anchors for o in others]
        else:
            pairs = [
                (a, b)
                for i, a in enumerate(model.members)
                for b in model.members[i + 1 :]
                if a.source != b.source
            ]
        for reference, other in pairs:
            for name in TOKEN_PRICE_FIELDS:
                a, b = getattr(reference.record, name), getattr(other.record, name)
                if a is None or b is None:
                    continue
                if relative_difference(a, b) > tolerance:
                    out.append(
                        Disagreement(
                            model.provider,
                            model.model_id,
                            COMPONENT_LABELS[name],
                            reference.source,
                            reference.record.model_id,
                            a,
                            other.source,
                            other.record.model_id,
                            b,
                        )
                    )
    return out


@dataclass(frozen=True)
class CrossSourceReport:
    records: int
    sources: list[str]
    matched: list[MatchedModel]
    disagreements: list[Disagreement]
    tolerance: Decimal

    @property
    def matched_with_provider_api(self) -> list[MatchedModel]:
        """Matched models one of whose sources is the provider's own API."""
        return [m for m in self.matched if any(member.anchor for member in m.members)]

    @property
    def disagreeing_models(self) -> set[tuple[str, str]]:
        return {(d.provider, d.model_id) for d in self.disagreements}

    def disagreeing_with_provider_api(self) -> set[tuple[str, str]]:
        anchored = {(m.provider, m.model_id) for m in self.matched_with_provider_api}
        return self.disagreeing_models & anchored


def cross_source_report(records: Iterable[PriceRecord], tolerance: Decimal = DEFAULT_TOLERANCE) -> CrossSourceReport:
    records = list(records)
    matched = match_sources(records)
    return CrossSourceReport(
        records=len(records),
        sources=sorted({r.provider for r in records}),
        matched=matched,
        disagreements=disagreements(matched, tolerance),
        tolerance=tolerance,
    )


def other_sources(record: PriceRecord, records: Iterable[PriceRecord]) -> list[PriceRecord]:
    """What the other sources we sync say about the model ``record`` prices (matched by the
    rules above): helps a person judge a held price in seconds."""
    others = [r for r in records if r.provider != record.provider]
    for model in match_sources([record, *others]):
        if any(m.record is record for m in model.members):
            return [m.record for m in model.members if m.record is not record]
    return []
