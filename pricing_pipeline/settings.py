"""Every tunable of the pipeline in one object, read from ``PRICING_*`` environment variables
once per process (docs/configuration.md lists them all).

Secrets and endpoints are not settings: the database and Pushgateway URLs and the provider
keys reach Dagster resources as ``EnvVar``s (resolved where they are used, never shown), and a
provider's endpoint override (``PRICING_<NAME>_URL``) is read by its adapter.

Schedules and sensors take their intervals when the code location loads; everything else
reads :func:`settings` when it runs. Tests that change a variable call
``settings.cache_clear()`` (conftest does it before every test).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pricing_pipeline.pricing.guard_settings import GuardThresholds
from pricing_pipeline.pricing.matching import DEFAULT_TOLERANCE

# Freshness is a product promise, not a setting: the alert rules, SLOs and dashboards say the
# same (monitoring/code_facts.py writes FRESHNESS_FAIL_AFTER into the rules; the Grafana
# generator imports both), so it cannot be changed in one place by an environment variable.
SYNC_INTERVAL = timedelta(hours=6)
FRESHNESS_WARN_AFTER = timedelta(hours=6)
FRESHNESS_FAIL_AFTER = timedelta(hours=8)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRICING_", frozen=True, extra="ignore", arbitrary_types_allowed=True)

    # schedules (UTC cron)
    sync_cron: str = "0 */6 * * *"
    freshness_check_cron: str = "*/15 * * * *"
    cross_source_cron: str = "30 */6 * * *"
    bills_cron: str = "15 * * * *"
    # upstream requests
    http_timeout_seconds: float = Field(30.0, gt=0)
    retry_max: int = Field(3, ge=0)
    retry_delay_seconds: float = Field(10.0, ge=0)
    # per-model detail requests (OpenRouter's endpoints): at most this many at once
    endpoint_concurrency: int = Field(8, ge=1, le=64)
    # blocking checks and the guard
    min_model_count_ratio: Decimal = Field(Decimal("0.5"), ge=0, le=1)
    max_quarantine_ratio: Decimal = Field(Decimal("0.1"), ge=0, le=1)
    cross_source_tolerance: Decimal = Field(DEFAULT_TOLERANCE, ge=0)
    guard_thresholds: GuardThresholds = Field(default_factory=lambda: GuardThresholds.from_env(os.environ))
    # daemon intervals
    reconcile_seconds: int = Field(30, gt=0)
    feeds_sensor_seconds: int = Field(30, gt=0)
    bills_sensor_seconds: int = Field(30, gt=0)
    metrics_heartbeat_seconds: int = Field(60, gt=0)
    metrics_run_sensor_seconds: int = Field(30, gt=0)
    # the change watcher (defs/watch): one sensor per provider polls its list this often, and
    # the endpoints whose prices changed in the last watch_volatile_hours; never more than
    # watch_max_requests_per_hour requests per provider (its runs' requests included)
    watch_enabled: bool = True
    watch_interval_seconds: int = Field(300, ge=1)
    watch_max_requests_per_hour: int = Field(240, ge=1)
    watch_volatile_hours: float = Field(24.0, gt=0)
    watch_timeout_seconds: float = Field(20.0, gt=0)
    # outputs and the CLI
    feeds_dir: Path | None = None
    workspace: str = "workspace.yaml"

    @field_validator("cross_source_tolerance", "min_model_count_ratio", "max_quarantine_ratio")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("must be a finite number")
        return value

    def watch_budget(self, provider: str) -> int:
        """The watcher's hourly request budget for ``provider``: PRICING_<NAME>_WATCH_MAX_REQUESTS_PER_HOUR
        where set (upstreams' rate limits differ), else watch_max_requests_per_hour."""
        raw = os.environ.get(f"PRICING_{provider.upper()}_WATCH_MAX_REQUESTS_PER_HOUR", "").strip()
        if not raw:
            return self.watch_max_requests_per_hour
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"PRICING_{provider.upper()}_WATCH_MAX_REQUESTS_PER_HOUR must be a whole number >= 1, got {raw!r}")
        return int(raw)

    def feeds_directory(self) -> str:
        if self.feeds_dir:
            return str(self.feeds_dir)
        home = os.environ.get("DAGSTER_HOME") or str(Path.cwd() / ".dagster_home")
        return str(Path(home) / "feeds")


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
