"""OpenRouter: GET /api/v1/models; ``pricing`` values are decimal strings in USD per token.

Keys read (USD per token unless said otherwise): ``prompt`` input, ``completion`` output,
``input_cache_read``, ``input_cache_write`` (the 5-minute write), ``input_cache_write_1h``,
``internal_reasoning``, ``audio`` / ``audio_output`` (audio tokens in / out),
``input_audio_cache`` (cached audio input), ``image_output`` (image output tokens),
``image`` (USD per input image), ``web_search`` (USD per search), ``request`` (USD per
request). Any other key is reported as unknown.

``"-1"`` marks variable pricing (routers such as ``openrouter/auto``): recorded as
``variable_pricing`` with no price, never as a negative or zero price.

``overrides`` is a list of variants, each with the price keys above and what selects it:

* ``min_prompt_tokens``: prompts of more than that many tokens (a context tier);
* ``utc_start`` / ``utc_end``: a UTC time-of-day window written as HHMM integers
  (``1630`` = 16:30, ``30`` = 00:30, ``2400`` = the end of the day); ``utc_end`` below
  ``utc_start`` wraps midnight (``{"utc_start": 1000, "utc_end": 100}`` is 10:00-01:00).
  A window may come with or without a context tier.
"""

from __future__ import annotations

from typing import Any

from pricing_pipeline.pricing.records import PriceRecord, TimeWindow
from pricing_pipeline.pricing.units import PriceValueError
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.keys import KeyReader, Price, expect_decimal_str, usd_per_token

URL = "https://openrouter.ai/api/v1/models"

VARIABLE = "-1"
PRICES = {
    **usd_per_token(
        prompt="input", completion="output", internal_reasoning="reasoning",
        input_cache_read="cache_read", input_cache_write="cache_write_5m", input_cache_write_1h="cache_write_1h",
        audio="audio_input", audio_output="audio_output", input_audio_cache="audio_cache_read",
        image_output="image_output",
    ),
    "image": Price("image_input", "usd_per_image"),
    "web_search": Price("web_search", "usd_per_search"),
    "request": Price("request", "usd_per_request"),
}


class OpenRouter(ProviderAdapter):
    # The API key is optional: the model list is public.
    upstream = Upstream("openrouter", URL, key_env="OPENROUTER_API_KEY", min_models=200)

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        pricing = KeyReader(entry.get("pricing"), "pricing")
        model_type = _model_type(entry.get("architecture"))
        if VARIABLE in (pricing.get("prompt"), pricing.get("completion")):
            pricing.ignore(*pricing.obj)
            return PriceRecord(self.name, model_id, variable_pricing=True, model_type=model_type, raw=pricing.obj)
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
            self.name, model_id, components, model_type=model_type, raw=pricing.obj, unknown_keys=tuple(unknown)
        )


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
    if (start is None) != (end is None):
        raise PriceValueError(f"time-of-day override needs utc_start and utc_end, got {start!r} / {end!r}")
    if start is not None:
        variant["window"] = TimeWindow(_hhmm_minutes(start, "utc_start"), _hhmm_minutes(end, "utc_end"))
    if not variant:
        raise PriceValueError(f"override with neither min_prompt_tokens nor utc_start/utc_end: {sorted(override)}")
    return variant, reader


def _hhmm_minutes(value: Any, key: str) -> int:
    """OpenRouter's HHMM integer (``1630``, ``30``, ``2400``) as minutes after midnight."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2400 or value % 100 >= 60:
        raise PriceValueError(f"{key} is {value!r}, expected an HHMM time such as 1630")
    return (value // 100) * 60 + value % 100


def _model_type(architecture: Any) -> str:
    """chat for models that answer in text; otherwise what they produce."""
    outputs = (architecture.get("output_modalities") if isinstance(architecture, dict) else None) or ["text"]
    if "text" in outputs:
        return "chat"
    if "embeddings" in outputs or "embedding" in outputs:
        return "embedding"
    for kind in ("image", "video", "audio"):
        if kind in outputs:
            return kind
    return "other"


ADAPTER = OpenRouter()
