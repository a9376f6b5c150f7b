"""Vercel AI Gateway: GET https://ai-gateway.vercel.sh/v1/models (public, no key needed).

Shape (Vercel docs, AI Gateway "Models & Providers", "Using REST API"):
``{object: "list", data: [{id, type: language|embedding|image|video, pricing: {...}}]}``.
``pricing`` values are decimal strings in USD per token:

* ``input``, ``output``, ``input_cache_read``, ``input_cache_write``: the base prices.
* ``input_tiers``, ``output_tiers``, ``input_cache_read_tiers``, ``input_cache_write_tiers``:
  context-length brackets ``[{cost, min, max?}]`` with ``min`` inclusive, ``max`` exclusive
  and the last bracket open-ended. Each bracket that starts above 0 becomes a
  :class:`PriceTier` with ``min_context_tokens = min - 1``: the tier applies to prompts
  *longer than* that many tokens, the convention models.dev and LiteLLM use, so Vercel's
  ``min: 200001`` and LiteLLM's ``*_above_200k_tokens`` are both the 200000 tier. A tier
  carries, for each component that has brackets, the rate of the bracket in effect at that
  boundary; components without brackets stay None in the tier (their base price applies).
* ``image``: USD per generated image (image models), stored as ``image_usd``.
* Everything else (``web_search``, video or audio pricing, ``fast``, ``service_tiers``, ...)
  has no column here and stays in ``raw``.

Every listed model yields a record. Embedding models carry only ``input``. A model whose
pricing has none of the keys above (a video model priced per second, or no ``pricing`` at
all) is recorded with every price None: price unknown, which is not the same as free.
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.pricing.units import PriceValueError, per_token_to_per_mtok, per_unit
from pricing_pipeline.providers.base import ProviderAdapter, expect_numeric_string, pricing_object

# record field -> (base key, brackets key)
TOKEN_COMPONENTS = {
    "input_usd_per_mtok": ("input", "input_tiers"),
    "output_usd_per_mtok": ("output", "output_tiers"),
    "cache_read_usd_per_mtok": ("input_cache_read", "input_cache_read_tiers"),
    "cache_write_usd_per_mtok": ("input_cache_write", "input_cache_write_tiers"),
}


class Vercel(ProviderAdapter):
    name = "vercel"
    default_url = "https://ai-gateway.vercel.sh/v1/models"
    api_key_env = "AI_GATEWAY_API_KEY"  # optional: the model list is public

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = pricing_object(entry)
        if pricing is None:
            return PriceRecord(self.name, model_id, raw=None)
        brackets = {field: _brackets(pricing, key) for field, (_, key) in TOKEN_COMPONENTS.items()}
        prices: dict[str, Any] = {}
        for field, (base_key, _) in TOKEN_COMPONENTS.items():
            base = expect_numeric_string(pricing.get(base_key), base_key)
            if base is not None:
                prices[field] = per_token_to_per_mtok(base)
            else:  # only brackets given: the one at 0 tokens is the base rate
                prices[field] = _cost_at(brackets[field], 0)
        image = expect_numeric_string(pricing.get("image"), "image")
        prices["image_usd"] = None if image is None else per_unit(image)
        boundaries = sorted({b["min"] for rows in brackets.values() for b in rows if b["min"] > 0})
        tiers = tuple(
            PriceTier(
                min_context_tokens=start - 1,
                **{field: _cost_at(rows, start) for field, rows in brackets.items() if rows},
            )
            for start in boundaries
        )
        return PriceRecord(self.name, model_id, **prices, tiers=tiers, raw=pricing)


def _brackets(pricing: dict, key: str) -> list[dict]:
    """The ``*_tiers`` brackets of one component, validated, sorted by ``min``."""
    rows = pricing.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise TypeError(f"{key} is {type(rows).__name__}, expected a list")
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"{key} entry is {type(row).__name__}, expected an object")
        low, high = row.get("min"), row.get("max")
        if isinstance(low, bool) or not isinstance(low, int) or low < 0:
            raise PriceValueError(f"{key} min is {low!r}, expected a non-negative integer")
        if high is not None and (isinstance(high, bool) or not isinstance(high, int) or high <= low):
            raise PriceValueError(f"{key} max is {high!r}, expected an integer above min {low}")
        cost = expect_numeric_string(row.get("cost"), f"{key} cost")
        if cost is None:
            raise PriceValueError(f"{key} bracket at {low} has no cost")
        out.append({"min": low, "max": high, "cost": per_token_to_per_mtok(cost)})
    out.sort(key=lambda b: b["min"])
    if len({b["min"] for b in out}) != len(out):
        raise PriceValueError(f"{key} has two brackets starting at the same token count")
    return out


def _cost_at(rows: list[dict], tokens: int):
    """The rate of the bracket that contains ``tokens`` (None in a gap between brackets)."""
    for row in rows:
        if row["min"] <= tokens and (row["max"] is None or tokens < row["max"]):
            return row["cost"]
    return None


ADAPTER = Vercel()
