"""Initial pricing schema: sync log, live prices, price history, change log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from pricing_pipeline.store.types import ExactDecimal, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _price_columns():
    return [
        sa.Column("input_usd_per_mtok", ExactDecimal()),
        sa.Column("output_usd_per_mtok", ExactDecimal()),
        sa.Column("cache_read_usd_per_mtok", ExactDecimal()),
        sa.Column("cache_write_usd_per_mtok", ExactDecimal()),
        sa.Column("request_usd", ExactDecimal()),
        sa.Column("image_usd", ExactDecimal()),
        sa.Column("variable_pricing", sa.Boolean(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("upstream_provider", sa.String(200)),
        sa.Column("upstream_model_id", sa.String(400)),
        sa.Column("raw_pricing", sa.JSON()),
    ]


def upgrade() -> None:
    op.create_table(
        "sync_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), unique=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("models_fetched", sa.Integer()),
        sa.Column("models_added", sa.Integer()),
        sa.Column("models_changed", sa.Integer()),
        sa.Column("models_removed", sa.Integer()),
        sa.Column("error_type", sa.String(32)),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_sync_log_provider_started", "sync_log", ["provider", "started_at"])
    op.create_table(
        "model_prices",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("model_id", sa.String(400), primary_key=True),
        *_price_columns(),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("removed_at", UtcDateTime()),
    )
    op.create_table(
        "price_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(400), nullable=False),
        *_price_columns(),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_to", UtcDateTime()),
        sa.Column("sync_id", sa.Integer(), sa.ForeignKey("sync_log.id"), nullable=False),
    )
    op.create_index("ix_price_history_lookup", "price_history", ["provider", "model_id", "valid_from"])
    op.create_table(
        "price_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("sync_id", sa.Integer(), sa.ForeignKey("sync_log.id"), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("accepted_by", sa.String(200)),
        sa.Column("accept_reason", sa.Text()),
    )
    op.create_index("ix_price_changes_provider_changed", "price_changes", ["provider", "changed_at"])


def downgrade() -> None:
    op.drop_table("price_changes")
    op.drop_table("price_history")
    op.drop_table("model_prices")
    op.drop_table("sync_log")
