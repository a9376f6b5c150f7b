"""Alembic migrations of the pricing database, applied programmatically (no alembic.ini).

Every run migrates on first use, and the schedule starts eight runs at once: migrations are
serialized (a PostgreSQL advisory lock, a lock file beside an SQLite database) so that only
the first run migrates and the others find the schema at head.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, inspect, text

# Alembic loads lazily: most processes find the schema current (one SELECT) and never need it.

MIGRATIONS_DIR = Path(__file__).resolve().parent
# An arbitrary constant key for pg_advisory_xact_lock: "pricing migrate".
POSTGRES_MIGRATION_LOCK_KEY = 0x70726D67
_PROCESS_LOCK = threading.Lock()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Every run worker does this at start: when the
    database is already at the head, it costs one query and no Alembic."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

    # Alembic's environment is module-level state: one upgrade at a time per process (the daemon
    # evaluates sensors in threads, and each may be the first to use an empty database).
    with _PROCESS_LOCK, _sqlite_file_lock(engine):
        command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    """The revision no other revision builds on, read from the version files' headers."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text()
        revisions.update(re.findall(r'^revision = "([^"]+)"', source, re.M))
        parents.update(re.findall(r'^down_revision = "([^"]+)"', source, re.M))
    (head,) = revisions - parents
    return head


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
