from dagster import StaticPartitionsDefinition

from pricing_pipeline.providers.registry import PROVIDER_NAMES

# One partition per provider adapter: the registry is the single list of providers.
provider_partitions = StaticPartitionsDefinition(list(PROVIDER_NAMES))
