"""OpenRouter's real endpoint lists (two consecutive days), published through the real fetch,
and bills written from the recordings' raw prices with plain Decimal arithmetic (never with
the code under test)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing_pipeline.defs.sync.resources import UpstreamApi
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.holds import reviewer
from pricing_pipeline.providers.registry import get_adapter
from pricing_pipeline.store import holds
from pricing_pipeline_tests.recordings import ENDPOINTS_DIR, require_file

DAY1, DAY2 = "2026-07-20", "2026-07-21"
PUBLISHED_AT = {DAY1: datetime(2026, 7, 20, 12, tzinfo=UTC), DAY2: datetime(2026, 7, 21, 12, tzinfo=UTC)}


def serve_day(upstream, monkeypatch, day: str) -> None:
    folder = require_file(ENDPOINTS_DIR / day)
    monkeypatch.setenv("PRICING_OPENROUTER_URL", upstream.serve_file("/api/v1/models", folder / "models.json"))
    upstream.serve_tree("/api/v1/models", folder / "endpoints", "/endpoints")


def sync_day(store, upstream, monkeypatch, day: str, run_id: str | None = None):
    """Fetch the day's list and every model's endpoints as a sync does, and publish."""
    serve_day(upstream, monkeypatch, day)
    adapter, api = get_adapter("openrouter"), UpstreamApi()
    listed = api.fetch(adapter)
    details = api.fetch_details(adapter, listed.body)
    snapshot = adapter.with_details(adapter.parse_body(listed.body), details.bodies, details.failures)
    return store.publish("openrouter", snapshot.records, run_id=run_id or f"sync-{day}",
                         published_at=PUBLISHED_AT[day], quarantined=snapshot.quarantined,
                         endpoints_unread=snapshot.endpoints_unread,
                         review=reviewer(snapshot.records, GuardThresholds(), canonical=holds.canonical))


def endpoint_body(day: str, model_id: str) -> dict:
    return json.loads((require_file(ENDPOINTS_DIR / day) / "endpoints" / f"{model_id}.json").read_bytes())


def raw_endpoint(day: str, model_id: str, tag: str) -> dict:
    return next(e for e in endpoint_body(day, model_id)["data"]["endpoints"] if e["tag"] == tag)


def billed(pricing: dict, prompt: int, completion: int, cached: int = 0, cache_write: int = 0) -> Decimal:
    """What OpenRouter charges for the tokens at an endpoint, from its raw pricing (USD per
    token strings; a long-prompt override applies above its min_prompt_tokens)."""
    prices = dict(pricing)
    for override in pricing.get("overrides") or []:
        if "min_prompt_tokens" in override and prompt > override["min_prompt_tokens"]:
            prices.update({k: v for k, v in override.items() if k != "min_prompt_tokens"})
    price = {k: Decimal(v) for k, v in prices.items() if isinstance(v, str)}
    read = price.get("input_cache_read", price["prompt"]) if cached else Decimal(0)
    write = price.get("input_cache_write", price["prompt"]) if cache_write else Decimal(0)
    return ((prompt - cached - cache_write) * price["prompt"] + cached * read + cache_write * write
            + completion * price["completion"])


def bill_line(model: str, provider: str, created: datetime, prompt: int, completion: int, cost: Decimal,
              request_id: str = "gen-1", **usage) -> str:
    details = {k: v for k, v in {"cached_tokens": usage.pop("cached", 0),
                                 "cache_write_tokens": usage.pop("cache_write", 0)}.items() if v}
    body = {"id": request_id, "model": model, "provider": provider, "created": int(created.timestamp()),
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": details, "cost": format(cost, "f"), **usage}}
    return json.dumps(body).replace(f'"{format(cost, "f")}"', format(cost, "f"))  # a JSON number, as sent


@pytest.fixture
def day1(store, upstream, monkeypatch):
    sync_day(store, upstream, monkeypatch, DAY1)
    return store
