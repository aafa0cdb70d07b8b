"""Who is acting, and what their role lets them change (team mode: ``backend.services.users``).

The UI (a signed-in session), the CLI and the SDK (a personal token) set the acting user for the work
they do (``acting_as``); the agent acts as nobody. With no users configured, nobody is ever set and
Studio stays single-user, as before.

Roles, as the cloud names them:

- **Owner**: everything, including datastores, computes, connections, endpoint keys and members;
- **Contributor**: everything but members;
- **Data Scientist**: jobs, sweeps, pipelines, data assets, environments, components, models, Responsible AI
  and benchmarks; datastores only through jobs (never their secrets), no computes, connections, endpoints
  or workspaces;
- **Reader**: reads, and changes nothing.

Every change a user makes to the studio database is checked (``check_change``, called for each row a unit
of work writes) and recorded in the audit log by ``backend.db``; changes outside the database (the model
registry in MLflow) call ``require`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from backend.errors import StudioError

OWNER, CONTRIBUTOR, DATA_SCIENTIST, READER = "Owner", "Contributor", "Data Scientist", "Reader"
ROLES = (OWNER, CONTRIBUTOR, DATA_SCIENTIST, READER)
# What a Data Scientist may not change (tables of the studio database, and "model" for the registry).
ADMIN_KINDS = frozenset(
    {"workspace", "datastore", "compute", "connection", "online_endpoint", "online_deployment", "members"}
)
NOT_AUDITED = frozenset({"audit_event", "agent", "compute_node_event", "environment_build"})
OWN_KINDS = frozenset({"api_token"})  # every user manages their own tokens (the service checks whose)
WHAT = {
    "online_endpoint": "online endpoints",
    "online_deployment": "online deployments",
    "members": "members",
    "endpoint_keys": "endpoint keys",
}


class PermissionDenied(StudioError):
    """The acting user's role does not allow this."""


@dataclass(frozen=True)
class User:
    name: str
    role: str


_current: ContextVar[User | None] = ContextVar("studio_user", default=None)


_provider: list = [None]  # a function that knows the user where no context says (UI callbacks)


def current() -> User | None:
    found = _current.get()
    if found is None and _provider[0] is not None:
        found = _provider[0]()
    return found


def set_provider(provider) -> None:
    """For the UI: widget callbacks run before a page sets its user, so the user is read from the session
    (``studio.ui.auth``) whenever no context has one."""
    _provider[0] = provider


@contextmanager
def acting_as(user: User | None) -> Iterator[None]:
    token = _current.set(user)
    try:
        yield
    finally:
        _current.reset(token)


def set_current(user: User | None) -> None:
    """For a whole script run (a UI page): the user stays set in this context."""
    _current.set(user)


def allowed(user: User | None, kind: str) -> bool:
    """Whether ``user`` may change things of ``kind`` (a table name, "model", "members", "endpoint_keys")."""
    if user is None or user.role == OWNER:
        return True
    if user.role == CONTRIBUTOR:
        return kind != "members"
    if user.role == DATA_SCIENTIST:
        return kind not in ADMIN_KINDS and kind != "endpoint_keys"
    return False


def require(kind: str, verb: str = "change") -> None:
    """Refuse (one line) when the acting user may not ``verb`` things of ``kind``."""
    user = current()
    if allowed(user, kind):
        return
    what = WHAT.get(kind, f"{kind.replace('_', ' ')}s")
    rule = "Readers only read" if user.role == READER else f"{user.role}s may not {verb} {what}"
    raise PermissionDenied(f"{user.name} ({user.role}) may not {verb} {what}: {rule}")


def check_change(kind: str) -> None:
    """Called for every row a unit of work writes (``backend.db``)."""
    if kind in NOT_AUDITED or kind in OWN_KINDS:
        return
    require(kind)
