"""compute.idle_shutdown_minutes: a compute instance stops itself after this long idle

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 16:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idle_shutdown_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compute", schema=None) as batch_op:
        batch_op.drop_column("idle_shutdown_minutes")
