"""LiteLLM's price catalog: model_prices_and_context_window.json from its GitHub raw URL.

``{model_key: {litellm_provider, mode, input_cost_per_token, output_cost_per_token,
cache_read_input_token_cost?, ..., tiered_pricing?, search_context_cost_per_query?}}``:
JSON numbers in USD per token (per image, per second, per query, ... for those keys).

* ``model_id`` is the catalog key; ``upstream_provider`` is ``litellm_provider``;
  ``upstream_model_id`` is the key without a leading ``"<litellm_provider>/"``; ``mode``
  gives the model type.
* Every ``*cost*`` key is read by one grammar: a base key from :data:`PRICES` (which names
  the component and unit), then optionally ``_above_<N>k_tokens`` (a context tier at
  ``N * 1000`` tokens, applied when the prompt is longer) and optionally ``_priority`` /
  ``_flex`` / ``_batches`` (a service tier). ``cache_creation_input_token_cost`` is the
  5-minute cache write and ``..._above_1hr`` the 1-hour one; ``input_cost_per_token_cache_hit``
  is an older name of the cache-read price.
* ``tiered_pricing`` ranges ``{range: [from, to], <cost keys>}`` are context tiers starting
  at ``from`` tokens (the range from 0 holds the base prices). Ranges over
  ``max_results_range`` (search APIs priced by result count) have no dimension here and are
  reported as an unknown key.
* ``search_context_cost_per_query`` ``{search_context_size_low|medium|high}`` are web-search
  prices per search by context size (``web_search_low_context``, ...).
* ``regional_processing_uplift_multiplier_<region>`` multiplies every price in that region:
  each component gets a ``region`` variant at the multiplied price.
* Databricks' ``*_dbu_cost_per_token`` prices are in DBUs, not USD: known and not read.
  Any other ``*cost*`` / pricing key this grammar does not know is reported as unknown.
* ``off_peak_pricing`` ``{hours_utc: "HH:MM-HH:MM" or a list of them, <cost keys>}``: the
  cost keys (same grammar) apply in those UTC windows, every day; start inclusive, end
  exclusive, a window may wrap midnight, and a start equal to its end is the whole day.
  Each becomes a time-window variant (``window_utc``). Any other key in it is reported.
* ``prompt_cache_min_tokens`` (the smallest prompt that is cached) is not a price and is not
  read as one.
* Every key names its unit (``..._per_token``, ``..._per_second``, ``..._per_image``): the
  domain's unit resolver takes them as stated (``keys_name_units``); its never-free rule
  still applies (a media model listed at zero per token is not free).
* Entries with no price (e.g. subscription-only ``chatgpt/*``) are records with no
  components: unknown, never zero.
* ``sample_spec`` is the schema's documentation. Other keys without ``litellm_provider``
  (e.g. ``fallback_generalizations``, routing rules) are not models and are skipped, unless
  they carry a ``*cost*`` field, which means a priced model lost its provider: rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pricing_pipeline.pricing.modality import LITELLM_MODES, type_from_word
from pricing_pipeline.pricing.records import USD_PER_MTOK, PriceComponent, PriceRecord, TimeWindow
from pricing_pipeline.pricing.units import PriceValueError, round_price, to_decimal
from pricing_pipeline.providers.base import ProviderAdapter, Upstream
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.keys import PER_TOKEN, KeyReader, Price, expect_number

URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"

DOC_KEYS = frozenset({"sample_spec"})

PRICES = {
    "input_cost_per_token": Price("input", USD_PER_MTOK, PER_TOKEN),
    "output_cost_per_token": Price("output", USD_PER_MTOK, PER_TOKEN),
    "cache_read_input_token_cost": Price("cache_read", USD_PER_MTOK, PER_TOKEN),
    "input_cost_per_token_cache_hit": Price("cache_read", USD_PER_MTOK, PER_TOKEN),
    "cache_creation_input_token_cost": Price("cache_write_5m", USD_PER_MTOK, PER_TOKEN),
    "cache_creation_input_token_cost_above_1hr": Price("cache_write_1h", USD_PER_MTOK, PER_TOKEN),
    "output_cost_per_reasoning_token": Price("reasoning", USD_PER_MTOK, PER_TOKEN),
    "input_cost_per_audio_token": Price("audio_input", USD_PER_MTOK, PER_TOKEN),
    "output_cost_per_audio_token": Price("audio_output", USD_PER_MTOK, PER_TOKEN),
    "cache_read_input_audio_token_cost": Price("audio_cache_read", USD_PER_MTOK, PER_TOKEN),
    "cache_creation_input_audio_token_cost": Price("audio_cache_write", USD_PER_MTOK, PER_TOKEN),
    "input_cost_per_image_token": Price("image_input", USD_PER_MTOK, PER_TOKEN),
    "output_cost_per_image_token": Price("image_output", USD_PER_MTOK, PER_TOKEN),
    "output_cost_per_video_token": Price("video_output", USD_PER_MTOK, PER_TOKEN),
    "citation_cost_per_token": Price("citation", USD_PER_MTOK, PER_TOKEN),
    "input_cost_per_character": Price("input", "usd_per_mchar", PER_TOKEN),
    "output_cost_per_character": Price("output", "usd_per_mchar", PER_TOKEN),
    "input_cost_per_pixel": Price("image_input", "usd_per_mpixel", PER_TOKEN),
    "output_cost_per_pixel": Price("image_output", "usd_per_mpixel", PER_TOKEN),
    "input_cost_per_image": Price("image_input", "usd_per_image"),
    "output_cost_per_image": Price("image_output", "usd_per_image"),
    "input_cost_per_request": Price("request", "usd_per_request"),
    "input_cost_per_second": Price("input", "usd_per_second"),
    "output_cost_per_second": Price("output", "usd_per_second"),
    "input_cost_per_audio_per_second": Price("audio_input", "usd_per_second"),
    "input_cost_per_video_per_second": Price("video_input", "usd_per_second"),
    "output_cost_per_video_per_second": Price("video_output", "usd_per_second"),
    "input_cost_per_query": Price("search_query", "usd_per_query"),
    "ocr_cost_per_page": Price("ocr", "usd_per_page"),
    "annotation_cost_per_page": Price("annotation", "usd_per_page"),
    "code_interpreter_cost_per_session": Price("code_interpreter", "usd_per_session"),
}
SERVICE_TIER_SUFFIXES = {"priority": "priority", "flex": "flex", "batches": "batch"}
COST_KEY = re.compile(
    "^(?P<base>" + "|".join(sorted(map(re.escape, PRICES), key=len, reverse=True)) + ")"
    r"(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>" + "|".join(SERVICE_TIER_SUFFIXES) + "))?$"
)
NOT_USD = re.compile(r"^(input|output)_dbu_cost_per_token$")
SEARCH_CONTEXT_SIZES = {
    "search_context_size_low": "web_search_low_context",
    "search_context_size_medium": "web_search_medium_context",
    "search_context_size_high": "web_search_high_context",
}
# An older name of a price next to its current name: where an entry has both, the current
# name wins (they are not a contradiction).
LEGACY_ALIASES = {"input_cost_per_token_cache_hit": "cache_read_input_token_cost"}
REGION_MULTIPLIER = re.compile(r"^regional_processing_uplift_multiplier_(?P<region>[a-z0-9_-]+)$")
OFF_PEAK_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])$")


def is_pricing_key(key: str) -> bool:
    return "cost" in key or "pric" in key or key.startswith("regional_processing_uplift")


class LiteLLM(ProviderAdapter):
    upstream = Upstream("litellm", URL, min_models=1500, reference_catalog=True)
    keys_name_units = True

    def entries(self, payload: Any) -> Iterator[tuple[str, Any]]:
        if not isinstance(payload, dict):
            raise InvalidResponse(self.name, f"expected a JSON object of models, got {type(payload).__name__}")
        found = False
        for key, entry in payload.items():
            if key in DOC_KEYS:
                continue
            if isinstance(entry, dict) and "litellm_provider" not in entry:
                if any("cost" in field for field in entry):
                    raise InvalidResponse(self.name, f"model {key!r} has prices but no litellm_provider")
                continue  # metadata such as fallback_generalizations, not a model
            found = True
            yield key, entry
        if not found:
            raise InvalidResponse(self.name, "catalog has no models")

    def normalize(self, model_id: str, entry: Any) -> PriceRecord | None:
        if not isinstance(entry, dict):
            raise TypeError(f"entry is {type(entry).__name__}, expected an object")
        provider = entry["litellm_provider"]
        if not isinstance(provider, str) or not provider:
            raise TypeError(f"litellm_provider is {provider!r}, expected a string")
        components: list[PriceComponent] = []
        unknown: list[str] = []
        multipliers: dict[str, Decimal] = {}
        for key, value in entry.items():
            if not is_pricing_key(key) or value is None or entry.get(LEGACY_ALIASES.get(key, "")) is not None:
                continue
            if key == "tiered_pricing":
                components += _ranges(value, unknown)
            elif key == "off_peak_pricing":
                components += _off_peak(value, unknown)
            elif key == "search_context_cost_per_query":
                components += _search_context(value)
            elif match := REGION_MULTIPLIER.match(key):
                multipliers[match["region"]] = to_decimal(expect_number(value, key))
            elif match := COST_KEY.match(key):
                components += _cost(match, value, key)
            elif not NOT_USD.match(key):
                unknown.append(key)
        for region, factor in sorted(multipliers.items()):
            components += [
                PriceComponent(c.component, c.unit, None if c.usd is None else round_price(c.usd * factor),
                               c.min_context_tokens, c.window, c.service_tier, region)
                for c in components if c.region is None
            ]
        prefix = provider + "/"
        mode = entry.get("mode")
        return PriceRecord.from_components(
            self.name,
            model_id,
            components,
            upstream_provider=provider,
            upstream_model_id=model_id[len(prefix):] if model_id.startswith(prefix) else model_id,
            model_type=type_from_word(LITELLM_MODES, mode),
            raw=entry,
            unknown_keys=tuple(unknown),
        )


def _cost(match: re.Match, value: Any, key: str, min_context_tokens: int = 0,
          window: TimeWindow | None = None) -> list[PriceComponent]:
    value = expect_number(value, key)
    if value is None:
        return []
    price = PRICES[match["base"]]
    return [
        PriceComponent(
            price.component,
            price.unit,
            round_price(to_decimal(value) * price.scale),
            min_context_tokens=int(match["k"]) * 1000 if match["k"] else min_context_tokens,
            service_tier=SERVICE_TIER_SUFFIXES[match["tier"]] if match["tier"] else "standard",
            window=window,
        )
    ]


def _off_peak(value: Any, unknown: list[str]) -> list[PriceComponent]:
    reader = KeyReader(value, "off_peak_pricing")
    hours = reader.get("hours_utc")
    spans = [hours] if isinstance(hours, str) else hours
    if not isinstance(spans, list) or not spans or not all(isinstance(h, str) for h in spans):
        raise PriceValueError(f"off_peak_pricing.hours_utc is {hours!r}, expected 'HH:MM-HH:MM' or a list of them")
    windows = [_window(span) for span in spans]
    out = []
    for key in list(reader.obj):
        if key != "hours_utc" and (match := COST_KEY.match(key)):
            for window in windows:
                out += _cost(match, reader.get(key), f"off_peak_pricing.{key}", window=window)
    unknown += reader.unknown()
    return out


def _window(span: str) -> TimeWindow:
    match = OFF_PEAK_WINDOW.match(span)
    if not match:
        raise PriceValueError(f"off_peak_pricing.hours_utc window {span[:40]!r}, expected 'HH:MM-HH:MM'")
    start, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
    if end > 1440:
        raise PriceValueError(f"off_peak_pricing.hours_utc window {span!r} ends after 24:00")
    if start == end:  # LiteLLM: a window whose start equals its end is the whole day
        return TimeWindow(0, 1440)
    return TimeWindow(start, end)


def _ranges(ranges: Any, unknown: list[str]) -> list[PriceComponent]:
    if not isinstance(ranges, list):
        raise TypeError(f"tiered_pricing is {type(ranges).__name__}, expected a list")
    out = []
    for row in ranges:
        reader = KeyReader(row, "tiered_pricing[]")
        bounds = reader.get("range")
        if bounds is None:  # a range over something else (max_results_range): no such dimension
            unknown += reader.unknown()
            continue
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise PriceValueError(f"tiered_pricing range is {bounds!r}, expected [from, to]")
        start = to_decimal(expect_number(bounds[0], "tiered_pricing range"))
        if start < 0 or start != start.to_integral_value():
            raise PriceValueError(f"tiered_pricing range starts at {bounds[0]!r}, expected a token count")
        for key in list(row):
            if (match := COST_KEY.match(key)) and not match["k"]:
                out += _cost(match, reader.get(key), key, int(start))
        unknown += reader.unknown()
    return out


def _search_context(prices: Any) -> list[PriceComponent]:
    reader = KeyReader(prices, "search_context_cost_per_query")
    table = {key: Price(component, "usd_per_search") for key, component in SEARCH_CONTEXT_SIZES.items()}
    found = reader.components(table, expect_number)
    if reader.unknown():
        raise PriceValueError(f"unknown search context sizes: {reader.unknown()}")
    return found


ADAPTER = LiteLLM()
