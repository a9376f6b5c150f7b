"""DeepInfra: GET https://api.deepinfra.com/v1/openai/models (public).

``{object: "list", data: [{id, owned_by, metadata: {context_length, max_tokens, pricing:
{input_tokens, output_tokens, cache_read_tokens?}, tags} or null}]}``. Prices are JSON
numbers in USD per 1M tokens, often with binary float noise (``2.5999999999999996``): they
go through :func:`units.round_price` (via ``KeyReader``), which reads the float's decimal string and rounds to the
storage precision, so that value is stored as ``2.6``.

``metadata: null`` marks models that are not token-priced LLMs (embeddings, image, speech
models listed by the OpenAI-compatible endpoint): they are skipped, not recorded. A model
with metadata but no ``pricing`` is recorded with every price None (unknown, not free).
Any other pricing key is reported as unknown.
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceRecord
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_number, pricing_object

URL = "https://api.deepinfra.com/v1/openai/models"

PRICES = {
    "input_tokens": Price("input", USD_PER_MTOK),
    "output_tokens": Price("output", USD_PER_MTOK),
    "cache_read_tokens": Price("cache_read", USD_PER_MTOK),
}


class DeepInfra(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("deepinfra", URL, key_env="DEEPINFRA_API_KEY", min_models=40)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        metadata = entry.get("metadata")
        if metadata is None:
            return None  # not a token-priced LLM
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata is {type(metadata).__name__}, expected an object or null")
        pricing = pricing_object(metadata)
        if pricing is None:
            return PriceRecord(self.name, model_id, model_type="chat", raw=None)
        reader = KeyReader(pricing, "metadata.pricing")
        return PriceRecord.from_components(
            self.name, model_id, reader.components(PRICES, expect_number), model_type="chat", raw=pricing,
            unknown_keys=tuple(reader.unknown()),
        )


ADAPTER = DeepInfra()
