"""The HTTP service started for real (uvicorn on a free port) over published recordings."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter

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
