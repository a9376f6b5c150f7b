"""OpenRouter: GET /api/v1/models; ``pricing`` values are decimal strings in USD per token.

``"-1"`` marks variable pricing (routers such as ``openrouter/auto``): recorded as
``variable_pricing`` with no price, never as a negative or zero price. ``overrides`` carry
prompt-length tiers (``min_prompt_tokens``).
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.pricing.units import per_token_to_per_mtok, per_unit
from pricing_pipeline.providers.base import ProviderAdapter, expect_numeric_string

VARIABLE = "-1"
TOKEN_COMPONENTS = {
    "input_usd_per_mtok": "prompt",
    "output_usd_per_mtok": "completion",
    "cache_read_usd_per_mtok": "input_cache_read",
    "cache_write_usd_per_mtok": "input_cache_write",
}
UNIT_COMPONENTS = {"request_usd": "request", "image_usd": "image"}


class OpenRouter(ProviderAdapter):
    name = "openrouter"
    default_url = "https://openrouter.ai/api/v1/models"
    api_key_env = "OPENROUTER_API_KEY"  # optional: the model list is public

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = entry.get("pricing")
        if not isinstance(pricing, dict):
            raise TypeError(f"pricing is {type(pricing).__name__}, expected an object")
        if VARIABLE in (pricing.get("prompt"), pricing.get("completion")):
            return PriceRecord(self.name, model_id, variable_pricing=True, raw=pricing)
        prices = {
            field: _price(pricing, key, per_token_to_per_mtok) for field, key in TOKEN_COMPONENTS.items()
        }
        prices.update({field: _price(pricing, key, per_unit) for field, key in UNIT_COMPONENTS.items()})
        tiers = tuple(
            PriceTier(
                min_context_tokens=int(override["min_prompt_tokens"]),
                **{field: _price(override, key, per_token_to_per_mtok) for field, key in TOKEN_COMPONENTS.items()},
            )
            for override in pricing.get("overrides") or ()
        )
        return PriceRecord(self.name, model_id, **prices, tiers=tiers, raw=pricing)


def _price(pricing: dict, key: str, convert):
    value = expect_numeric_string(pricing.get(key), key)
    if value is None or value == VARIABLE:
        return None
    return convert(value)


ADAPTER = OpenRouter()
