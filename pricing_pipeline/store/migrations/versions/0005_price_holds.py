"""Per-model holds of the price guard: the held proposals, the run's held count, and who
decided a guard entry of the change log.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from pricing_pipeline.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_holds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(400), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rules", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hold_group", sa.String(64)),
        sa.Column("proposal", sa.String(32), nullable=False),
        sa.Column("published", sa.JSON()),
        sa.Column("proposed", sa.JSON()),
        sa.Column("proposed_raw", sa.JSON()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_since", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("resolved_at", UtcDateTime()),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolve_reason", sa.Text()),
        sa.Column("resolved_run_id", sa.String(64)),
    )
    op.create_index("ix_price_holds_provider_status", "price_holds", ["provider", "status"])
    with op.batch_alter_table("sync_log") as batch:
        batch.add_column(sa.Column("models_held", sa.Integer()))
    with op.batch_alter_table("price_changes") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(200)))
        batch.add_column(sa.Column("decision_reason", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("price_changes") as batch:
        batch.drop_column("decision_reason")
        batch.drop_column("decided_by")
    with op.batch_alter_table("sync_log") as batch:
        batch.drop_column("models_held")
    op.drop_index("ix_price_holds_provider_status", "price_holds")
    op.drop_table("price_holds")
