"""Jobs: validate and submit, read back, cancel, archive (SPEC sections 7 and 13).

Submission only validates, resolves references, uploads local code and inputs, and writes a
``Queued`` row; the agent (``backend.agent``) does the rest. Every status change goes through
``transition``: one conditional UPDATE, so an agent and a cancel can never both win.
"""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, update
from sqlmodel import Session, col, select

from backend import unix_socket
from backend.db.models import Job, utcnow
from backend.errors import ConflictError, NotFoundError, StudioError, ValidationError
from backend.services.lookup import get_job_row, get_workspace_row
from backend.settings import get_settings
from backend.specs.job import CommandJobSpec
from backend.statuses import ACTIVE, TERMINAL, JobStatus

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_ADJECTIVES = (
    "amber",
    "brave",
    "calm",
    "clever",
    "eager",
    "gentle",
    "happy",
    "jolly",
    "keen",
    "lucid",
    "mellow",
    "nimble",
    "proud",
    "quiet",
    "sharp",
    "shy",
    "tidy",
    "witty",
    "zesty",
    "bold",
)
_NOUNS = (
    "apple",
    "badger",
    "bear",
    "cactus",
    "dolphin",
    "falcon",
    "garden",
    "heron",
    "island",
    "kettle",
    "lemon",
    "lynx",
    "otter",
    "pepper",
    "plum",
    "river",
    "salmon",
    "tiger",
    "tomato",
    "yak",
)


class JobPublic(BaseModel):
    name: str
    type: str
    display_name: str
    experiment_name: str
    description: str
    tags: dict[str, str]
    status: str
    compute: str
    instance_count: int
    parent: str | None
    command: str | None
    environment: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    mlflow_run_id: str | None
    mlflow_experiment_id: str | None
    exit_code: int | None
    failure_reason: str | None
    archived: bool
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    history: list[list[str]]
    state: dict[str, Any]

    @property
    def duration_s(self) -> float | None:
        if not self.start_time:
            return None
        end = self.end_time or datetime.now(UTC)
        return (end - self.start_time).total_seconds()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


def _public(row: Job, parent: str | None = None) -> JobPublic:
    spec = row.spec or {}
    env = spec.get("environment") or {}
    return JobPublic(
        name=row.name,
        type=row.type,
        display_name=row.display_name or row.name,
        experiment_name=row.experiment_name,
        description=row.description,
        tags=dict(row.tags or {}),
        status=row.status,
        compute=row.compute,
        instance_count=row.instance_count,
        parent=parent,
        command=spec.get("command"),
        environment=env.get("reference") if isinstance(env, dict) else env,
        inputs=spec.get("inputs", {}),
        outputs=spec.get("outputs", {}),
        mlflow_run_id=row.mlflow_run_id,
        mlflow_experiment_id=row.mlflow_experiment_id,
        exit_code=row.exit_code,
        failure_reason=row.failure_reason,
        archived=row.archived,
        created_at=row.created_at,
        start_time=row.start_time,
        end_time=row.end_time,
        history=list(row.history or []),
        state=dict(row.state or {}),
    )


def generate_name() -> str:
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
    return f"{random.choice(_ADJECTIVES)}_{random.choice(_NOUNS)}_{suffix}"


def job_dir(workspace: str, name: str) -> Path:
    """The job's folder: working directory, logs, launch file and exit code."""
    return get_settings().home / "jobs" / workspace / name


# --- status changes ----------------------------------------------------------------------------------------


def transition(
    *, session: Session, job_id: int, from_statuses: tuple[str, ...], to_status: str, **fields: Any
) -> bool:
    """Move a job to ``to_status`` only if it is in one of ``from_statuses``; True when this call did it."""
    row = session.get(Job, job_id)
    if row is None:
        return False
    history = [*list(row.history or []), [to_status, utcnow().isoformat()]]
    result = session.exec(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.status).in_(from_statuses))
        .values(status=to_status, history=history, **fields)
    )
    session.flush()
    session.expire(row)
    return result.rowcount == 1


def wake_agent() -> None:
    """Nudge the agents of this home (``agent.sock``, and ``agent-<name>.sock`` of agents that name their
    computes) so a submitted job starts now, not at the next poll (best effort)."""
    import socket

    run = get_settings().run_dir
    paths = [run / "agent.sock"] + (sorted(run.glob("agent-*.sock")) if run.is_dir() else [])
    for path in paths:
        if not path.exists():
            continue
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                with unix_socket.address(path) as address:
                    sock.sendto(b"wake", address)
        except OSError:
            pass


