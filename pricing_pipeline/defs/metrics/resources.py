"""The metrics publisher's configuration: where to push (a Prometheus Pushgateway)."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from pricing_pipeline.defs.metrics import usage

# Every metrics sensor's skip reason when there is nowhere to push.
PUBLISHING_OFF = "metrics publishing is off: PRICING_PUSHGATEWAY_URL is not set"


class MetricsPublisher(ConfigurableResource):
    """Where the metrics of monitoring/METRICS.md are pushed: a Prometheus Pushgateway
    (``PRICING_PUSHGATEWAY_URL``). Empty URL: publishing is off, the hooks of
    ``pricing_pipeline.defs.metrics`` do nothing and its sensors skip, saying so."""

    pushgateway_url: str = ""
    job: str = "pricing_pipeline"
    # A push must never hold up a sync: short HTTP timeout, short wait for the push lock.
    timeout_seconds: float = 3.0
    lock_timeout_seconds: float = 5.0

    _usage_baseline: float | None = PrivateAttr(default=None)  # CPU seconds at the run's start

    @property
    def enabled(self) -> bool:
        return bool(self.pushgateway_url.strip())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Initialized once at the start of a run (in-process executor): the baseline of the
        # run's CPU time and peak memory. Not in sensors (no run).
        if self.enabled and context.run is not None:
            self._usage_baseline = usage.start()

    @property
    def usage_baseline(self) -> float | None:
        return self._usage_baseline


def pushgateway_url_config():
    """Like the database URL: may carry credentials, so an EnvVar when set; empty (publishing
    off) when unset."""
    if os.environ.get("PRICING_PUSHGATEWAY_URL"):
        return EnvVar("PRICING_PUSHGATEWAY_URL")
    return ""
