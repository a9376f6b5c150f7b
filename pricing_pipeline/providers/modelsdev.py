"""models.dev: GET https://models.dev/api.json, a catalog of many providers' models.

``{provider_id: {id, name, api, env, doc, npm, models: {model_key: {id, name, cost?: {input,
output, cache_read?, cache_write?, tiers?: [{input, output, cache_read?, cache_write?,
tier: {size, type: "context"}}], context_over_200k?: {input, output, cache_read?,
cache_write?}, reasoning?, input_audio?, output_audio?}, limit, modalities, ...}}}}``.
``cost`` values are JSON numbers in USD per 1M tokens.

* Record ``model_id`` is ``"{provider_id}/{model_key}"`` (unique across the catalog);
  ``upstream_provider`` / ``upstream_model_id`` are the provider id and the model key.
* A model without ``cost`` is still a record, with every price None: the catalog knows the
  model but not its price, which is not the same as free (models.dev dropping a price shows
  up as a change to unknown, not as a removal).
* ``tiers`` with ``type: "context"`` become :class:`PriceTier` rows with
  ``min_context_tokens = size`` (prices for prompts longer than ``size`` tokens). Any other
  tier type is rejected: it cannot be represented and must not be guessed.
* ``context_over_200k`` is the older spelling of the first context tier. When ``tiers`` is
  present it duplicates it (and sometimes disagrees with its boundary, e.g. 272k tiers) and
  is ignored; when it is the only one, it becomes a tier at 200000.
* ``reasoning``, ``input_audio`` and ``output_audio`` prices have no column and stay in
  ``raw``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pricing_pipeline.pricing.records import PriceRecord, PriceTier
from pricing_pipeline.pricing.units import PriceValueError, per_mtok
from pricing_pipeline.providers.base import ProviderAdapter, expect_number
from pricing_pipeline.providers.errors import InvalidResponse

TOKEN_COMPONENTS = {
    "input_usd_per_mtok": "input",
    "output_usd_per_mtok": "output",
    "cache_read_usd_per_mtok": "cache_read",
    "cache_write_usd_per_mtok": "cache_write",
}
LEGACY_200K_TIER = 200_000


class ModelsDev(ProviderAdapter):
    name = "modelsdev"
    default_url = "https://models.dev/api.json"
    reference_catalog = True

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
        upstream = {"upstream_provider": provider_id, "upstream_model_id": model_key}
        cost = model.get("cost")
        if cost is None:
            return PriceRecord(self.name, model_id, **upstream, raw=None)
        if not isinstance(cost, dict):
            raise TypeError(f"cost is {type(cost).__name__}, expected an object")
        tiers = cost.get("tiers")
        if tiers is not None:
            if not isinstance(tiers, list):
                raise TypeError(f"cost.tiers is {type(tiers).__name__}, expected a list")
            parsed = tuple(_tier(t) for t in tiers)
        elif cost.get("context_over_200k") is not None:
            parsed = (_prices_tier(LEGACY_200K_TIER, cost["context_over_200k"], "context_over_200k"),)
        else:
            parsed = ()
        if len({t.min_context_tokens for t in parsed}) != len(parsed):
            raise PriceValueError("cost.tiers has two tiers at the same context size")
        return PriceRecord(
            self.name,
            model_id,
            **_prices(cost, "cost"),
            tiers=tuple(sorted(parsed, key=lambda t: t.min_context_tokens)),
            **upstream,
            raw=cost,
        )


def _prices(source: dict, where: str) -> dict[str, Any]:
    out = {}
    for field, key in TOKEN_COMPONENTS.items():
        value = expect_number(source.get(key), f"{where}.{key}")
        out[field] = None if value is None else per_mtok(value)
    return out


def _tier(row: Any) -> PriceTier:
    if not isinstance(row, dict) or not isinstance(row.get("tier"), dict):
        raise TypeError(f"cost.tiers entry {str(row)[:60]} has no 'tier' object")
    kind, size = row["tier"].get("type"), row["tier"].get("size")
    if kind != "context":
        raise PriceValueError(f"cost.tiers type {kind!r} is not supported (only 'context')")
    return _prices_tier(size, row, "cost.tiers")


def _prices_tier(size: Any, source: Any, where: str) -> PriceTier:
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise PriceValueError(f"{where} size is {size!r}, expected a positive integer")
    if not isinstance(source, dict):
        raise TypeError(f"{where} is {type(source).__name__}, expected an object")
    return PriceTier(min_context_tokens=size, **_prices(source, where))


ADAPTER = ModelsDev()
