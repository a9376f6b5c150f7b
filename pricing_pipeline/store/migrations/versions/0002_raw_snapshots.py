"""Archive of raw upstream responses (for audit and replay), one row per distinct body.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from pricing_pipeline.store.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "raw_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("first_fetched_at", UtcDateTime(), nullable=False),
        sa.Column("first_run_id", sa.String(64)),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("body_gzip", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("provider", "sha256", name="uq_raw_snapshots_provider_sha256"),
    )


def downgrade() -> None:
    op.drop_table("raw_snapshots")
