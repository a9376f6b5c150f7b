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
(unknown), never as free. Any other zero is a real price (free models). Any other key with
``price`` in its name, or in ``pricing``, is reported as unknown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.modality import NOVITA_TYPES, type_from_word
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent, PriceRecord
from pricing_pipeline.pricing.units import PriceValueError, per_mtok, scaled
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, expect_decimal_str, expect_number

URL = "https://api.novita.ai/openai/v1/models"

UNIT_USD = Decimal("0.0001")  # Novita's price unit, per 1M tokens
COMPONENTS = {"prompt": "input", "completion": "output", "input_cache_read": "cache_read", "input_cache_write": "cache_write_5m"}
TOP_LEVEL = {"input_token_price_per_m": "prompt", "output_token_price_per_m": "completion"}


class Novita(ProviderAdapter):
    upstream = Upstream("novita", URL, key_env="NOVITA_API_KEY", key_required=True)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        raw = {key: value for key, value in entry.items() if "pric" in key or key == "is_tiered_billing"}
        fields = KeyReader(raw, "model")  # the entry's pricing keys, ticked off as read
        model_type = type_from_word(NOVITA_TYPES, entry.get("model_type"))
        tiered = fields.get("is_tiered_billing") or False
        if not isinstance(tiered, bool):
            raise TypeError(f"is_tiered_billing is {type(tiered).__name__}, expected a boolean")
        quotes: list[tuple[str, Decimal]] = []  # (pricing key, USD per 1M) from every figure
        for key, pricing_key in TOP_LEVEL.items():
            value = expect_number(fields.get(key), key)
            if value is not None:
                quotes.append((pricing_key, scaled(value, UNIT_USD)))
        pricing = KeyReader(fields.get("pricing") or {}, "pricing")
        unknown = []
        for key in COMPONENTS:
            if pricing.get(key) is None:
                continue
            quote = KeyReader(pricing.obj[key], f"pricing.{key}")
            units = expect_number(quote.get("price_per_m"), f"pricing.{key}.price_per_m")
            decimal = expect_decimal_str(quote.get("price_per_m_decimal"), f"pricing.{key}.price_per_m_decimal")
            quotes += [(key, scaled(units, UNIT_USD))] if units is not None else []
            quotes += [(key, per_mtok(decimal))] if decimal is not None else []
            unknown += quote.unknown()
        unknown += fields.unknown() + pricing.unknown()
        if tiered:  # the integer fields are 0 placeholders: price unknown
            return PriceRecord(self.name, model_id, model_type=model_type, raw=raw, unknown_keys=tuple(unknown))
        components: dict[str, PriceComponent] = {}
        for key, usd in quotes:
            quoted = PriceComponent(COMPONENTS[key], USD_PER_MTOK, usd)
            listed = components.setdefault(key, quoted)
            if listed.usd != usd:
                raise PriceValueError(f"two {key} prices disagree: {listed.usd} and {usd} USD per 1M")
        return PriceRecord.from_components(
            self.name, model_id, list(components.values()), model_type=model_type, raw=raw, unknown_keys=tuple(unknown)
        )


ADAPTER = Novita()
