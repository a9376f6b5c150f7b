"""Price components (long form), model types, quarantined models in the sync log.

Existing prices and their whole history are carried over: every ``price_history`` row's
prices (the six price columns and the context tiers) become ``price_components`` rows with
the same ``valid_from`` / ``valid_to`` / ``sync_id``.

Revision ID: 0003
Revises: 0002
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from pricing_pipeline.store.types import ExactDecimal, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The column -> (component, unit) mapping as of this revision (records.FIELD_COMPONENTS).
COLUMNS = {
    "input_usd_per_mtok": ("input", "usd_per_mtok"),
    "output_usd_per_mtok": ("output", "usd_per_mtok"),
    "cache_read_usd_per_mtok": ("cache_read", "usd_per_mtok"),
    "cache_write_usd_per_mtok": ("cache_write_5m", "usd_per_mtok"),
    "request_usd": ("request", "usd_per_request"),
    "image_usd": ("image_output", "usd_per_image"),
}
TIER_COLUMNS = tuple(COLUMNS)[:4]
BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "price_components",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(400), nullable=False),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("min_context_tokens", sa.Integer(), nullable=False),
        sa.Column("window_start_minute", sa.Integer()),
        sa.Column("window_end_minute", sa.Integer()),
        sa.Column("weekdays", sa.String(16)),
        sa.Column("service_tier", sa.String(16), nullable=False),
        sa.Column("region", sa.String(64)),
        sa.Column("usd", ExactDecimal()),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_to", UtcDateTime()),
        sa.Column("sync_id", sa.Integer(), sa.ForeignKey("sync_log.id"), nullable=False),
    )
    op.create_index(
        "ix_price_components_lookup", "price_components", ["provider", "model_id", "component", "valid_from"]
    )
    for table in ("model_prices", "price_history"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("model_type", sa.String(32)))
    with op.batch_alter_table("sync_log") as batch:
        batch.add_column(sa.Column("models_quarantined", sa.Integer()))
        batch.add_column(sa.Column("quarantined", sa.JSON()))
    _carry_over_history()


def _carry_over_history() -> None:
    meta = sa.MetaData()
    history = sa.Table(
        "price_history",
        meta,
        sa.Column("provider", sa.String(64)),
        sa.Column("model_id", sa.String(400)),
        *(sa.Column(name, ExactDecimal()) for name in COLUMNS),
        sa.Column("tiers", sa.JSON()),
        sa.Column("valid_from", UtcDateTime()),
        sa.Column("valid_to", UtcDateTime()),
        sa.Column("sync_id", sa.Integer()),
    )
    components = sa.Table(
        "price_components",
        meta,
        *(sa.Column(name, sa.String()) for name in ("provider", "model_id", "component", "unit", "service_tier")),
        sa.Column("min_context_tokens", sa.Integer()),
        sa.Column("usd", ExactDecimal()),
        sa.Column("valid_from", UtcDateTime()),
        sa.Column("valid_to", UtcDateTime()),
        sa.Column("sync_id", sa.Integer()),
    )
    conn = op.get_bind()
    rows = []
    for row in conn.execute(sa.select(history)).mappings():
        common = {
            "provider": row["provider"],
            "model_id": row["model_id"],
            "service_tier": "standard",
            "valid_from": row["valid_from"],
            "valid_to": row["valid_to"],
            "sync_id": row["sync_id"],
        }
        for name, (component, unit) in COLUMNS.items():
            if row[name] is not None:
                rows.append({**common, "component": component, "unit": unit, "min_context_tokens": 0, "usd": row[name]})
        for tier in row["tiers"] or ():
            for name in TIER_COLUMNS:
                if tier.get(name) is not None:
                    component, unit = COLUMNS[name]
                    rows.append({
                        **common, "component": component, "unit": unit,
                        "min_context_tokens": int(tier["min_context_tokens"]), "usd": Decimal(str(tier[name])),
                    })
        if len(rows) >= BATCH:
            conn.execute(sa.insert(components), rows)
            rows = []
    if rows:
        conn.execute(sa.insert(components), rows)


def downgrade() -> None:
    with op.batch_alter_table("sync_log") as batch:
        batch.drop_column("quarantined")
        batch.drop_column("models_quarantined")
    for table in ("price_history", "model_prices"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("model_type")
    op.drop_index("ix_price_components_lookup", table_name="price_components")
    op.drop_table("price_components")
