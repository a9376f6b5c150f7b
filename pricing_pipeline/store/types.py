"""Column types that keep money exact and time zone-aware on every backend."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.types import TypeDecorator

from pricing_pipeline.pricing.units import decimal_str


class ExactDecimal(TypeDecorator):
    """NUMERIC (arbitrary precision) on PostgreSQL. SQLite has no decimal type and
    SQLAlchemy would round-trip NUMERIC through float there, so we store the canonical
    decimal string instead."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"prices must be Decimal, got {type(value).__name__}")
        return decimal_str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # PostgreSQL may hand back trailing zeros (NUMERIC keeps the input scale).
        return Decimal(value).normalize() if Decimal(value) != 0 else Decimal(0)


class UtcDateTime(TypeDecorator):
    """Timestamps are UTC-aware in Python; SQLite stores them naive, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use UTC-aware datetimes")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
