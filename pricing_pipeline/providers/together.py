"""Together AI: GET https://api.together.xyz/v1/models with a Bearer key (TOGETHER_API_KEY).

The response is a bare JSON list (Together API reference, "List all models"):
``[{id, object: "model", created, type, display_name, organization, context_length,
pricing: {hourly, input, output, base, finetune}}]``; prices are JSON numbers. An
OpenAI-style ``{"data": [...]}`` wrapper is accepted too; any other object is rejected.

What ``input`` / ``output`` mean depends on ``type``:

* ``chat``, ``language``, ``code``, ``embedding``, ``rerank``, ``moderation``,
  ``transcribe``: USD per 1M tokens. Zero is a real price (free models).
* ``audio`` (text to speech), ``transcribe``, ``image`` and ``video``: the domain's unit
  resolver (``pricing/modality.py``) decides. A TTS model with only an ``input`` price
  (``cartesia/sonic*`` 65, ``Kokoro`` 4) is USD per 1M characters of text; with an
  ``output`` price too (``canopylabs/orpheus``, a speech LLM: 0.27 / 0.85) both are USD per
  1M tokens. Image and video models all list ``0 / 0``: they are billed per image / per
  second elsewhere, not free, and are recorded with the unknown price of their real unit
  (``image_output`` per image, ``video_output`` per second), never as 0 per token.

``hourly`` (dedicated endpoints, USD per hour), ``base`` and ``finetune`` (fine-tuning)
are not serving prices and are not read. Zero token prices next to a positive ``hourly``
mark a dedicated-endpoint-only model: its token prices are None (not offered), never free.
A model without ``pricing`` is recorded with no price (unknown, not free).
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.modality import TOGETHER_TYPES, type_from_word
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceRecord
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.keys import KeyReader, Price, expect_number

URL = "https://api.together.xyz/v1/models"

TOKEN_PRICES = {"input": Price("input", USD_PER_MTOK), "output": Price("output", USD_PER_MTOK)}


class Together(ProviderAdapter):
    upstream = Upstream("together", URL, key_env="TOGETHER_API_KEY", key_required=True, min_models=10)

    def entries(self, payload: Any):
        if isinstance(payload, list):
            items = payload
        elif isinstance(payload, dict):
            items = self.data_list(payload)
        else:
            raise InvalidResponse(self.name, f"expected a JSON list of models, got {type(payload).__name__}")
        return ((self.model_id_of(item), item) for item in items)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        model_type = type_from_word(TOGETHER_TYPES, entry.get("type"))
        if entry.get("pricing") is None:
            return PriceRecord(self.name, model_id, model_type=model_type, raw=None)
        pricing = KeyReader(entry["pricing"])
        pricing.ignore("base", "finetune")
        listed = pricing.components(TOKEN_PRICES, expect_number)
        hourly = expect_number(pricing.get("hourly"), "pricing.hourly")
        paid = [c for c in listed if c.usd]
        if hourly and not paid:  # dedicated-only: no per-token price
            components = []
        else:
            components = listed
        return PriceRecord.from_components(
            self.name, model_id, components, model_type=model_type, raw=pricing.obj,
            unknown_keys=tuple(pricing.unknown()),
        )


ADAPTER = Together()
