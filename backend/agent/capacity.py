"""How many nodes each compute has free, and cluster scale-up / idle scale-down (SPEC section 6)."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.db.models import Compute, ComputeNodeEvent, Job, utcnow
from backend.statuses import USES_COMPUTE, JobStatus

SERVERLESS = "serverless"


def serverless_slots() -> int:
    return os.cpu_count() or 1


def busy_nodes(session: Session, workspace_id: int, compute: str) -> int:
    used = session.exec(
        select(func.coalesce(func.sum(Job.instance_count), 0)).where(
            Job.workspace_id == workspace_id,
            Job.compute == compute,
            col(Job.status).in_(USES_COMPUTE),
            Job.type == "command",
            col(Job.standby).is_(False),  # a standing-by trial holds nothing until it is released
        )
    ).one()
    return int(used)


def queued_nodes(session: Session, workspace_id: int, compute: str) -> int:
    wanted = session.exec(
        select(func.coalesce(func.sum(Job.instance_count), 0)).where(
            Job.workspace_id == workspace_id,
            Job.compute == compute,
            Job.status == JobStatus.QUEUED,
            Job.type == "command",
            col(Job.standby).is_(False),
        )
    ).one()
    return int(wanted)


def capacity(session: Session, workspace_id: int, compute: str) -> int:
    """Nodes the compute has now (a stopped instance has none; a cluster has its current nodes)."""
    if compute == SERVERLESS:
        return serverless_slots()
    row = _compute(session, workspace_id, compute)
    if row is None:
        return 0
    if row.type == "computeinstance":
        return 1 if row.state == "Running" else 0
    if row.type == "ray":  # the attached cluster's CPUs (0 while it does not answer)
        from backend.services import ray_cluster

        return ray_cluster.cpus(row.address or "")
    if row.address:  # a cluster on Ray: its nodes, as far as the Ray cluster's CPUs hold them
        from backend.services import ray_cluster

        return min(row.current_nodes, ray_cluster.cpus(row.address) // max(1, int(row.cores)))
    return row.current_nodes


def _compute(session: Session, workspace_id: int, name: str) -> Compute | None:
    return session.exec(
        select(Compute).where(Compute.workspace_id == workspace_id, Compute.name == name)
    ).first()


def _record(session: Session, row: Compute, busy: int) -> None:
    last = session.exec(
        select(ComputeNodeEvent)
        .where(ComputeNodeEvent.compute_id == row.id)
        .order_by(col(ComputeNodeEvent.id).desc())
    ).first()
    if last is None or last.nodes != row.current_nodes or last.busy != busy:
        session.add(ComputeNodeEvent(compute_id=row.id, nodes=row.current_nodes, busy=busy))


def scale_clusters(session: Session) -> None:
    """Scale every cluster to its demand now; scale idle clusters down after their idle time."""
    now = utcnow()
    for row in session.exec(select(Compute).where(Compute.type == "amlcompute")).all():
        busy = busy_nodes(session, row.workspace_id, row.name)
        demand = busy + queued_nodes(session, row.workspace_id, row.name)
        target = max(row.min_instances, min(row.max_instances, demand))
        if target > row.current_nodes:
            row.current_nodes = target
            row.updated_at = now
        elif target < row.current_nodes and busy == 0 and demand == 0:
            last_end = session.exec(
                select(func.max(Job.end_time)).where(
                    Job.workspace_id == row.workspace_id, Job.compute == row.name
                )
            ).one()
            idle_since = max(t for t in (last_end, row.updated_at) if t is not None)
            if idle_since.tzinfo is None:
                idle_since = idle_since.replace(tzinfo=now.tzinfo)
            if now - idle_since >= timedelta(seconds=row.idle_time_before_scale_down):
                row.current_nodes = row.min_instances
                row.updated_at = now
        session.add(row)
        _record(session, row, busy)
    session.flush()


def node_history(session: Session, compute_id: int) -> list[tuple]:
    return [
        (e.at, e.nodes, e.busy)
        for e in session.exec(
            select(ComputeNodeEvent)
            .where(ComputeNodeEvent.compute_id == compute_id)
            .order_by(col(ComputeNodeEvent.id))
        ).all()
    ]
