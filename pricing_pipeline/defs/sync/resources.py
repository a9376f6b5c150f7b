"""Resources: configuration is swapped in tests, code is not."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from pricing_pipeline.defs.metrics import usage
from pricing_pipeline.providers import _http
from pricing_pipeline.providers.base import ProviderAdapter
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

    def fetch(self, adapter: ProviderAdapter) -> _http.FetchResult:
        return adapter.fetch(
            _http.HttpSettings(
                timeout_seconds=self.timeout_seconds,
                connect_timeout_seconds=self.connect_timeout_seconds,
                max_response_bytes=self.max_response_bytes,
            )
        )


class MetricsPublisher(ConfigurableResource):
    """Where the metrics of monitoring/METRICS.md are pushed: a Prometheus Pushgateway
    (``PRICING_PUSHGATEWAY_URL``). Empty URL: publishing is off and the sensors and hooks of
    ``pricing_pipeline.defs.metrics`` do nothing."""

    pushgateway_url: str = ""
    job: str = "pricing_pipeline"
    # A push must never hold up a sync: short HTTP timeout, short wait for the push lock.
    timeout_seconds: float = 3.0
    lock_timeout_seconds: float = 5.0

    _usage_baseline: usage.UsageBaseline | None = PrivateAttr(default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.pushgateway_url.strip())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Initialized once at the start of a run (in-process executor): the baseline of the
        # run's CPU time and peak memory. Not in sensors (no run).
        if self.enabled and context.run is not None:
            self._usage_baseline = usage.start()

    @property
    def usage_baseline(self) -> usage.UsageBaseline | None:
        return self._usage_baseline


def pushgateway_url_config():
    """Like the database URL: may carry credentials, so an EnvVar when set; empty (publishing
    off) when unset."""
    if os.environ.get("PRICING_PUSHGATEWAY_URL"):
        return EnvVar("PRICING_PUSHGATEWAY_URL")
    return ""


def database_url_config():
    """The URL may carry a password: when set, pass it as an EnvVar so Dagster never shows
    or stores its value; otherwise the embedded SQLite default."""
    if os.environ.get("PRICING_DATABASE_URL"):
        return EnvVar("PRICING_DATABASE_URL")
    return default_database_url()


def default_resources() -> dict:
    return {
        "pricing_db": PricingDatabase(url=database_url_config()),
        "upstream": UpstreamApi(
            timeout_seconds=float(os.environ.get("PRICING_HTTP_TIMEOUT_SECONDS", _http.DEFAULT_TIMEOUT_SECONDS)),
        ),
        "metrics": MetricsPublisher(pushgateway_url=pushgateway_url_config()),
    }
