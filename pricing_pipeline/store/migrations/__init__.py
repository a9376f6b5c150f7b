"""Alembic migrations of the pricing database, applied programmatically (no alembic.ini).

Every run migrates on first use, and the schedule starts eight runs at once: migrations are
serialized (a PostgreSQL advisory lock, a lock file beside an SQLite database) so that only
the first run migrates and the others find the schema at head.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
# An arbitrary constant key for pg_advisory_xact_lock: "pricing migrate".
POSTGRES_MIGRATION_LOCK_KEY = 0x70726D67


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _sqlite_file_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
