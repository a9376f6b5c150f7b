"""The change watcher: one sensor per provider, so a provider whose API fails or is slow never
holds up the others' polls, and each has its own tick history on the Automation page."""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from pricing_pipeline.defs.sync.jobs import price_sync_job
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi
from pricing_pipeline.defs.watch.poll import tick
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter
from pricing_pipeline.settings import settings


def watch_sensor_name(provider: str) -> str:
    return f"watch_{provider}"


def _watch_sensor(provider: str, interval_seconds: int, running: bool):
    @sensor(
        name=watch_sensor_name(provider),
        job=price_sync_job,
        minimum_interval_seconds=interval_seconds,
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description=(
            f"Polls {provider}'s price list every {interval_seconds}s (conditional requests where the API "
            "honours them; otherwise its prices are compared with the last sync's), and the endpoints whose "
            "prices moved lately, within PRICING_WATCH_MAX_REQUESTS_PER_HOUR. A change launches a sync of "
            f"{provider} (the same guard and holds); an unchanged upstream launches nothing and counts as "
            "verified for freshness. The six-hourly schedule stays the floor."
            + ("" if running else " Starts stopped: PRICING_WATCH_ENABLED is false.")
        ),
    )
    def watch(context: SensorEvaluationContext, pricing_db: PricingDatabase, upstream: UpstreamApi):
        watch_upstream = upstream.model_copy(update={"timeout_seconds": min(upstream.timeout_seconds,
                                                                            settings().watch_timeout_seconds)})
        result = tick(context.instance, pricing_db.store, watch_upstream, get_adapter(provider), settings())
        context.log.info(result.message)
        if result.run_request is None:
            return SkipReason(result.message)
        return SensorResult(run_requests=[result.run_request])

    return watch


def watch_sensors() -> list:
    """The watchers as the code location serves them: read when the definitions are built."""
    current = settings()
    return [_watch_sensor(p, current.watch_interval_seconds, current.watch_enabled) for p in PROVIDER_NAMES]
