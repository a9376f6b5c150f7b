"""Resources: configuration is swapped in tests, code is not."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from pricing_pipeline.providers import _http, detail_fetch
from pricing_pipeline.providers.base import ProviderAdapter
from pricing_pipeline.settings import settings
from pricing_pipeline.store import PricingStore, default_database_url


class PricingDatabase(ConfigurableResource):
    """The pricing database (PostgreSQL in production, SQLite by default). Migrated to the
    latest schema when a run first uses it."""

    url: str

    _store: PricingStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._store = PricingStore(self.url)
        self._store.migrate()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()

    @property
    def store(self) -> PricingStore:
        if self._store is None:  # used outside a run (e.g. a sensor)
            self._store = PricingStore(self.url)
        return self._store


class UpstreamApi(ConfigurableResource):
    """How we talk to provider APIs. Endpoints come from each adapter (overridable with
    ``PRICING_<NAME>_URL``); API keys from the adapter's environment variable."""

    timeout_seconds: float = _http.DEFAULT_TIMEOUT_SECONDS
    connect_timeout_seconds: float = _http.DEFAULT_CONNECT_TIMEOUT_SECONDS
    max_response_bytes: int = _http.DEFAULT_MAX_RESPONSE_BYTES

    def fetch(self, adapter: ProviderAdapter, conditional: dict[str, str] | None = None) -> _http.FetchResult:
        return adapter.fetch(self._http_settings(), conditional)

    def fetch_details(
        self, adapter: ProviderAdapter, body: bytes, only: Collection[str] | None = None,
        attempts: int = detail_fetch.DEFAULT_ATTEMPTS,
    ) -> detail_fetch.DetailFetch:
        """Every per-model detail request of the list ``body`` (OpenRouter's endpoints), or
        only those of the models ``only`` names (the watcher's runs), at most
        ``PRICING_ENDPOINT_CONCURRENCY`` at a time; failures per model, never raised."""
        urls = adapter.detail_urls(body)
        if only is not None:
            urls = {model_id: url for model_id, url in urls.items() if model_id in only}
        return self.fetch_detail_urls(adapter, urls, attempts)

    def fetch_detail_urls(self, adapter: ProviderAdapter, urls: Mapping[str, str],
                          attempts: int = detail_fetch.DEFAULT_ATTEMPTS) -> detail_fetch.DetailFetch:
        return detail_fetch.fetch_all(adapter.name, urls, adapter.headers(), self._http_settings(),
                                      settings().endpoint_concurrency, attempts)

    def _http_settings(self) -> _http.HttpSettings:
        return _http.HttpSettings(
            timeout_seconds=self.timeout_seconds,
            connect_timeout_seconds=self.connect_timeout_seconds,
            max_response_bytes=self.max_response_bytes,
        )


def database_url_config():
    """The URL may carry a password: when set, pass it as an EnvVar so Dagster never shows
    or stores its value; otherwise the embedded SQLite default."""
    if os.environ.get("PRICING_DATABASE_URL"):
        return EnvVar("PRICING_DATABASE_URL")
    return default_database_url()
