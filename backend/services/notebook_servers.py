"""JupyterLab on compute instances: where each instance's server keeps its files, and what pages, the CLI
and the SDK read of it. The agent (``backend.agent.notebooks``) starts, adopts and stops the servers.

Each instance has a folder ``STUDIO_HOME/notebooks/<workspace>/<compute>/``:

- ``server/``: Studio's side, never visible in the sandbox. ``server.json`` (the host process's pid, the
  port, the server's root, the token encrypted with the studio's key), ``lock`` (held by the host process
  for as long as it lives: the server is alive exactly while the lock is held, whoever started it),
  ``host.log`` (JupyterLab's log, the token masked) and ``failed.json`` (why the last start failed).
- ``state/``: the server's own writable folder in its sandbox: its HOME, JupyterLab's settings, the kernel
  specs and each kernel's layer (so ``%pip install`` in a notebook lasts as long as the instance).

The server's root is the workspace's ``workspaceworkingdirectory`` share, or ``Users/<user>/`` in it in
team mode (the user who created the instance). It listens on loopback only, and every request needs the
token: a secret, shown only in the link that opens JupyterLab and by ``studio compute show --show-token``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, col, select

from backend.errors import NotFoundError, ValidationError
from backend.settings import get_settings

SHARE = "workspaceworkingdirectory"
STATUS_TIMEOUT_S = 2.0
STARTING, RUNNING, STOPPING, FAILED = "Starting", "Running", "Stopping", "Failed"


@dataclass(frozen=True)
class NotebookServer:
    compute: str
    state: str  # Starting | Running | Stopping | Failed
    message: str = ""
    url: str | None = None  # without the token
    root: str | None = None
    started_at: datetime | None = None
    last_activity: datetime | None = None
    kernels: int = 0


def notebooks_root() -> Path:
    return get_settings().home / "notebooks"


def instance_dir(workspace: str, compute: str) -> Path:
    return notebooks_root() / workspace / compute


def server_dir(workspace: str, compute: str) -> Path:
    return instance_dir(workspace, compute) / "server"


def state_dir(workspace: str, compute: str) -> Path:
    return instance_dir(workspace, compute) / "state"


def share_root(workspace: str) -> Path:
    from backend.services.datastores import builtin_folder

    return builtin_folder(workspace, SHARE)


def server_root(workspace: str, user: str | None) -> Path:
    """Where JupyterLab opens: the whole share, or ``Users/<user>/`` in team mode."""
    root = share_root(workspace)
    return root / "Users" / user if user else root


def instance_user(*, session: Session, workspace: str, compute: str) -> str | None:
    """Whose instance it is in team mode: the user who created it (the audit log says who)."""
    from backend.db.models import AuditEvent
    from backend.services.lookup import get_workspace_row
    from backend.services.users import team_mode

    if not team_mode():
        return None
    ws = get_workspace_row(session=session, name=workspace)
    events = select(AuditEvent.user, AuditEvent.action).where(
        AuditEvent.kind == "compute", AuditEvent.name == compute, col(AuditEvent.workspace_id) == ws.id
    )
    found = session.exec(events.order_by(col(AuditEvent.id))).all()
    created = [user for user, action in found if action == "created"]
    return (created or [user for user, _ in found] or [None])[-1]


def host_alive(folder: Path) -> bool:
    """Whether a host process holds ``folder/lock`` (it does for as long as its server lives)."""
    from backend.services.base_environment import lock_held

    return lock_held(folder / "lock")


def read_record(folder: Path, name: str = "server.json") -> dict | None:
    try:
        return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None


def write_record(folder: Path, record: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / "server.json.tmp"
    temp.write_text(json.dumps(record))
    os.chmod(temp, 0o600)
    temp.replace(folder / "server.json")


def token_of(record: dict) -> str:
    from backend.storage.secrets import decrypt

    return decrypt(record["token"], what="a JupyterLab server's token")


def status(port: int, token: str) -> dict | None:
    """JupyterLab's ``/api/status`` (started, last activity, kernels), or None when it does not answer.
    Asking does not count as activity."""
    import requests

    try:
        answer = requests.get(
            f"http://127.0.0.1:{port}/api/status",
            headers={"Authorization": f"token {token}"},
            timeout=STATUS_TIMEOUT_S,
            proxies={"http": "", "https": ""},
        )
    except requests.RequestException:
        return None
    return answer.json() if answer.status_code == 200 else None


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _instance(session: Session, workspace: str, compute: str):
    from backend.services import compute as computes

    found = computes.get_compute(session=session, workspace=workspace, name=compute)
    if found.type != "computeinstance":
        raise ValidationError(
            f"compute {compute!r} is a {found.type}: JupyterLab runs on compute instances (type computeinstance)"
        )
    return found


def server_for(*, session: Session, workspace: str, compute: str) -> NotebookServer | None:
    """The JupyterLab server of a compute instance: None when the instance is stopped and no server runs."""
    instance = _instance(session, workspace, compute)
    folder = server_dir(workspace, compute)
    alive = host_alive(folder)
    record = read_record(folder) if alive else None
    if instance.state != "Running":
        return NotebookServer(compute, STOPPING, "the instance is stopping its server") if alive else None
    if record is None:
        failed = read_record(folder, "failed.json")
        if failed and not alive:
            return NotebookServer(compute, FAILED, failed.get("message", "JupyterLab did not start"))
        return NotebookServer(compute, STARTING, "the agent is starting JupyterLab")
    url = f"http://127.0.0.1:{record['port']}/lab"
    answer = status(record["port"], token_of(record))
    if answer is None:
        return NotebookServer(compute, STARTING, "JupyterLab is starting", url=url, root=record.get("root"))
    return NotebookServer(
        compute,
        RUNNING,
        url=url,
        root=record.get("root"),
        started_at=_when(answer.get("started")),
        last_activity=_when(answer.get("last_activity")),
        kernels=int(answer.get("kernels") or 0),
    )


def open_url(*, session: Session, workspace: str, compute: str, path: str | None = None) -> str | None:
    """The link that opens JupyterLab (a file in it, when ``path`` names one relative to the share),
    token included; None when the instance's server is not running. In team mode only the instance's
    user (its creator) and Owners get it, as only the assigned user opens an instance in the cloud."""
    _instance(session, workspace, compute)
    if not may_open(session=session, workspace=workspace, compute=compute):
        return None
    folder = server_dir(workspace, compute)
    record = read_record(folder) if host_alive(folder) else None
    if record is None:
        return None
    base = f"http://127.0.0.1:{record['port']}/lab"
    token = quote(token_of(record), safe="")
    if path:
        target = (share_root(workspace) / path.strip("/")).resolve()
        root = Path(record["root"]).resolve()
        if target.is_relative_to(root) and target != root:
            return f"{base}/tree/{quote(target.relative_to(root).as_posix())}?token={token}"
    return f"{base}?token={token}"


def may_open(*, session: Session, workspace: str, compute: str) -> bool:
    from backend.identity import OWNER, current
    from backend.services.users import team_mode

    if not team_mode():
        return True
    user = current()
    owner = instance_user(session=session, workspace=workspace, compute=compute)
    return user is not None and (user.role == OWNER or user.name == owner)


def describe(*, session: Session, workspace: str, compute: str, show_token: bool = False) -> dict:
    """What ``studio compute show`` adds for an instance: its JupyterLab server (the token on request)."""
    try:
        server = server_for(session=session, workspace=workspace, compute=compute)
    except (NotFoundError, ValidationError):
        return {}
    if server is None:
        return {"jupyterlab": {"state": "Stopped"}}
    shown: dict = {"state": server.state}
    if server.url:
        shown["url"] = server.url
    if server.message:
        shown["message"] = server.message
    if server.root:
        shown["root"] = server.root
    if show_token and server.state == RUNNING:
        shown["url"] = open_url(session=session, workspace=workspace, compute=compute)
    return {"jupyterlab": shown}