def _wake_after_commit(session: Session) -> None:
    if not session.info.get("wake_hooked"):
        session.info["wake_hooked"] = True
        event.listen(session, "after_commit", lambda _s: wake_agent(), once=True)


# --- submitting --------------------------------------------------------------------------------------------


def check_compute(
    session: Session,
    workspace: str,
    compute: str | None,
    instance_count: int = 1,
    *,
    field: str = "resources.instance_count",
) -> str:
    """The compute's name; an unknown compute, or more nodes than it can ever give, is a ValidationError."""
    from backend.services import compute as compute_service

    name = (compute or "serverless").removeprefix("azureml:")
    computes = {c.name: c for c in compute_service.list_computes(session=session, workspace=workspace)}
    if name not in computes:
        raise ValidationError(
            f"compute: {compute!r} does not exist in workspace {workspace!r} (computes: {', '.join(computes)})"
        )
    most = computes[name].max_instances
    if instance_count > most and computes[name].type != compute_service.RAY:  # (a Ray cluster grows)
        kind = computes[name].type
        why = {
            compute_service.SERVERLESS: f"serverless runs at most one node per CPU core of this machine ({most})",
            compute_service.INSTANCE: "a compute instance is a single node",
        }.get(kind, f"its max_instances is {most}")
        raise ValidationError(
            f"{field}: {instance_count} nodes is more than compute {name!r} can give ({why}); "
            f"ask for 1 to {most}, or use a cluster with more nodes"
        )
    return name


def _snapshot_code(session: Session, workspace: str, code: str | None, base_dir: Path | None) -> str | None:
    """Upload a local code folder once per content to workspaceartifactstore; return its URI."""
    if code is None:
        return None
    from backend.services.data_assets import content_hash
    from backend.services.datastores import get_filesystem
    from backend.storage import uris

    ref = uris.parse_reference(code, base_dir=base_dir, field="code")
    if isinstance(ref, uris.DatastorePath):
        return ref.uri
    if not isinstance(ref, uris.LocalPath):
        raise ValidationError(f"code: {code!r} must be a local folder or an azureml://datastores/ path")
    if not ref.path.exists():
        raise ValidationError(f"code: local path {str(ref.path)!r} does not exist")
    store = get_filesystem(session=session, workspace=workspace, name="workspaceartifactstore")
    source = ref.path.resolve()
    dest = f"LocalUpload/{content_hash(source)}/{source.name}"
    from backend.services.uploads import put_once

    put_once(session, store, source, dest)
    return uris.DatastorePath("workspaceartifactstore", dest).uri


def _resolve_inputs(session: Session, workspace: str, spec: CommandJobSpec, base_dir: Path | None) -> dict:
    from backend.services import inputs as input_service

    return {
        name: input_service.resolve_input(
            session=session, workspace=workspace, name=name, value=value, base_dir=base_dir
        )
        for name, value in spec.inputs.items()
    }


def _resolve_outputs(spec: CommandJobSpec, job_name: str, default_store: str, base_dir: Path | None) -> dict:
    return resolve_outputs(spec.outputs, job_name, default_store, base_dir)


def resolve_outputs(outputs: dict, job_name: str, default_store: str, base_dir: Path | None) -> dict:
    """Where each output goes: its ``path``, or the default folder of this job on the default datastore."""
    from backend.specs.job import OutputSpec
    from backend.storage import uris

    resolved = {}
    for name, out in outputs.items():
        if isinstance(out, dict):
            out = OutputSpec.model_validate(out)
        kind = out.type if out else "uri_folder"
        path = out.path if out and out.path else None
        if path:
            ref = uris.parse_reference(path, base_dir=base_dir, field=f"outputs.{name}.path")
            if not isinstance(ref, uris.DatastorePath):
                raise ValidationError(
                    f"outputs.{name}.path: {path!r} must be an azureml://datastores/<ds>/paths/<path> location"
                )
            uri = ref.uri.replace("${{name}}", job_name).replace("{name}", job_name)
        else:
            uri = f"azureml://datastores/{default_store}/paths/azureml/{job_name}/{name}/"
        resolved[name] = {
            "type": kind,
            "mode": (out.mode if out and out.mode else "rw_mount"),
            "uri": uri,
            "asset_name": out.name if out else None,
            "asset_version": out.version if out else None,
        }
    return resolved


