"""The live row's price fingerprint: a re-sync compares digests instead of whole records.

Existing rows get NULL; the next publish of their provider compares those rows in full once
and fills the digest in.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_prices") as batch:
        batch.add_column(sa.Column("price_fingerprint", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("model_prices") as batch:
        batch.drop_column("price_fingerprint")
