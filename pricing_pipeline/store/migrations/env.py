from alembic import context
from sqlalchemy import text

from pricing_pipeline.store.migrations import POSTGRES_MIGRATION_LOCK_KEY
from pricing_pipeline.store.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends; Alembic reads the current revision after it.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK_KEY})
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
