"""What is running in a workspace; a workspace with running work cannot be deleted."""

from __future__ import annotations

from sqlmodel import Session


def running_work_in(*, session: Session, workspace_id: int) -> list[str]:
    return []
