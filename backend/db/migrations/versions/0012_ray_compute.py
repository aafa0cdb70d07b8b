"""compute.address: an attached Ray cluster's Jobs API or Client address (type: ray)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("compute", schema=None) as batch_op:
        batch_op.drop_column("address")
