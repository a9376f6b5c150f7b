"""OpenRouter: GET /api/v1/models?output_modalities=all; ``pricing`` values are decimal strings.

``output_modalities=all``: without it the list holds text-output models only, and a gateway
resells the image, video, speech, transcription, embedding and rerank models too. Only the
full list is fetched (it contains every text model as well).

Keys read (USD per token unless said otherwise): ``prompt`` input, ``completion`` output,
``input_cache_read``, ``input_cache_write`` (the 5-minute write), ``input_cache_write_1h``,
``internal_reasoning``, ``audio`` / ``audio_output`` (audio tokens in / out),
``input_audio_cache`` (cached audio input), ``image_output`` (image output tokens),
``image_token`` (image input tokens: "USD per image token" in OpenRouter's schema),
``image`` (USD per input image), ``web_search`` (USD per search), ``request`` (USD per
request). Any other key is reported as unknown.

Every listed model's endpoints (``GET <models URL>/<id>/endpoints``: one entry per upstream
provider, each with its own ``pricing``) are fetched too and published as records of their
own (``providers/openrouter_endpoints.py``, ``pricing/endpoints.py``).

The model type comes from ``architecture.output_modalities`` (and ``input_modalities``)
through the domain's resolver (``pricing/modality.py``): ``speech`` is text to speech
(``audio``), ``transcription`` speech to text, ``video``, ``image`` (without text out),
``embeddings``, ``rerank``; text out is ``chat``. The resolver puts ``prompt`` /
``completion`` in the unit the type bills: a TTS ``prompt`` alone is USD per character
(``"0.000015"`` is $15 per 1M characters); an STT ``prompt`` alone is per minute for some
models and per second for others, which the list does not say: recorded unknown ("unit
ambiguous"), never per token; ``0``/``0`` on an image or video model is not free.

``"-1"`` marks variable pricing (routers such as ``openrouter/auto``): recorded as
``variable_pricing`` with no price, never as a negative or zero price.

``overrides`` is a list of variants, each with the price keys above and what selects it:

* ``min_prompt_tokens``: prompts of more than that many tokens (a context tier);
* ``utc_start`` / ``utc_end``: a UTC time-of-day window written as HHMM integers
  (``1630`` = 16:30, ``30`` = 00:30, ``2400`` and an end of ``0`` after a later start =
  midnight at the end of the day); ``utc_end`` below ``utc_start`` wraps midnight
  (``{"utc_start": 1000, "utc_end": 100}`` is 10:00-01:00).
* ``utc_days``: lowercase English day names (UTC days). With a window, the window on those
  days; alone, those whole days (``["saturday", "sunday"]``: the weekend).
  A variant may combine a context tier with a window.

Links between entries:

* ``alias_target: {slug, name}`` on ``~vendor/model-latest`` aliases: the alias bills at its
  own listed prices; the target's slug is recorded as its ``upstream_model_id``.
* ``vendor/model:batch`` ids (a batch variant at about half price) stay models of their own,
  linked to their base through ``upstream_model_id``: requests address the ``:batch`` id and
  OpenRouter bills it at its own listed prices, and folding it into the base model's
  ``batch`` tier would make one model's record depend on two entries (a quarantined or
  missing ``:batch`` entry would change the base model's prices).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pricing_pipeline.pricing.modality import type_from_modalities
from pricing_pipeline.pricing.records import PriceRecord, TimeWindow
from pricing_pipeline.pricing.units import PriceValueError
from pricing_pipeline.providers import json_body
from pricing_pipeline.providers import openrouter_endpoints as endpoints
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_decimal_str, usd_per_token

URL = "https://openrouter.ai/api/v1/models?output_modalities=all"

VARIABLE = "-1"
BATCH_SUFFIX = ":batch"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PRICES = {
    **usd_per_token(
        prompt="input", completion="output", internal_reasoning="reasoning",
        input_cache_read="cache_read", input_cache_write="cache_write_5m", input_cache_write_1h="cache_write_1h",
        audio="audio_input", audio_output="audio_output", input_audio_cache="audio_cache_read",
        image_output="image_output", image_token="image_input",
    ),
    "image": Price("image_input", "usd_per_image"),
    "web_search": Price("web_search", "usd_per_search"),
    "request": Price("request", "usd_per_request"),
}


class OpenRouter(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("openrouter", URL, key_env="OPENROUTER_API_KEY", min_models=200)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        return self.priced(model_id, entry.get("pricing"), entry.get("architecture"),
                           upstream_model_id=_linked_model(model_id, entry.get("alias_target")))

    def priced(self, model_id: str, pricing: Any, architecture: Any, **fields: Any) -> PriceRecord:
        """A record from a ``pricing`` object (a model's or one of its endpoints') and the
        model's ``architecture``; ``fields``: the record's other attributes."""
        pricing = KeyReader(pricing, "pricing")
        if not isinstance(architecture, dict):
            architecture = {}
        model_type = type_from_modalities(
            architecture.get("output_modalities") or ["text"], architecture.get("input_modalities"), speech="speech"
        )
        if VARIABLE in (pricing.get("prompt"), pricing.get("completion")):
            pricing.ignore(*pricing.obj)
            return PriceRecord(self.name, model_id, variable_pricing=True, model_type=model_type, raw=pricing.obj,
                               **fields)
        # an endpoint's listed prices already include its discount: kept (raw) for display only
        pricing.ignore("discount")
        components = pricing.components(PRICES, _value)
        overrides = pricing.get("overrides") or []
        if not isinstance(overrides, list):
            raise TypeError(f"pricing.overrides is {type(overrides).__name__}, expected a list")
        unknown = pricing.unknown()
        for override in overrides:
            variant, reader = _override_variant(override)
            components += reader.components(PRICES, _value, **variant)
            unknown += reader.unknown()
        return PriceRecord.from_components(
            self.name, model_id, components, model_type=model_type, raw=pricing.obj, unknown_keys=tuple(unknown),
            **fields,
        )

    def detail_urls(self, body: bytes) -> dict[str, str]:
        return endpoints.urls(self.url(), (self.model_id_of(item) for item in self.data_list(json_body.load(self.name, body))))

    def aliases(self, body: bytes) -> dict[str, str]:
        """``canonical_slug`` (the dated name a response's ``model`` may carry, e.g.
        ``anthropic/claude-4.8-opus-20260528``) -> the listed id. A ``:free`` variant shares its
        model's slug: a slug names the paid id where there is one."""
        out: dict[str, str] = {}
        for item in self.data_list(json_body.load(self.name, body)):
            if not isinstance(item, dict):
                continue
            model_id, slug = item.get("id"), item.get("canonical_slug")
            if not (isinstance(model_id, str) and isinstance(slug, str)) or slug == model_id:
                continue
            if slug not in out or out[slug].endswith(":free"):
                out[slug] = model_id
        return out

    def detail_urls_for(self, model_ids: Iterable[str]) -> dict[str, str]:
        return endpoints.urls(self.url(), model_ids)

    def details(self, model_id: str, payload: Any) -> tuple[list[PriceRecord], dict[str, str]]:
        return endpoints.records(self, model_id, payload)


