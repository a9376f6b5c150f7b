"""The pricing database: tables, migrations, publish and the read queries. Every SQL
statement of the project lives in this package."""

from pricing_pipeline.store.database import PricingStore, PublishResult
from pricing_pipeline.store.engine import default_database_url

__all__ = ["PricingStore", "PublishResult", "default_database_url"]
