"""responsible ai: insights, mitigations and model reviews

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rai_insight",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("test_data", sa.Text(), nullable=False),
        sa.Column("train_data", sa.Text(), nullable=True),
        sa.Column("task_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_column", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("job_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("artifact", sa.Text(), nullable=False),
        sa.Column("cohorts", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "name"),
    )
    with op.batch_alter_table("rai_insight", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rai_insight_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rai_insight_model_name"), ["model_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_rai_insight_job_name"), ["job_name"], unique=False)

    op.create_table(
        "model_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reviewer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("insight", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_review_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_review_model_name"), ["model_name"], unique=False)


def downgrade() -> None:
    op.drop_table("model_review")
    op.drop_table("rai_insight")
