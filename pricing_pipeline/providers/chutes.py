"""Chutes: GET https://llm.chutes.ai/v1/models (OpenAI-compatible; the list is public).

``{object: "list", data: [{id, chute_id, owned_by, context_length, max_output_length,
input_modalities, ..., pricing: {prompt, completion, input_cache_read?}, price: {input:
{usd, tao}, output: {usd, tao}, input_cache_read?: {usd, tao}}}]}``. ``pricing`` values are
JSON numbers in USD per 1M tokens and are what we store. ``price`` repeats the same USD
figures next to a TAO (Bittensor) conversion that moves with the TAO exchange rate; it is
not read (so the TAO rate never shows up as a price change) and stays in the raw snapshot.

Zero is a real price (free chutes). A model without ``pricing`` is recorded with every
price None (unknown, not free).
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.base import ProviderAdapter, numbers_per_mtok, pricing_object

TOKEN_COMPONENTS = {
    "input_usd_per_mtok": "prompt",
    "output_usd_per_mtok": "completion",
    "cache_read_usd_per_mtok": "input_cache_read",
}


class Chutes(ProviderAdapter):
    name = "chutes"
    default_url = "https://llm.chutes.ai/v1/models"
    api_key_env = "CHUTES_API_KEY"  # optional: the model list is public

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = pricing_object(entry)
        if pricing is None:
            return PriceRecord(self.name, model_id, raw=None)
        prices = numbers_per_mtok(pricing, TOKEN_COMPONENTS)
        return PriceRecord(self.name, model_id, **prices, raw=pricing)


ADAPTER = Chutes()
