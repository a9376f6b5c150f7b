"""The pricing database's connection: its URL, an engine set up for its dialect, and the
per-provider lock every publish and review takes."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection


def default_database_url() -> str:
    """PRICING_DATABASE_URL, else an SQLite file beside the Dagster instance (or in ./.pricing)."""
    url = os.environ.get("PRICING_DATABASE_URL")
    if url:
        return url
    home = os.environ.get("DAGSTER_HOME")
    folder = Path(home) if home else Path.cwd() / ".pricing"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'pricing.db').resolve()}"


def create_engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def lock_provider(conn: Connection, provider: str) -> None:
    """Serialize concurrent publishes of one provider, so the diff is computed against what
    is really published. Must be the transaction's first statement."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(provider.encode())})
    elif conn.dialect.name == "sqlite":
        # pysqlite begins lazily at the first write, so the diff's reads would run outside
        # the write lock; take it up front.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
