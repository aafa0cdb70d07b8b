"""indexes for paged lists (jobs by workspace, archived, parent, then creation time or status)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:00:00
"""

from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_listing", ["workspace_id", "archived", "parent_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_job_listing_status",
            ["workspace_id", "archived", "parent_id", "status", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_listing_status")
        batch_op.drop_index("ix_job_listing")
