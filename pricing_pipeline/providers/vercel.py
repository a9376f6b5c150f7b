"""Vercel AI Gateway: GET https://ai-gateway.vercel.sh/v1/models (public, no key needed).

Shape (Vercel docs, AI Gateway "Models & Providers", "Using REST API"):
``{object: "list", data: [{id, type: language|embedding|image|video, pricing: {...}}]}``.
``pricing`` values are decimal strings in USD per token:

* ``input``, ``output``, ``input_cache_read``, ``input_cache_write`` (the 5-minute write):
  the base prices.
* ``input_tiers``, ``output_tiers``, ``input_cache_read_tiers``, ``input_cache_write_tiers``:
  context-length brackets ``[{cost, min, max?}]`` with ``min`` inclusive, ``max`` exclusive
  and the last bracket open-ended. A bracket that starts above 0 is a context tier with
  ``min_context_tokens = min - 1``: the tier applies to prompts *longer than* that many
  tokens, the convention models.dev and LiteLLM use, so Vercel's ``min: 200001`` and
  LiteLLM's ``*_above_200k_tokens`` are both the 200000 tier. A gap after a bracket's
  ``max`` is an unknown price from there on. The bracket at 0 is the base price when
  there is no base key.
* ``image``: USD per generated image; ``web_search``: USD per search.
* Any other key is reported as unknown.

* ``varies_by_provider`` (a boolean): the listed prices are those of the provider the
  gateway routes to by default, and another provider of the same model may bill otherwise.
  Read and checked (a non-boolean quarantines the model); the listed prices are recorded,
  as they are what the model bills when routed by default. For such a model each provider's
  own price is read from the documented per-model endpoints API
  (``GET /v1/models/{creator}/{model}/endpoints``: ``{data: {id, architecture, endpoints:
  [{name, model_name, provider_name, pricing: {prompt, completion, input_cache_read,
  input_cache_write, image, web_search, ...}, context_length, quantization, tags, ...}]}}``,
  decimal strings in USD per token), one record per provider: ``model#<provider_name>``
  (pricing/endpoints.py), as OpenRouter's endpoints are. The endpoint API's ``prompt`` /
  ``completion`` are the list's ``input`` / ``output``; ``*_tiers`` read as the list's; a
  ``discount`` is kept with the raw pricing and never applied (the listed prices are billed).

``type`` gives the model type (``language`` is chat; ``speech``, ``transcription``,
``reranking`` where listed), read through the domain's vocabulary
(``pricing/modality.py``), whose unit resolver decides the unit of ``input``/``output`` on
media models. Embedding models carry only ``input``. An image or video model without its
price is recorded with the unknown price of its real unit (per image, per second), never as
free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pricing_pipeline.pricing.endpoints import endpoint_id
from pricing_pipeline.pricing.modality import REAL_UNIT, VERCEL_TYPES, type_from_modalities, type_from_word
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent, PriceRecord
from pricing_pipeline.pricing.units import PriceValueError, per_token_to_per_mtok
from pricing_pipeline.providers import endpoint_lists, json_body
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_decimal_str, usd_per_token

URL = "https://ai-gateway.vercel.sh/v1/models"

PRICES = {
    **usd_per_token(input="input", output="output", input_cache_read="cache_read", input_cache_write="cache_write_5m"),
    "image": Price("image_output", "usd_per_image"),
    "web_search": Price("web_search", "usd_per_search"),
}
BRACKETS = {f"{key}_tiers": key for key in ("input", "output", "input_cache_read", "input_cache_write")}


class Vercel(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("vercel", URL, key_env="AI_GATEWAY_API_KEY", min_models=100)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        model_type = type_from_word(VERCEL_TYPES, entry.get("type"))
        pricing = KeyReader(entry.get("pricing") or {}, "pricing")
        _varies(pricing)
        return self.priced(model_id, pricing, model_type)

    def priced(self, model_id: str, pricing: KeyReader, model_type: str | None, **fields: Any) -> PriceRecord:
        """A record from a ``pricing`` object (the list's, or an endpoint's renamed)."""
        components = pricing.components(PRICES, expect_decimal_str)
        for brackets_key, base_key in BRACKETS.items():
            component = PRICES[base_key].component
            for start, cost in _brackets(pricing.get(brackets_key), brackets_key):
                if start == 0 and any(c.component == component for c in components):
                    continue  # the base key already says it
                components.append(PriceComponent(component, USD_PER_MTOK, cost, max(start - 1, 0)))
        real = REAL_UNIT.get(model_type) if model_type in ("image", "video") else None
        if real and not any(c.unit == real[1] for c in components):  # its real unit unlisted: unknown, not free
            components.append(PriceComponent(*real, None))
        return PriceRecord.from_components(
            self.name, model_id, components, model_type=model_type, raw=pricing.obj,
            unknown_keys=tuple(pricing.unknown()), **fields,
        )

    # --- the per-provider prices of a model whose pricing varies by provider --------------

    def detail_urls(self, body: bytes) -> dict[str, str]:
        varying = (item["id"] for item in self.data_list(json_body.load(self.name, body))
                   if isinstance(item, dict) and isinstance(item.get("id"), str)
                   and isinstance(item.get("pricing"), dict) and item["pricing"].get("varies_by_provider") is True)
        return endpoint_lists.urls(self.url(), varying)

    def detail_urls_for(self, model_ids: Iterable[str]) -> dict[str, str]:
        return endpoint_lists.urls(self.url(), model_ids)

    def details(self, model_id: str, payload: Any) -> tuple[list[PriceRecord], dict[str, str]]:
        data = payload.get("data") if isinstance(payload, dict) else None
        entries = data.get("endpoints") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TypeError("endpoints body without a data.endpoints list")
        architecture = data.get("architecture") if isinstance(data.get("architecture"), dict) else {}
        model_type = type_from_modalities(architecture.get("output_modalities") or ["text"],
                                          architecture.get("input_modalities"), speech="speech")
        records, quarantined = [], {}
        for tag, entry in endpoint_lists.by_tag(entries, quarantined, model_id, tag_key="provider_name").items():
            record_id = endpoint_id(model_id, tag)
            try:
                pricing = dict(entry.get("pricing") or {})
                for ours, theirs in ENDPOINT_KEYS.items():
                    if theirs in pricing:
                        pricing[ours] = pricing.pop(theirs)
                reader = KeyReader(pricing, "pricing")
                reader.ignore("discount")  # the listed prices are billed; shown, never applied again
                records.append(self.priced(
                    record_id, reader, model_type, upstream_provider=entry["provider_name"].strip()[:200],
                    upstream_model_id=model_id, upstream_tag=tag, quantization=_text(entry.get("quantization")),
                ))
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
                quarantined[record_id] = str(exc)[:500]
        return records, quarantined


# The endpoint API's names for the list's pricing keys
ENDPOINT_KEYS = {"input": "prompt", "output": "completion", "input_tiers": "prompt_tiers", "output_tiers": "completion_tiers"}


def _varies(pricing: KeyReader) -> bool:
    varies = pricing.get("varies_by_provider")
    if varies is not None and not isinstance(varies, bool):
        raise TypeError(f"pricing.varies_by_provider is {type(varies).__name__}, expected a boolean")
    return bool(varies)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"quantization is {type(value).__name__}, expected a string")
    return value.strip()[:200] or None


def _brackets(rows: Any, key: str) -> list[tuple[int, Any]]:
    """(start token, USD per 1M or None for a gap) of one component's brackets."""
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise TypeError(f"{key} is {type(rows).__name__}, expected a list")
    parsed = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"{key} entry is {type(row).__name__}, expected an object")
        low, high = row.get("min"), row.get("max")
        if isinstance(low, bool) or not isinstance(low, int) or low < 0:
            raise PriceValueError(f"{key} min is {low!r}, expected a non-negative integer")
        if high is not None and (isinstance(high, bool) or not isinstance(high, int) or high <= low):
            raise PriceValueError(f"{key} max is {high!r}, expected an integer above min {low}")
        cost = expect_decimal_str(row.get("cost"), f"{key} cost")
        if cost is None:
            raise PriceValueError(f"{key} bracket at {low} has no cost")
        parsed.append((low, high, per_token_to_per_mtok(cost)))
    parsed.sort(key=lambda b: b[0])
    starts = [low for low, _, _ in parsed]
    if len(set(starts)) != len(starts):
        raise PriceValueError(f"{key} has two brackets starting at the same token count")
    out = []
    for low, high, cost in parsed:
        out.append((low, cost))
        if high is not None and high not in starts:
            out.append((high, None))  # a gap: no known price from here on
    return out


ADAPTER = Vercel()
