"""The code location as the daemon tests load it: configuration from the environment (the
test sets the database and Pushgateway URLs), like the production code location."""

from dagster import EnvVar

from pricing_pipeline.definitions import build_definitions
from pricing_pipeline.defs.metrics.resources import MetricsPublisher
from pricing_pipeline.defs.sync.resources import PricingDatabase, UpstreamApi

defs = build_definitions(
    {
        "pricing_db": PricingDatabase(url=EnvVar("PRICING_DATABASE_URL")),
        "upstream": UpstreamApi(timeout_seconds=2, connect_timeout_seconds=1),
        "metrics": MetricsPublisher(pushgateway_url=EnvVar("PRICING_PUSHGATEWAY_URL")),
    }
)
