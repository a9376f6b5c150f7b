"""Per-endpoint prices (a model's upstream routes: tag and quantization on the price rows,
the endpoint fetch failures of a sync) and the bills a gateway logs, with their
reconciliation against our prices.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from pricing_pipeline.store.types import ExactDecimal, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("model_prices", "price_history"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("upstream_tag", sa.String(200)))
            batch.add_column(sa.Column("quantization", sa.String(32)))
    with op.batch_alter_table("sync_log") as batch:
        batch.add_column(sa.Column("endpoint_fetch_failures", sa.Integer))
        batch.add_column(sa.Column("endpoints_fetched", sa.Integer))
        batch.add_column(sa.Column("endpoint_fetch_failed", sa.JSON))
    op.create_table(
        "billed_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(400), nullable=False),
        sa.Column("upstream_provider", sa.String(200)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("usage", sa.JSON, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("provider", "request_id", name="uq_billed_requests_provider_request"),
    )
    op.create_table(
        "bill_reconciliations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("billed_request_id", sa.Integer, sa.ForeignKey("billed_requests.id"), nullable=False, unique=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(400), nullable=False),
        sa.Column("upstream_provider", sa.String(200)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("our_usd", ExactDecimal),
        sa.Column("billed_usd", ExactDecimal),
        sa.Column("fees_usd", ExactDecimal),
        sa.Column("priced_model_id", sa.String(400)),
        sa.Column("price_valid_from", UtcDateTime),
        sa.Column("error", sa.Text),
        sa.Column("reconciled_at", UtcDateTime, nullable=False),
        sa.Column("run_id", sa.String(64)),
    )
    op.create_index("ix_bill_reconciliations_provider_created", "bill_reconciliations", ["provider", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bill_reconciliations_provider_created", "bill_reconciliations")
    op.drop_table("bill_reconciliations")
    op.drop_table("billed_requests")
    with op.batch_alter_table("sync_log") as batch:
        batch.drop_column("endpoints_fetched")
        batch.drop_column("endpoint_fetch_failed")
        batch.drop_column("endpoint_fetch_failures")
    for table in ("price_history", "model_prices"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("quantization")
            batch.drop_column("upstream_tag")
