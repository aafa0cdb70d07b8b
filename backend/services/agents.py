"""The agents that serve a studio database: who they are, which computes they serve, whether they live.

Several agents can share one database (PostgreSQL; on one machine or several): each claims the queued jobs
of the computes it names (``studio agent --name A --computes c1,c2``; no list: every compute) and writes a
heartbeat every ``HEARTBEAT_S`` (on PostgreSQL; on SQLite, which serves one machine, the agent's process
tells, and an idle agent writes nothing). An agent whose heartbeat is older than ``stale_s()`` (or, on this machine,
whose process is gone, or that stopped cleanly) is dead: another agent takes up its jobs
(``backend.agent.loop``), so nothing waits for an agent that will not come back.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import psutil
from pydantic import BaseModel
from sqlmodel import Session, col, select

from backend.db.models import AgentRecord, utcnow
from backend.errors import ValidationError

HEARTBEAT_S = 2.0
DEFAULT_STALE_S = 15.0
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class AgentPublic(BaseModel):
    id: str
    name: str
    host: str
    pid: int
    computes: list[str] | None
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool


def check_name(name: str) -> str:
    if not name or len(name) > 64 or set(name) - NAME_CHARS:
        raise ValidationError(
            f"--name: {name!r} is not an agent name (1 to 64 letters, digits, '-', '_' or '.')"
        )
    return name


def check_computes(text: str | None) -> list[str] | None:
    """``c1,c2`` → ``["c1", "c2"]``; empty or None → None (every compute)."""
    if not text:
        return None
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        raise ValidationError(f"--computes: {text!r} has an empty compute name (use c1,c2)")
    return list(dict.fromkeys(names))


def register(session: Session, *, agent_id: str, name: str, computes: list[str] | None) -> None:
    session.add(
        AgentRecord(id=agent_id, name=name, host=socket.gethostname(), pid=os.getpid(), computes=computes)
    )
    session.flush()


def shared(session: Session) -> bool:
    """Whether heartbeats are written: on a database agents of several machines can share (PostgreSQL).
    An SQLite database serves one machine, where a process check tells whether an agent lives, so an
    idle agent there writes nothing."""
    return session.get_bind().dialect.name != "sqlite"


def beat(session: Session, agent_id: str) -> None:
    if not shared(session):
        return
    row = session.get(AgentRecord, agent_id)
    if row is not None:
        row.heartbeat_at = utcnow()
        row.stopped_at = None
        session.add(row)


def stop(session: Session, agent_id: str) -> None:
    """A clean stop: the others take up this agent's jobs at once, not after ``stale_s()``."""
    row = session.get(AgentRecord, agent_id)
    if row is not None:
        row.stopped_at = utcnow()
        session.add(row)


def stale_s() -> float:
    """``STUDIO_AGENT_STALE_S``: seconds without a heartbeat after which an agent counts as stopped."""
    text = os.environ.get("STUDIO_AGENT_STALE_S", "")
    if not text:
        return DEFAULT_STALE_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 86400:
        raise ValidationError(f"STUDIO_AGENT_STALE_S: {text!r} is not a number of seconds from 1 to 86400")
    return value


def _alive(row: AgentRecord | None, agent_id: str, now: datetime, beats: bool = True) -> bool:
    if row is None:  # an agent from before heartbeats (or a test's): its process on this machine tells
        return _local_process_alive(agent_id)
    if row.stopped_at is not None:
        return False
    if row.host == socket.gethostname() and not psutil.pid_exists(row.pid):
        return False  # gone from this machine: no need to wait for its heartbeat to age
    if not beats:  # (SQLite: one machine, no heartbeats) its process tells
        return row.host == socket.gethostname()
    beat_at = row.heartbeat_at if row.heartbeat_at.tzinfo else row.heartbeat_at.replace(tzinfo=now.tzinfo)
    return now - beat_at < timedelta(seconds=stale_s())


def _local_process_alive(agent_id: str) -> bool:
    try:
        host, pid = agent_id.split(":")[:2]
        return host == socket.gethostname() and int(pid) != os.getpid() and psutil.pid_exists(int(pid))
    except ValueError:
        return False


def alive_ids(session: Session, agent_ids: set[str]) -> set[str]:
    """Which of these agents are alive now (one query)."""
    if not agent_ids:
        return set()
    rows = {r.id: r for r in session.exec(select(AgentRecord).where(col(AgentRecord.id).in_(agent_ids)))}
    now, beats = utcnow(), shared(session)
    return {a for a in agent_ids if _alive(rows.get(a), a, now, beats)}


def list_agents(*, session: Session, include_stopped: bool = False) -> list[AgentPublic]:
    """Every agent that has served this database (the newest first), and whether it is alive now."""
    now, beats = utcnow(), shared(session)
    rows = session.exec(select(AgentRecord).order_by(col(AgentRecord.started_at).desc())).all()
    found = [AgentPublic(**r.model_dump(), alive=_alive(r, r.id, now, beats)) for r in rows]
    return found if include_stopped else [a for a in found if a.alive]
