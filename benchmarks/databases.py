"""Throwaway PostgreSQL databases for the benchmarks: created on the server an admin URL
names, each dropped afterwards (WITH (FORCE): a benchmark's child may still hold a connection)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


class ThrowawayDatabases:
    def __init__(self, admin_url: str):
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, prefix: str, **settings: str) -> str:
        """A new empty database's URL; ``settings`` are ``ALTER DATABASE ... SET`` parameters."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            for parameter, value in settings.items():
                conn.execute(sa.text(f'ALTER DATABASE "{name}" SET {parameter} = {value}'))
        self.names.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = sa.make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.names.remove(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.names.clear()
        self.admin.dispose()
