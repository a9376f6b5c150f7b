"""Together AI: GET https://api.together.xyz/v1/models with a Bearer key (TOGETHER_API_KEY).

The response is a bare JSON list (Together API reference, "List all models"):
``[{id, object: "model", created, type: chat|language|code|image|embedding|moderation|
rerank|audio|..., display_name, organization, context_length, pricing: {hourly, input,
output, base, finetune}}]``. ``pricing.input`` / ``pricing.output`` are JSON numbers in USD
per 1M tokens. ``hourly`` (dedicated endpoints, USD per hour), ``base`` and ``finetune``
(fine-tuning) are not per-token serving prices and are ignored (kept in ``raw``). An
OpenAI-style ``{"data": [...]}`` wrapper is accepted too; any other object is rejected.

Models whose token prices are all zero (free serverless models, and image or embedding
models that Together bills some other way) are kept with the zero prices Together states:
zero is a real price, and the raw snapshot keeps ``type`` for anyone who needs to tell
them apart. One exception: zero token prices next to a positive ``hourly`` price mark a
dedicated-endpoint-only model, which is not sold per token at all; its token prices are
recorded as None (not offered), never as free. A model without ``pricing`` is recorded
with every price None (unknown, not free).
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.providers.base import ProviderAdapter, expect_number, numbers_per_mtok, pricing_object
from pricing_pipeline.providers.errors import InvalidResponse

TOKEN_COMPONENTS = {"input_usd_per_mtok": "input", "output_usd_per_mtok": "output"}


class Together(ProviderAdapter):
    name = "together"
    default_url = "https://api.together.xyz/v1/models"
    api_key_env = "TOGETHER_API_KEY"
    api_key_required = True

    def entries(self, payload: Any):
        if isinstance(payload, list):
            items = payload
        elif isinstance(payload, dict):
            items = self.data_list(payload)
        else:
            raise InvalidResponse(self.name, f"expected a JSON list of models, got {type(payload).__name__}")
        return ((self.model_id_of(item), item) for item in items)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = pricing_object(entry)
        if pricing is None:
            return PriceRecord(self.name, model_id, raw=None)
        prices = numbers_per_mtok(pricing, TOKEN_COMPONENTS)
        hourly = expect_number(pricing.get("hourly"), "hourly")
        if hourly and not any(prices.values()):  # dedicated-only: no per-token price
            prices = dict.fromkeys(prices)
        return PriceRecord(self.name, model_id, **prices, raw=pricing)


ADAPTER = Together()
