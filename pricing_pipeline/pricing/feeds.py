"""Price feeds other tools read, built from the published prices (plain Python).

* ``litellm_cost_map``: LiteLLM's ``model_prices_and_context_window.json`` format, so a
  LiteLLM proxy or SDK can load our guarded prices (``litellm.register_model`` or
  ``LITELLM_MODEL_COST_MAP_URL`` with ``MODEL_COST_MAP_MAX_SHRINK_RATIO=0``; docs/pricing-rules.md says how
  each way bills). Keys ``<LiteLLM's provider name>/<model_id>``; per-token costs as JSON
  numbers (LiteLLM reads floats); context tiers as ``_above_<N>k_tokens``, service tiers as
  ``_batches`` / ``_flex`` / ``_priority``; per-character, per-pixel, per-second, per-image
  and image/video-token prices under LiteLLM's own keys. Left out (``prices.json`` has them):
  time-of-day and weekday variants (LiteLLM's ``off_peak_pricing`` has daily windows only and
  one set of prices), regional prices, per-minute prices (LiteLLM has no per-minute key, and
  per second would be an inexact division) and prices of ambiguous unit (always unknown).
* ``prices_feed``: our own versioned feed, every live component as decimal strings and each
  model's last change with its guard outcome.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pricing_pipeline.pricing.cost import TOKEN_PARTS
from pricing_pipeline.pricing.endpoints import endpoint_model, is_endpoint_id
from pricing_pipeline.pricing.records import PER_MILLION_UNITS, USD_PER_MTOK, PriceRecord

SCHEMA_VERSION = 1
MILLION = Decimal(1_000_000)

MODES = {
    "chat": "chat", "embedding": "embedding", "image": "image_generation", "audio": "audio_speech",
    "transcription": "audio_transcription", "rerank": "rerank", "moderation": "moderation",
    "video": "video_generation", "ocr": "ocr", "search": "search",
}
# (component, unit) -> LiteLLM key stem; per-token values are divided by 1M
LITELLM_KEYS = {
    ("input", USD_PER_MTOK): "input_cost_per_token",
    ("output", USD_PER_MTOK): "output_cost_per_token",
    ("cache_read", USD_PER_MTOK): "cache_read_input_token_cost",
    ("cache_write_5m", USD_PER_MTOK): "cache_creation_input_token_cost",
    ("cache_write_1h", USD_PER_MTOK): "cache_creation_input_token_cost_above_1hr",
    ("reasoning", USD_PER_MTOK): "output_cost_per_reasoning_token",
    ("audio_input", USD_PER_MTOK): "input_cost_per_audio_token",
    ("input_audio", USD_PER_MTOK): "input_cost_per_audio_token",
    ("audio_output", USD_PER_MTOK): "output_cost_per_audio_token",
    ("output_audio", USD_PER_MTOK): "output_cost_per_audio_token",
    ("image_output", "usd_per_image"): "output_cost_per_image",
    ("request", "usd_per_request"): "input_cost_per_request",
    ("image_input", USD_PER_MTOK): "input_cost_per_image_token",
    ("image_output", USD_PER_MTOK): "output_cost_per_image_token",
    ("video_output", USD_PER_MTOK): "output_cost_per_video_token",
    ("image_input", "usd_per_image"): "input_cost_per_image",
    ("input", "usd_per_mchar"): "input_cost_per_character",
    ("output", "usd_per_mchar"): "output_cost_per_character",
    ("image_input", "usd_per_mpixel"): "input_cost_per_pixel",
    ("image_output", "usd_per_mpixel"): "output_cost_per_pixel",
    ("input", "usd_per_second"): "input_cost_per_second",
    ("output", "usd_per_second"): "output_cost_per_second",
    ("audio_input", "usd_per_second"): "input_cost_per_audio_per_second",
    ("video_input", "usd_per_second"): "input_cost_per_video_per_second",
    ("video_output", "usd_per_second"): "output_cost_per_video_per_second",
}
# our provider -> LiteLLM's name for it (its ``litellm_provider`` and key prefix, which its
# lookup resolves); a provider not listed keeps our name
LITELLM_PROVIDERS = {"together": "together_ai", "vercel": "vercel_ai_gateway"}
# LiteLLM's keys of the cache parts of the input (cost.TOKEN_PARTS: the billing rules' own list)
PARTS_OF_INPUT = tuple(LITELLM_KEYS[(names[0], USD_PER_MTOK)] for _, names, parent in TOKEN_PARTS
                       if parent == "input" and names[0].startswith("cache_"))
# LiteLLM's key suffix of each of our service tiers (records.SERVICE_TIERS, which cost bills by)
TIER_SUFFIX = {"standard": "", "batch": "_batches", "flex": "_flex", "priority": "_priority"}
TIERED_SUFFIXES = tuple(suffix for suffix in TIER_SUFFIX.values() if suffix)
SEARCH_CONTEXT = {"web_search_low_context": "search_context_size_low",
                  "web_search_medium_context": "search_context_size_medium",
                  "web_search_high_context": "search_context_size_high"}


def litellm_entry(record: PriceRecord) -> dict | None:
    """One model in LiteLLM's format, or None when it has no price LiteLLM can express."""
    entry: dict = {
        "litellm_provider": litellm_provider(record.provider), "mode": MODES.get(record.model_type or "chat", "chat")
    }
    if record.variable_pricing:
        return None
    for component in record.components():
        if component.usd is None or component.window is not None or component.region is not None:
            continue
        value = component.usd / MILLION if component.unit in PER_MILLION_UNITS else component.usd
        if component.component in SEARCH_CONTEXT or component.component == "web_search":
            sizes = entry.setdefault("search_context_cost_per_query", {})
            for size in ([SEARCH_CONTEXT[component.component]] if component.component in SEARCH_CONTEXT
                         else list(SEARCH_CONTEXT.values())):
                sizes.setdefault(size, float(value))
            continue
        stem = LITELLM_KEYS.get((component.component, component.unit))
        if stem is None:
            continue
        if component.min_context_tokens:
            if component.service_tier != "standard" or component.min_context_tokens % 1000:
                continue
            key = f"{stem}_above_{component.min_context_tokens // 1000}k_tokens"
        else:
            key = stem + TIER_SUFFIX[component.service_tier]
        entry[key] = float(value)
    # Our rule for a cache part the model does not price: it stays in the input, billed at the
    # input price of the prompt's context tier. Said explicitly, because LiteLLM otherwise keeps
    # the cache prices of its own entry of the same name, or bills the part at 0 or at the
    # 5-minute price. (A part priced without context tiers keeps its one price in every tier.)
    input_keys = [k for k in entry if k.startswith("input_cost_per_token") and not k.endswith(TIERED_SUFFIXES)]
    for part in [p for p in PARTS_OF_INPUT if p not in entry and "input_cost_per_token" in entry]:
        for input_key in input_keys:
            tier = input_key.removeprefix("input_cost_per_token")
            if not tier or not part.endswith("_above_1hr"):  # LiteLLM has no tiered 1-hour write price
                entry[part + tier] = entry[input_key]
    return entry if len(entry) > 2 else None


