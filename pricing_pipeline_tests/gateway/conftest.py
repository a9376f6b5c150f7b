"""The gateway's tests: OpenRouter's real endpoint lists (two consecutive days) published through
the real fetch, bills written from the recordings' raw prices with plain Decimal arithmetic (never
with the code under test), and the HTTP service started for real (uvicorn on a free port) over
published recordings."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pricing_pipeline.defs.sync.resources import UpstreamApi
from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.holds import reviewer
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter
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


RESOLD = [p for p in PROVIDER_NAMES if not get_adapter(p).reference_catalog]


class RunningService:
    """``app`` served by uvicorn in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, app):
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> RunningService:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()


@dataclass
class Published:
    database_url: str
    feeds_dir: Path
    store: object


def publish_all(folder: Path, payloads, providers=PROVIDER_NAMES) -> Published:
    """Every recording published to an SQLite file in ``folder``, and the feeds written, as the
    price_feeds asset writes them (feeds/ beside it)."""
    from pricing_pipeline.defs.feeds.assets import write_feeds
    from pricing_pipeline.defs.feeds.resources import FeedsOutput
    from pricing_pipeline.store import PricingStore

    url = f"sqlite:///{folder / 'pricing.db'}"
    store = PricingStore(url)
    store.migrate()
    for provider in providers:
        store.publish(provider, get_adapter(provider).records(payloads.get(provider)))
    write_feeds(store, FeedsOutput(directory=str(folder / "feeds")))
    return Published(url, folder / "feeds", store)


@pytest.fixture(scope="module")
def published(tmp_path_factory, payloads):
    published = publish_all(tmp_path_factory.mktemp("served"), payloads)
    yield published
    published.store.dispose()


@pytest.fixture(scope="module")
def service(published):
    from pricing_pipeline.gateway.serve import create_app

    with RunningService(create_app(published.database_url, published.feeds_dir)) as running:
        yield running


def read_json(path: Path):
    return json.loads(path.read_bytes())
