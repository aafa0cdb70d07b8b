"""model benchmarks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 02:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benchmark_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("judge", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("job_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("artifact", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    with op.batch_alter_table("benchmark_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benchmark_run_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_benchmark_run_job_name"), ["job_name"], unique=False)


def downgrade() -> None:
    op.drop_table("benchmark_run")
