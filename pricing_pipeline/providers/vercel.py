"""Vercel AI Gateway: GET https://ai-gateway.vercel.sh/v1/models (public, no key needed).

Shape (Vercel docs, AI Gateway "Models & Providers", "Using REST API"):
``{object: "list", data: [{id, type: language|embedding|image|video, pricing: {...}}]}``.
``pricing`` values are decimal strings in USD per token:

* ``input``, ``output``, ``input_cache_read``, ``input_cache_write`` (the 5-minute write):
  the base prices.
* ``input_tiers``, ``output_tiers``, ``input_cache_read_tiers``, ``input_cache_write_tiers``:
  context-length brackets ``[{cost, min, max?}]`` with ``min`` inclusive, ``max`` exclusive
  and the last bracket open-ended. A bracket that starts above 0 is a context tier with
  ``min_context_tokens = min - 1``: the tier applies to prompts *longer than* that many
  tokens, the convention models.dev and LiteLLM use, so Vercel's ``min: 200001`` and
  LiteLLM's ``*_above_200k_tokens`` are both the 200000 tier. A gap after a bracket's
  ``max`` is an unknown price from there on. The bracket at 0 is the base price when
  there is no base key.
* ``image``: USD per generated image; ``web_search``: USD per search.
* Any other key is reported as unknown.

* ``varies_by_provider`` (a boolean): the listed prices are those of the provider the
  gateway routes to by default, and another provider of the same model may bill otherwise.
  Read and checked (a non-boolean quarantines the model); the listed prices are recorded,
  as they are what the model bills when routed by default.

``type`` gives the model type (``language`` is chat; ``speech``, ``transcription``,
``reranking`` where listed), read through the domain's vocabulary
(``pricing/modality.py``), whose unit resolver decides the unit of ``input``/``output`` on
media models. Embedding models carry only ``input``. An image or video model without its
price is recorded with the unknown price of its real unit (per image, per second), never as
free.
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.modality import REAL_UNIT, VERCEL_TYPES, type_from_word
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent, PriceRecord
from pricing_pipeline.pricing.units import PriceValueError, per_token_to_per_mtok
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_decimal_str, usd_per_token

URL = "https://ai-gateway.vercel.sh/v1/models"

PRICES = {
    **usd_per_token(input="input", output="output", input_cache_read="cache_read", input_cache_write="cache_write_5m"),
    "image": Price("image_output", "usd_per_image"),
    "web_search": Price("web_search", "usd_per_search"),
}
BRACKETS = {f"{key}_tiers": key for key in ("input", "output", "input_cache_read", "input_cache_write")}


class Vercel(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("vercel", URL, key_env="AI_GATEWAY_API_KEY", min_models=100)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        model_type = type_from_word(VERCEL_TYPES, entry.get("type"))
        pricing = KeyReader(entry.get("pricing") or {}, "pricing")
        components = pricing.components(PRICES, expect_decimal_str)
        varies = pricing.get("varies_by_provider")
        if varies is not None and not isinstance(varies, bool):
            raise TypeError(f"pricing.varies_by_provider is {type(varies).__name__}, expected a boolean")
        for brackets_key, base_key in BRACKETS.items():
            component = PRICES[base_key].component
            for start, cost in _brackets(pricing.get(brackets_key), brackets_key):
                if start == 0 and any(c.component == component for c in components):
                    continue  # the base key already says it
                components.append(PriceComponent(component, USD_PER_MTOK, cost, max(start - 1, 0)))
        real = REAL_UNIT.get(model_type) if model_type in ("image", "video") else None
        if real and not any(c.unit == real[1] for c in components):  # its real unit unlisted: unknown, not free
            components.append(PriceComponent(*real, None))
        return PriceRecord.from_components(
            self.name, model_id, components, model_type=model_type, raw=entry.get("pricing"),
            unknown_keys=tuple(pricing.unknown()),
        )


def _brackets(rows: Any, key: str) -> list[tuple[int, Any]]:
    """(start token, USD per 1M or None for a gap) of one component's brackets."""
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise TypeError(f"{key} is {type(rows).__name__}, expected a list")
    parsed = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"{key} entry is {type(row).__name__}, expected an object")
        low, high = row.get("min"), row.get("max")
        if isinstance(low, bool) or not isinstance(low, int) or low < 0:
            raise PriceValueError(f"{key} min is {low!r}, expected a non-negative integer")
        if high is not None and (isinstance(high, bool) or not isinstance(high, int) or high <= low):
            raise PriceValueError(f"{key} max is {high!r}, expected an integer above min {low}")
        cost = expect_decimal_str(row.get("cost"), f"{key} cost")
        if cost is None:
            raise PriceValueError(f"{key} bracket at {low} has no cost")
        parsed.append((low, high, per_token_to_per_mtok(cost)))
    parsed.sort(key=lambda b: b[0])
    starts = [low for low, _, _ in parsed]
    if len(set(starts)) != len(starts):
        raise PriceValueError(f"{key} has two brackets starting at the same token count")
    out = []
    for low, high, cost in parsed:
        out.append((low, cost))
        if high is not None and high not in starts:
            out.append((high, None))  # a gap: no known price from here on
    return out


ADAPTER = Vercel()