def check_new_name(session: Session, workspace_id: int, workspace: str, name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValidationError(f"name: {name!r} is not a valid job name (letters, digits, '-' and '_')")
    if session.exec(select(Job.id).where(Job.workspace_id == workspace_id, Job.name == name)).first():
        raise ConflictError(f"name: a job named {name!r} already exists in workspace {workspace!r}")
    return name


def resolve_command(
    *,
    session: Session,
    workspace: str,
    spec: CommandJobSpec,
    base_dir: Path | None,
    name: str,
    source: str = "",
) -> dict[str, Any]:
    """Everything the agent needs to run ``spec``: references resolved, local code and data uploaded."""
    from backend.services import datastores, environments

    # Sweeps and pipelines build ``spec`` with model_construct (no validation): the checks that matter to
    # the process that will run it are repeated here.
    if not isinstance(spec.command, str) or not spec.command.strip():
        raise ValidationError("command: must not be empty: give the shell command to run")
    for key, value in [("command", spec.command), *dict(spec.environment_variables or {}).items()]:
        if "\x00" in str(key) or "\x00" in str(value):
            raise ValidationError(
                f"{'command' if key == 'command' else 'environment_variables.' + str(key)}: contains a NUL "
                "character (\\x00), which no command or environment variable can carry; remove it"
            )

    env = environments.resolve_environment(
        session=session, workspace=workspace, reference=spec.environment, base_dir=base_dir
    )
    default_store = datastores.default_datastore_name(session=session, workspace=workspace)
    return {
        "command": spec.command,
        "code": _snapshot_code(session, workspace, spec.code, base_dir),
        "environment": {
            "reference": _env_label(env.name, env.version),
            "python": env.python,
            "spec_hash": env.spec_hash,
            "reason": env.reason,
            "curated": env.curated,
        },
        "environment_variables": dict(spec.environment_variables),
        "inputs": _resolve_inputs(session, workspace, spec, base_dir),
        "outputs": _resolve_outputs(spec, name, default_store, base_dir),
        "timeout": spec.limits.timeout,
        "distribution": spec.distribution,
        "source": source,
    }


def default_experiment(spec_code: str | None, base_dir: Path | None) -> str:
    """The cloud's default: the code folder's name, else 'Default'."""
    if spec_code and not spec_code.startswith(("azureml:", "azureml://")):
        path = Path(spec_code)
        return (
            (base_dir / path) if base_dir and not path.is_absolute() else path
        ).resolve().name or "Default"
    return "Default"


def spec_fields(spec: Any, experiment_name: str, **tags: str) -> dict[str, Any]:
    """What a job row takes from its YAML spec (a ``JobSpecBase``): names, description, tags (plus
    ``tags``) and the experiment, ``experiment_name`` when the spec names none."""
    return {
        "display_name": spec.display_name,
        "description": spec.description,
        "tags": {**spec.tags, **tags},
        "experiment_name": spec.experiment_name or experiment_name,
    }


def child_fields(parent: Any, **tags: str) -> dict[str, Any]:
    """What a trial or step takes from its parent (a sweep or pipeline snapshot): workspace, experiment,
    parent id, and the parent's tags plus ``tags``."""
    return {
        "workspace_id": parent.workspace_id,
        "experiment_name": parent.experiment_name,
        "parent_id": parent.id,
        "tags": {**(getattr(parent, "tags", None) or {}), **tags},
    }


def insert_job(
    *,
    session: Session,
    workspace_id: int,
    name: str,
    type_: str,
    spec: dict[str, Any],
    compute: str,
    display_name: str | None = None,
    experiment_name: str = "Default",
    description: str = "",
    tags: dict[str, str] | None = None,
    instance_count: int = 1,
    parent_id: int | None = None,
    state: dict[str, Any] | None = None,
) -> Job:
    """A new Queued job row; the agent is woken once the session commits."""
    now = utcnow().isoformat()
    row = Job(
        workspace_id=workspace_id,
        name=name,
        type=type_,
        display_name=display_name or name,
        experiment_name=experiment_name,
        description=description,
        tags=dict(tags or {}),
        status=JobStatus.QUEUED,
        spec=spec,
        compute=compute,
        instance_count=instance_count,
        parent_id=parent_id,
        state=state or {},
        history=[[JobStatus.NOT_STARTED, now], [JobStatus.QUEUED, now]],
    )
    session.add(row)
    session.flush()
    _wake_after_commit(session)
    return row


def submit_command_job(
    *,
    session: Session,
    workspace: str,
    spec: CommandJobSpec,
    base_dir: Path | None = None,
    parent_id: int | None = None,
    extra_tags: dict[str, str] | None = None,
    source: str = "",
    secrets: dict[str, str] | None = None,
) -> JobPublic:
    """Validate every reference, upload local code and inputs, and queue the job. ``secrets`` maps a
    variable of the command to a stored secret (``connection:<name>``, ``endpoint:<name>`` for its primary key):
    the job row keeps the names only,
    the agent decrypts them when the command starts (``backend.agent.runner``)."""
    ws = get_workspace_row(session=session, name=workspace)
    name = check_new_name(session, ws.id, workspace, spec.name or generate_name())
    compute = check_compute(session, workspace, spec.compute, spec.resources.instance_count)
    resolved = resolve_command(
        session=session, workspace=workspace, spec=spec, base_dir=base_dir, name=name, source=source
    )
    if secrets:
        resolved["secrets"] = dict(secrets)
    row = insert_job(
        session=session,
        workspace_id=ws.id,
        name=name,
        type_="command",
        spec=resolved,
        compute=compute,
        instance_count=spec.resources.instance_count,
        parent_id=parent_id,
        **spec_fields(spec, default_experiment(spec.code, base_dir), **(extra_tags or {})),
    )
    return _public(row)


def _env_label(name: str, version: str | None) -> str:
    if not version:
        return name
    return f"{name}{version}" if version.startswith("@") else f"{name}:{version}"


# --- reading -----------------------------------------------------------------------------------------------


def _parent_name(session: Session, row: Job) -> str | None:
    if row.parent_id is None:
        return None
    parent = session.get(Job, row.parent_id)
    return parent.name if parent else None


def get_job(*, session: Session, workspace: str, name: str) -> JobPublic:
    row = get_job_row(session=session, workspace=workspace, name=name)
    return _public(row, _parent_name(session, row))


def list_jobs(
    *,
    session: Session,
    workspace: str,
    status: str | None = None,
    experiment: str | None = None,
    include_archived: bool = False,
    include_children: bool = False,
    parent: str | None = None,
    limit: int = 1000,
) -> list[JobPublic]:
    """Newest first; children of sweeps and pipelines only when asked (or for one parent)."""
    ws = get_workspace_row(session=session, name=workspace)
    query = select(Job).where(Job.workspace_id == ws.id)
    parent_name = None
    if parent:
        parent_row = get_job_row(session=session, workspace=workspace, name=parent)
        query = query.where(Job.parent_id == parent_row.id)
        parent_name = parent_row.name
    elif not include_children:
        query = query.where(col(Job.parent_id).is_(None))
    if status:
        query = query.where(Job.status == status)
    if experiment:
        query = query.where(Job.experiment_name == experiment)
    if not include_archived:
        query = query.where(col(Job.archived).is_(False))
    rows = session.exec(query.order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(limit)).all()
    return [_public(r, parent_name) for r in rows]


def list_experiments(*, session: Session, workspace: str) -> list[str]:
    ws = get_workspace_row(session=session, name=workspace)
    query = select(Job.experiment_name).where(Job.workspace_id == ws.id).distinct()
    return sorted(session.exec(query).all())  # DISTINCT in SQL: a name per experiment, not a row per job


# --- acting ------------------------------------------------------------------------------------------------


def cancel_job(*, session: Session, workspace: str, name: str) -> JobPublic:
    """Cancel: a queued job ends at once; a preparing or running one is stopped by the agent."""
    row = get_job_row(session=session, workspace=workspace, name=name)
    if row.status in TERMINAL:
        raise ConflictError(f"job {name!r} has already ended ({row.status})")
    now = utcnow()
    if not transition(
        session=session,
        job_id=row.id,
        from_statuses=(JobStatus.NOT_STARTED, JobStatus.QUEUED),
        to_status=JobStatus.CANCELED,
        cancel_requested=True,
        end_time=now,
        failure_reason="canceled by the user before it started",
    ):
        transition(
            session=session,
            job_id=row.id,
            from_statuses=(JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FINALIZING),
            to_status=JobStatus.CANCEL_REQUESTED,
            cancel_requested=True,
        )
    for child in session.exec(select(Job).where(Job.parent_id == row.id)).all():
        if child.status not in TERMINAL:
            cancel_job(session=session, workspace=workspace, name=child.name)
    _wake_after_commit(session)
    session.refresh(row)
    return _public(row, _parent_name(session, row))


def archive_job(*, session: Session, workspace: str, name: str) -> JobPublic:
    """Hide an ended job from lists (it stays readable by name); an active job must end first."""
    return _set_archived(session, workspace, name, True)


def restore_job(*, session: Session, workspace: str, name: str) -> JobPublic:
    return _set_archived(session, workspace, name, False)


def _set_archived(session: Session, workspace: str, name: str, archived: bool) -> JobPublic:
    row = get_job_row(session=session, workspace=workspace, name=name)
    if archived and row.status in ACTIVE:
        raise ConflictError(f"job {name!r} is {row.status}; cancel it or let it end before archiving")
    row.archived = archived
    session.add(row)
    session.flush()
    return _public(row, _parent_name(session, row))


def read_log(
    *, workspace: str, name: str, offset: int = 0, which: str = "user_logs/std_log.txt"
) -> tuple[str, int]:
    """Log text from byte ``offset`` on, and the new offset (for following a log while it grows)."""
    path = job_dir(workspace, name) / which
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        if path.parent.parent.exists() or which != "user_logs/std_log.txt":
            return "", offset
        # The job ran on an agent with another STUDIO_HOME: its log, as finalizing kept it with the run.
        data = _log_from_run(workspace, name)[offset:]
    return data.decode("utf-8", errors="replace"), offset + len(data)


def _log_from_run(workspace: str, name: str) -> bytes:
    from backend.db import session_scope
    from backend.services import runs

    with session_scope() as s:
        run_id = get_job_row(session=s, workspace=workspace, name=name).mlflow_run_id
    if not run_id:
        return b""
    try:
        return runs.read_artifact(run_id=run_id, path="user_logs/std_log.txt")
    except StudioError:
        return b""


def list_log_files(*, workspace: str, name: str) -> list[str]:
    root = job_dir(workspace, name)
    found = []
    for sub in ("user_logs", "system_logs"):
        folder = root / sub
        if folder.is_dir():
            found += [f"{sub}/{p.name}" for p in sorted(folder.iterdir()) if p.is_file()]
    return found


def active_jobs_in(*, session: Session, workspace_id: int) -> list[str]:
    rows = session.exec(
        select(Job.name, Job.status).where(Job.workspace_id == workspace_id, col(Job.status).in_(ACTIVE))
    ).all()
    return [f"job {name} ({status})" for name, status in rows]


def download_job(
    *, session: Session, workspace: str, name: str, dest: Path, output_name: str | None = None
) -> list[str]:
    """Copy a job's named outputs (``named-outputs/<name>``), logs and ``./outputs`` to ``dest``."""
    import shutil

    from backend.services.datastores import get_filesystem
    from backend.storage import uris

    job = get_job(session=session, workspace=workspace, name=name)
    if output_name and output_name not in job.outputs:
        raise NotFoundError(
            f"job {name!r} has no output {output_name!r} (outputs: {', '.join(job.outputs) or 'none'})"
        )
    copied = []
    for out_name, out in job.outputs.items():
        if output_name and out_name != output_name:
            continue
        ref = uris.parse_reference(out["uri"])
        store = get_filesystem(session=session, workspace=workspace, name=ref.datastore)
        if store.exists(ref.path):
            store.get(ref.path, dest / "named-outputs" / out_name)
            copied.append(f"named-outputs/{out_name}")
    if output_name:
        return copied
    folder = job_dir(workspace, name)
    for sub, target in (
        ("user_logs", "logs/user_logs"),
        ("system_logs", "logs/system_logs"),
        ("wd/outputs", "artifacts/outputs"),
        ("wd/logs", "artifacts/logs"),
    ):
        if (folder / sub).is_dir():
            shutil.copytree(folder / sub, dest / target, dirs_exist_ok=True)
            copied.append(target)
    return copied


def wait_for_end(*, workspace: str, name: str, timeout_s: float = 600, poll_s: float = 0.25) -> JobPublic:
    """Block until the job reaches a terminal status (the SDK's and tests' helper)."""
    import time

    from backend.db import session_scope

    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope() as s:
            job = get_job(session=s, workspace=workspace, name=name)
        if job.status in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(poll_s)
