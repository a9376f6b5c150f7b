"""LiteLLM's price catalog: model_prices_and_context_window.json from its GitHub raw URL.

``{model_key: {litellm_provider, mode, input_cost_per_token, output_cost_per_token,
cache_read_input_token_cost?, cache_creation_input_token_cost?,
input_cost_per_token_above_200k_tokens?, ..., input_cost_per_request?,
output_cost_per_image?, ...}}``: JSON numbers in USD per token (per request / per image
for those keys).

* ``model_id`` is the catalog key; ``upstream_provider`` is ``litellm_provider``;
  ``upstream_model_id`` is the key without a leading ``"<litellm_provider>/"``.
* Columns: input ``input_cost_per_token``; output ``output_cost_per_token``; cache read
  ``cache_read_input_token_cost`` (falling back to ``input_cost_per_token_cache_hit``, the
  older name some DeepSeek entries use); cache write ``cache_creation_input_token_cost``
  (the 5-minute write; ``..._above_1hr`` is another product and is not stored); request
  ``input_cost_per_request``; image ``output_cost_per_image`` (USD per generated image,
  the meaning Vercel's ``image`` price has too).
* Tiers: ``<component>_above_<N>k_tokens`` for the four token components becomes a tier at
  ``N * 1000`` (LiteLLM applies it when the prompt is longer than that; the file has 128k,
  200k, 256k, 272k and 512k thresholds). ``_priority`` / ``_flex`` / ``_batches`` variants
  are other service levels and are not stored.
* Entries with no price in a unit we store (per second, per character, per pixel, per
  page, per query, or no price at all, e.g. subscription-only ``chatgpt/*`` entries) are
  still records, with every price None: "not offered per token" and "unknown" are both
  None, never zero, and a model that loses its token prices shows up as a change, not a
  removal.
* ``sample_spec`` is the schema's documentation. Other keys without ``litellm_provider``
  (e.g. ``fallback_generalizations``, routing rules) are not models and are skipped, unless
  they carry a ``*cost*`` field, which means a priced model lost its provider: rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.pricing.units import per_token_to_per_mtok, per_unit
from pricing_pipeline.providers.base import ProviderAdapter, expect_number
from pricing_pipeline.providers.errors import InvalidResponse

DOC_KEYS = frozenset({"sample_spec"})

# record field -> catalog keys, first present wins
TOKEN_COMPONENTS = {
    "input_usd_per_mtok": ("input_cost_per_token",),
    "output_usd_per_mtok": ("output_cost_per_token",),
    "cache_read_usd_per_mtok": ("cache_read_input_token_cost", "input_cost_per_token_cache_hit"),
    "cache_write_usd_per_mtok": ("cache_creation_input_token_cost",),
}
UNIT_COMPONENTS = {"request_usd": "input_cost_per_request", "image_usd": "output_cost_per_image"}
TIER_FIELDS = {
    "input_cost_per_token": "input_usd_per_mtok",
    "output_cost_per_token": "output_usd_per_mtok",
    "cache_read_input_token_cost": "cache_read_usd_per_mtok",
    "cache_creation_input_token_cost": "cache_write_usd_per_mtok",
}
TIER_KEY = re.compile(rf"^({'|'.join(TIER_FIELDS)})_above_(\d+)k_tokens$")


class LiteLLM(ProviderAdapter):
    name = "litellm"
    default_url = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
    reference_catalog = True

    def entries(self, payload: Any) -> Iterator[tuple[str, Any]]:
        if not isinstance(payload, dict):
            raise InvalidResponse(self.name, f"expected a JSON object of models, got {type(payload).__name__}")
        found = False
        for key, entry in payload.items():
            if key in DOC_KEYS:
                continue
            if isinstance(entry, dict) and "litellm_provider" not in entry:
                if any("cost" in field for field in entry):
                    raise InvalidResponse(self.name, f"model {key!r} has prices but no litellm_provider")
                continue  # metadata such as fallback_generalizations, not a model
            found = True
            yield key, entry
        if not found:
            raise InvalidResponse(self.name, "catalog has no models")

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        if not isinstance(entry, dict):
            raise TypeError(f"entry is {type(entry).__name__}, expected an object")
        provider = entry["litellm_provider"]
        if not isinstance(provider, str) or not provider:
            raise TypeError(f"litellm_provider is {provider!r}, expected a string")
        prices: dict[str, Any] = {}
        for field, keys in TOKEN_COMPONENTS.items():
            prices[field] = None
            for key in keys:
                value = expect_number(entry.get(key), key)
                if value is not None:
                    prices[field] = per_token_to_per_mtok(value)
                    break
        for field, key in UNIT_COMPONENTS.items():
            value = expect_number(entry.get(key), key)
            prices[field] = None if value is None else per_unit(value)
        by_threshold: dict[int, dict[str, Any]] = {}
        for key, value in entry.items():
            match = TIER_KEY.match(key)
            if match:
                value = expect_number(value, key)
                if value is not None:
                    tier = by_threshold.setdefault(int(match.group(2)) * 1000, {})
                    tier[TIER_FIELDS[match.group(1)]] = per_token_to_per_mtok(value)
        tiers = tuple(PriceTier(min_context_tokens=n, **by_threshold[n]) for n in sorted(by_threshold))
        prefix = provider + "/"
        return PriceRecord(
            self.name,
            model_id,
            **prices,
            tiers=tiers,
            upstream_provider=provider,
            upstream_model_id=model_id[len(prefix):] if model_id.startswith(prefix) else model_id,
            raw=entry,
        )


ADAPTER = LiteLLM()