def _linked_model(model_id: str, alias_target: Any) -> str | None:
    """The model an alias points to (``alias_target.slug``) or a ``:batch`` id's base model."""
    if alias_target is not None:
        slug = alias_target.get("slug") if isinstance(alias_target, dict) else None
        if not isinstance(slug, str) or not slug.strip():
            raise TypeError(f"alias_target is {str(alias_target)[:60]!r}, expected an object with a slug")
        return slug.strip()
    if model_id.endswith(BATCH_SUFFIX) and len(model_id) > len(BATCH_SUFFIX):
        return model_id[: -len(BATCH_SUFFIX)]
    return None


def _value(value: Any, key: str) -> Any:
    value = expect_decimal_str(value, key)
    return None if value == VARIABLE else value


def _override_variant(override: Any) -> tuple[dict[str, Any], KeyReader]:
    reader = KeyReader(override, "pricing.overrides[]")
    variant: dict[str, Any] = {}
    tokens = reader.get("min_prompt_tokens")
    if tokens is not None:
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise PriceValueError(f"min_prompt_tokens is {tokens!r}, expected a non-negative integer")
        variant["min_context_tokens"] = tokens
    start, end = reader.get("utc_start"), reader.get("utc_end")
    days = _weekdays(reader.get("utc_days"))
    if (start is None) != (end is None):
        raise PriceValueError(f"time-of-day override needs utc_start and utc_end, got {start!r} / {end!r}")
    if start is not None:
        start_minute, end_minute = _hhmm_minutes(start, "utc_start"), _hhmm_minutes(end, "utc_end")
        if end_minute == 0 and start_minute > 0:
            end_minute = 1440  # "utc_end": 0 after a later start ends at midnight
        variant["window"] = TimeWindow(start_minute, end_minute, days)
    elif days is not None:
        variant["window"] = TimeWindow(0, 1440, days)  # days only: those whole days
    if not variant:
        raise PriceValueError(
            f"override with neither min_prompt_tokens, utc_start/utc_end nor utc_days: {sorted(override)}"
        )
    return variant, reader


def _weekdays(value: Any) -> tuple[int, ...] | None:
    """``utc_days`` (lowercase English day names) as sorted ISO weekdays, or None."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or any(day not in DAYS for day in value):
        raise PriceValueError(f"utc_days is {str(value)[:80]!r}, expected lowercase English day names")
    return tuple(sorted({DAYS.index(day) + 1 for day in value}))


def _hhmm_minutes(value: Any, key: str) -> int:
    """OpenRouter's HHMM integer (``1630``, ``30``, ``2400``) as minutes after midnight."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2400 or value % 100 >= 60:
        raise PriceValueError(f"{key} is {value!r}, expected an HHMM time such as 1630")
    return (value // 100) * 60 + value % 100


ADAPTER = OpenRouter()