def litellm_provider(provider: str) -> str:
    return LITELLM_PROVIDERS.get(provider, provider)


def litellm_key(provider: str, model_id: str) -> str:
    """Our model's key in the LiteLLM feed: ``<LiteLLM's provider name>/<model_id>``."""
    return f"{litellm_provider(provider)}/{model_id}"


def litellm_cost_map(records: list[PriceRecord]) -> dict:
    """LiteLLM's map of every model's headline prices: LiteLLM has no per-route price, so a
    model's endpoints (pricing/endpoints.py) are in prices.json only."""
    out = {}
    for record in sorted(records, key=lambda r: (r.provider, r.model_id)):
        if is_endpoint_id(record.model_id):
            continue
        entry = litellm_entry(record)
        if entry is not None:
            out[litellm_key(record.provider, record.model_id)] = entry
    return out


def prices_feed(
    published, last_changes: dict[tuple[str, str], dict], generated_at: datetime, held: dict[tuple[str, str], dict] | None = None
) -> dict:
    """``published``: PublishedPrice list; ``last_changes``: (provider, model_id) -> its last
    price change row; ``held``: (provider, model_id) -> the price guard's hold row of a model
    whose live price is under review (a flagged proposal waits for a person)."""
    held = held or {}
    providers: dict[str, dict] = {}
    endpoints = []
    for price in sorted(published, key=lambda p: (p.record.provider, p.record.model_id)):
        record = price.record
        if is_endpoint_id(record.model_id):
            endpoints.append(price)
            continue
        providers.setdefault(record.provider, {})[record.model_id] = _feed_entry(price, last_changes, held)
    # each model's endpoints under it, by tag: who serves it, at what price (discount already in)
    for price in endpoints:
        record = price.record
        model = providers.get(record.provider, {}).get(endpoint_model(record.model_id))
        if model is not None:  # the model itself is live (not held as new, not quarantined)
            discount = record.raw.get("discount") if isinstance(record.raw, dict) else None
            model.setdefault("endpoints", {})[record.upstream_tag] = {
                "upstream_provider": record.upstream_provider,
                "quantization": record.quantization,
                "discount": None if discount is None else str(discount),
                **_feed_entry(price, last_changes, held),
            }
    return {"schema_version": SCHEMA_VERSION, "generated_at": generated_at.isoformat(), "providers": providers}


def _feed_entry(price, last_changes: dict, held: dict) -> dict:
    record = price.record
    change = last_changes.get((record.provider, record.model_id))
    hold = held.get((record.provider, record.model_id))
    return {
        "model_type": record.model_type,
        "variable_pricing": record.variable_pricing,
        "valid_from": price.valid_from.isoformat(),
        "components": [c.to_json() for c in record.components()],
        "last_change": None if change is None else {
            "kind": change["kind"],
            "changed_at": change["changed_at"].isoformat(),
            "run_id": change["run_id"],
            "guard": "accepted" if change["accepted_by"] else "passed",
            "accepted_by": change["accepted_by"],
            "accept_reason": change["accept_reason"],
        },
        "held": None if hold is None else {
            "since": hold["held_since"].isoformat(),
            "rule": hold["rules"],
            "reason": hold["reason"],
        },
    }


def component_count(feed: dict) -> int:
    return sum(len(m["components"]) for models in feed["providers"].values() for m in models.values())


