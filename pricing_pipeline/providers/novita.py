"""Novita AI: GET https://api.novita.ai/openai/v1/models with a Bearer key (NOVITA_API_KEY).

The OpenAI-compatible model list (Novita API reference, "List models"; ``/v3/openai/models``
serves the same list): ``{data: [{id, object, created, title, display_name, description,
context_size, max_output_tokens, model_type, status, features, endpoints,
input_token_price_per_m, output_token_price_per_m, pricing?: {prompt, completion,
input_cache_read?: {price_per_m, price_per_m_decimal}}, is_tiered_billing?}]}``.

``input_token_price_per_m`` / ``output_token_price_per_m`` are integers in units of
0.0001 USD per 1M tokens (``1500`` = $0.15 per 1M), converted with
``units.scaled(value, Decimal("0.0001"))``. The cache-read price comes from
``pricing.input_cache_read.price_per_m`` in the same unit, where present.

Models billed by context tier (``is_tiered_billing: true``) carry ``0`` placeholders in the
integer fields and no tier prices in this list: their prices are recorded as None
(unknown), never as free. Any other zero is a real price (free models). Fields not read
(``price_per_m_decimal``, per-request or media prices) stay in the raw snapshot.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.pricing.units import scaled
from pricing_pipeline.providers.base import ProviderAdapter, expect_number, pricing_object

UNIT_USD = Decimal("0.0001")  # Novita's price unit, per 1M tokens


class Novita(ProviderAdapter):
    name = "novita"
    default_url = "https://api.novita.ai/openai/v1/models"
    api_key_env = "NOVITA_API_KEY"
    api_key_required = True

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = pricing_object(entry)
        raw = {
            key: entry[key]
            for key in ("input_token_price_per_m", "output_token_price_per_m", "pricing", "is_tiered_billing")
            if key in entry
        }
        tiered = entry.get("is_tiered_billing", False)
        if not isinstance(tiered, bool):
            raise TypeError(f"is_tiered_billing is {type(tiered).__name__}, expected a boolean")
        if tiered:
            return PriceRecord(self.name, model_id, raw=raw)
        cache_read = (pricing or {}).get("input_cache_read")
        if cache_read is not None and not isinstance(cache_read, dict):
            raise TypeError(f"pricing.input_cache_read is {type(cache_read).__name__}, expected an object")
        return PriceRecord(
            self.name,
            model_id,
            input_usd_per_mtok=_usd(entry.get("input_token_price_per_m"), "input_token_price_per_m"),
            output_usd_per_mtok=_usd(entry.get("output_token_price_per_m"), "output_token_price_per_m"),
            cache_read_usd_per_mtok=_usd(
                (cache_read or {}).get("price_per_m"), "pricing.input_cache_read.price_per_m"
            ),
            raw=raw,
        )


def _usd(value: Any, field: str) -> Decimal | None:
    value = expect_number(value, field)
    return None if value is None else scaled(value, UNIT_USD)


ADAPTER = Novita()
