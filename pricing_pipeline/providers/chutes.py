"""Chutes: GET https://llm.chutes.ai/v1/models (OpenAI-compatible; the list is public).

``{object: "list", data: [{id, chute_id, owned_by, context_length, ..., pricing: {prompt,
completion, input_cache_read?}, price: {input: {usd, tao}, output: {usd, tao},
input_cache_read?: {usd, tao}}}]}``. ``pricing`` values are JSON numbers in USD per 1M
tokens. ``price`` repeats them as ``usd`` next to a TAO (Bittensor) conversion that moves
with the exchange rate: the ``usd`` figures are read and must agree with ``pricing`` (a
disagreement quarantines the model: we would not know which one Chutes bills); where
``pricing`` lacks a key, ``price.<key>.usd`` supplies it. ``tao`` is not a USD price and is
not read, so the exchange rate never shows up as a price change.

Zero is a real price (free chutes). A model with neither object has no price (unknown).
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent, PriceRecord
from pricing_pipeline.pricing.units import PriceValueError, per_mtok
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_number

URL = "https://llm.chutes.ai/v1/models"

PRICES = {
    "prompt": Price("input", USD_PER_MTOK),
    "completion": Price("output", USD_PER_MTOK),
    "input_cache_read": Price("cache_read", USD_PER_MTOK),
}
# price.<key> -> the pricing key it repeats
PRICE_OBJECT_KEYS = {"input": "prompt", "output": "completion", "input_cache_read": "input_cache_read"}


class Chutes(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("chutes", URL, key_env="CHUTES_API_KEY", min_models=20)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        if not entry.get("pricing") and not entry.get("price"):
            return PriceRecord(self.name, model_id, raw=None)
        pricing = KeyReader(entry.get("pricing") or {}, "pricing")
        quotes = KeyReader(entry.get("price") or {}, "price")
        components = {c.component: c for c in pricing.components(PRICES, expect_number)}
        unknown = pricing.unknown()
        for key, pricing_key in PRICE_OBJECT_KEYS.items():
            if key not in quotes.obj:
                continue
            quote = KeyReader(quotes.get(key), f"price.{key}")
            quote.ignore("tao")
            value = expect_number(quote.get("usd"), f"price.{key}.usd")
            unknown += quote.unknown()
            if value is None:
                continue
            quoted = PriceComponent(PRICES[pricing_key].component, USD_PER_MTOK, per_mtok(value))
            listed = components.setdefault(quoted.component, quoted)
            if listed.usd != quoted.usd:
                raise PriceValueError(f"price.{key}.usd {quoted.usd} disagrees with pricing.{pricing_key} {listed.usd}")
        return PriceRecord.from_components(
            self.name, model_id, list(components.values()), model_type="chat", raw=entry.get("pricing"),
            unknown_keys=tuple(unknown + quotes.unknown()),
        )


ADAPTER = Chutes()
