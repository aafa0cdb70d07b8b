"""What is running in a workspace; a workspace with running work cannot be deleted."""

from __future__ import annotations

from sqlmodel import Session, select


def running_work_in(*, session: Session, workspace_id: int) -> list[str]:
    from backend.db.models import Environment, EnvironmentBuild
    from backend.services.environment_builds import ACTIVE_BUILD_STATES

    builds = session.exec(
        select(Environment.name, Environment.version)
        .join(EnvironmentBuild, EnvironmentBuild.spec_hash == Environment.spec_hash)
        .where(Environment.workspace_id == workspace_id, EnvironmentBuild.status.in_(ACTIVE_BUILD_STATES))
        .order_by(Environment.name, Environment.version)
    ).all()
    from backend.services.jobs import active_jobs_in

    return active_jobs_in(session=session, workspace_id=workspace_id) + [
        f"environment build {name}:{version}" for name, version in builds
    ]
