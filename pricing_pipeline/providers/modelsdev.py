"""models.dev: GET https://models.dev/api.json, a catalog of many providers' models.

``{provider_id: {id, name, api, env, doc, npm, models: {model_key: {id, name, cost?: {input,
output, cache_read?, cache_write?, reasoning?, input_audio?, output_audio?, tiers?: [{input,
output, ..., tier: {size, type: "context"}}], context_over_200k?: {...}}, limit,
modalities, ...}}}}``. ``cost`` values are JSON numbers in USD per 1M tokens.

* Record ``model_id`` is ``"{provider_id}/{model_key}"`` (unique across the catalog);
  ``upstream_provider`` / ``upstream_model_id`` are the provider id and the model key.
* Components: ``input``, ``output``, ``cache_read``, ``cache_write`` (stored as the 5-minute
  write, the one models.dev lists), ``reasoning``, ``input_audio`` / ``output_audio``
  (audio tokens). Any other ``cost`` key is reported as unknown.
* A model without ``cost`` is still a record, with no price: the catalog knows the model
  but not its price, which is not the same as free (models.dev dropping a price shows up
  as a change to unknown, not as a removal).
* ``tiers`` with ``type: "context"`` are context tiers at ``size`` tokens (prices for
  prompts longer than ``size``). Any other tier type is rejected: it cannot be represented
  and must not be guessed.
* ``context_over_200k`` is the older spelling of the first context tier. When ``tiers`` is
  present it duplicates it (and sometimes disagrees with its boundary, e.g. 272k tiers) and
  is ignored; when it is the only one, it becomes a tier at 200000.
* The model type comes from ``modalities`` through the domain's resolver
  (``pricing/modality.py``): ``embedding``, ``audio`` (audio out without text: text to
  speech), ``transcription`` (text out of audio alone in), ``video``, ``image`` (without text
  out), else ``chat``; the resolver puts ``input``/``output`` in the unit the type bills.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pricing_pipeline.pricing.modality import type_from_modalities
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceRecord
from pricing_pipeline.pricing.units import PriceValueError
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.keys import KeyReader, Price, expect_number

URL = "https://models.dev/api.json"

PRICES = {
    "input": Price("input", USD_PER_MTOK),
    "output": Price("output", USD_PER_MTOK),
    "cache_read": Price("cache_read", USD_PER_MTOK),
    "cache_write": Price("cache_write_5m", USD_PER_MTOK),
    "reasoning": Price("reasoning", USD_PER_MTOK),
    "input_audio": Price("audio_input", USD_PER_MTOK),
    "output_audio": Price("audio_output", USD_PER_MTOK),
}
LEGACY_200K_TIER = 200_000


class ModelsDev(ProviderAdapter):
    upstream = Upstream("modelsdev", URL, min_models=2500, reference_catalog=True)

    def entries(self, payload: Any) -> Iterator[tuple[str, Any]]:
        if not isinstance(payload, dict):
            raise InvalidResponse(self.name, f"expected a JSON object of providers, got {type(payload).__name__}")
        if not payload:
            raise InvalidResponse(self.name, "catalog has no providers")
        for provider_id, provider in payload.items():
            if not isinstance(provider, dict) or not isinstance(provider.get("models"), dict):
                raise InvalidResponse(self.name, f"provider {provider_id!r} has no 'models' object")
            for model_key, model in provider["models"].items():
                yield f"{provider_id}/{model_key}", (provider_id, model_key, model)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        provider_id, model_key, model = entry
        if not isinstance(model, dict):
            raise TypeError(f"model is {type(model).__name__}, expected an object")
        fields = {
            "upstream_provider": provider_id,
            "upstream_model_id": model_key,
            "model_type": _model_type(model.get("modalities")),
        }
        if model.get("cost") is None:
            return PriceRecord(self.name, model_id, **fields, raw=None)
        cost = KeyReader(model["cost"], "cost")
        components = cost.components(PRICES, expect_number)
        tiers, legacy = cost.get("tiers"), cost.get("context_over_200k")
        if tiers is not None:
            if not isinstance(tiers, list):
                raise TypeError(f"cost.tiers is {type(tiers).__name__}, expected a list")
            sizes = [_tier_size(row) for row in tiers]
            if len(set(sizes)) != len(sizes):
                raise PriceValueError("cost.tiers has two tiers at the same context size")
            readers = [(size, KeyReader(row, "cost.tiers[]")) for size, row in zip(sizes, tiers)]
        elif legacy is not None:
            readers = [(LEGACY_200K_TIER, KeyReader(legacy, "cost.context_over_200k"))]
        else:
            readers = []
        unknown = cost.unknown()
        for size, reader in readers:
            reader.ignore("tier")
            components += reader.components(PRICES, expect_number, min_context_tokens=size)
            unknown += reader.unknown()
        return PriceRecord.from_components(
            self.name, model_id, components, **fields, raw=cost.obj, unknown_keys=tuple(unknown)
        )


def _tier_size(row: Any) -> int:
    if not isinstance(row, dict) or not isinstance(row.get("tier"), dict):
        raise TypeError(f"cost.tiers entry {str(row)[:60]} has no 'tier' object")
    kind, size = row["tier"].get("type"), row["tier"].get("size")
    if kind != "context":
        raise PriceValueError(f"cost.tiers type {kind!r} is not supported (only 'context')")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise PriceValueError(f"cost.tiers size is {size!r}, expected a positive integer")
    return size


def _model_type(modalities: Any) -> str | None:
    if not isinstance(modalities, dict):
        return None
    return type_from_modalities(modalities.get("output"), modalities.get("input"), speech="audio")


ADAPTER = ModelsDev()
