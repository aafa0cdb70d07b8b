"""Environment builds: a uv-built venv per spec hash, built once by whichever process claims it first
(one conditional update), sandboxed, with its log beside it; others wait for it or take over a build whose
builder died. ``environments`` is the service pages and the CLI call; this is its build engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.db.models import Environment, EnvironmentBuild, utcnow
from backend.errors import NotFoundError, StudioError, ValidationError
from backend.services.base_environment import build_log
from backend.services.environment_specs import ResolvedSpec, resolve_packages
from backend.services.pythons import find_python
from backend.settings import get_settings
from backend.specs.environment import CondaFile
from backend.statuses import BuildStatus

ACTIVE_BUILD_STATES = (BuildStatus.QUEUED, BuildStatus.BUILDING)
CLAIMABLE_BUILD_STATES = (BuildStatus.NOT_STARTED, BuildStatus.QUEUED, BuildStatus.FAILED)

BUILD_TIMEOUT_S = 1800  # a whole build (venv + install) before it is killed
BUILD_WAIT_POLL_S = 0.5  # how often a waiting process looks at a build another process runs
BUILD_STALE_GRACE_S = 30  # a Building row without a live builder is taken over after this long
LOG_TAIL_LINES = 25


class EnvironmentBuildPublic(BaseModel):
    spec_hash: str
    status: str
    python_version: str | None
    venv_path: str
    python: str
    log_path: str
    error: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def envs_root() -> Path:
    return get_settings().home / "envs"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_build_row(session: Session, spec_hash: str, python: str | None) -> EnvironmentBuild:
    existing = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if existing:
        return existing
    folder = envs_root() / spec_hash
    row = EnvironmentBuild(
        spec_hash=spec_hash,
        python_version=python,
        venv_path=str(folder / "venv"),
        log_path=str(folder / "build.log"),
    )
    try:
        with session.begin_nested():  # another process may insert the same hash at the same moment
            session.add(row)
    except IntegrityError:
        return session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
    return row


def build_rows(session: Session, hashes: set[str]) -> dict[str, EnvironmentBuild]:
    if not hashes:
        return {}
    rows = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash.in_(sorted(hashes)))).all()
    return {r.spec_hash: r for r in rows}


def public_build(row: EnvironmentBuild) -> EnvironmentBuildPublic:
    return EnvironmentBuildPublic(
        spec_hash=row.spec_hash,
        status=row.status,
        python_version=row.python_version,
        venv_path=row.venv_path,
        python=str(venv_python(Path(row.venv_path))),
        log_path=row.log_path,
        error=row.error,
        requested_at=row.requested_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def get_build(*, session: Session, spec_hash: str) -> EnvironmentBuildPublic:
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if row is None:
        raise NotFoundError(f"no environment build has spec hash {spec_hash!r}")
    return public_build(row)


def read_build_log(*, session: Session, spec_hash: str, tail_lines: int | None = None) -> str:
    """The build log (or its last lines); empty before the first build."""
    build = get_build(session=session, spec_hash=spec_hash)
    return _read_tail(Path(build.log_path), tail_lines)


def _read_tail(path: Path, lines: int | None) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    if lines is None:
        return text
    return "\n".join(text.splitlines()[-lines:])


def set_build_status(*, session: Session, spec_hash: str, status: str, error: str | None = None) -> None:
    """Set a build's state directly (the job agent's recovery and tests use it)."""
    if status not in tuple(BuildStatus):
        raise ValidationError(
            f"build status {status!r} is not one of NotStarted, Queued, Building, Succeeded, Failed"
        )
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).first()
    if row is None:
        raise NotFoundError(f"no environment build has spec hash {spec_hash!r}")
    row.status, row.error = status, error
    session.add(row)
    session.flush()


def queue_build(*, session: Session, spec_hash: str) -> EnvironmentBuildPublic:
    """Queue the build of ``spec_hash`` and start a detached builder process; returns at once."""
    row = session.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
    if row.status == BuildStatus.SUCCEEDED and venv_python(Path(row.venv_path)).exists():
        return public_build(row)
    if row.status == BuildStatus.BUILDING and not _builder_gone(row):
        return public_build(row)
    if row.status != BuildStatus.QUEUED:
        row.status, row.error, row.requested_at = BuildStatus.QUEUED, None, utcnow()
        session.add(row)
        session.flush()
    _spawn_builder(spec_hash)
    return public_build(row)


def _spawn_builder(spec_hash: str) -> None:
    folder = envs_root() / spec_hash
    folder.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH", "")) if p)
    with open(folder / "builder.err", "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.agent.envbuild", spec_hash],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # survives a closed terminal or a restarted UI
        )
    # Reap it when it ends so a long-lived UI process keeps no zombies.
    threading.Thread(target=proc.wait, name=f"envbuild-{spec_hash[:8]}", daemon=True).start()


def _pid_file(spec_hash: str) -> Path:
    return envs_root() / spec_hash / "build.pid"


def _builder_gone(row: EnvironmentBuild) -> bool:
    """A Building row whose builder process no longer runs (it crashed or its machine restarted)."""
    import psutil

    began = row.started_at or row.requested_at
    pid_file = _pid_file(row.spec_hash)
    try:
        if row.started_at and pid_file.stat().st_mtime < row.started_at.timestamp() - 1:
            raise FileNotFoundError  # left by an earlier builder: this build's has not been written yet
        pid_text, _, started = pid_file.read_text().partition(" ")
        proc = psutil.Process(int(pid_text))
        return abs(proc.create_time() - float(started)) > 1 or proc.status() == psutil.STATUS_ZOMBIE
    except (FileNotFoundError, ValueError):
        return (utcnow() - began).total_seconds() > BUILD_STALE_GRACE_S
    except psutil.Error:
        return True


def _claim(spec_hash: str) -> bool:
    """Take the build with one conditional update: of two processes asking at once, one wins."""
    from backend.db import session_scope

    with session_scope() as s:
        result = s.exec(
            update(EnvironmentBuild)
            .where(
                EnvironmentBuild.spec_hash == spec_hash, EnvironmentBuild.status.in_(CLAIMABLE_BUILD_STATES)
            )
            .values(status=BuildStatus.BUILDING, started_at=utcnow(), finished_at=None, error=None)
        )
        return result.rowcount == 1


def _take_over_if_stale(spec_hash: str) -> None:
    """Mark a Building row Failed when its builder is gone, so it can be claimed again."""
    from backend.db import session_scope

    with session_scope() as s:
        row = s.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
        if row.status == BuildStatus.BUILDING and _builder_gone(row):
            s.exec(
                update(EnvironmentBuild)
                .where(
                    EnvironmentBuild.spec_hash == spec_hash,
                    EnvironmentBuild.status == BuildStatus.BUILDING,
                    EnvironmentBuild.started_at == row.started_at,
                )
                .values(
                    status=BuildStatus.FAILED,
                    error="the build process ended before it finished",
                    finished_at=utcnow(),
                )
            )
        elif row.status == BuildStatus.SUCCEEDED and not venv_python(Path(row.venv_path)).exists():
            s.exec(
                update(EnvironmentBuild)
                .where(
                    EnvironmentBuild.spec_hash == spec_hash, EnvironmentBuild.status == BuildStatus.SUCCEEDED
                )
                .values(status=BuildStatus.NOT_STARTED)
            )


def _finish(spec_hash: str, status: str, error: str | None, python: str | None) -> EnvironmentBuildPublic:
    from backend.db import session_scope

    values: dict[str, Any] = {"status": status, "error": error, "finished_at": utcnow()}
    if python:
        values["python_version"] = python
    with session_scope() as s:
        s.exec(update(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash).values(**values))
    with session_scope() as s:
        return get_build(session=s, spec_hash=spec_hash)


def _spec_for_hash(spec_hash: str) -> ResolvedSpec:
    from backend.db import session_scope

    with session_scope() as s:
        row = s.exec(select(Environment).where(Environment.spec_hash == spec_hash)).first()
        if row is None:
            raise NotFoundError(f"no environment has spec hash {spec_hash!r}")
        conda = CondaFile.model_validate(row.conda_file) if row.conda_file else None
        return resolve_packages(
            conda, list(row.pip_requirements or []), source=f"environment {row.name}:{row.version}"
        )


def build_environment(
    spec_hash: str, *, echo: Callable[[str], None] | None = None, wait: bool = True
) -> EnvironmentBuildPublic:
    """Build the venv of ``spec_hash`` now, in this process (the builder process, the CLI and the job agent
    call it). When another process is building it, wait for that build (or, with ``wait=False``, return)."""
    from backend.db import session_scope

    while True:
        _take_over_if_stale(spec_hash)
        with session_scope() as s:
            current = get_build(session=s, spec_hash=spec_hash)
        if current.status == BuildStatus.SUCCEEDED:
            return current
        if _claim(spec_hash):
            break
        if not wait:
            return current
        status, gone = _follow_log(spec_hash, echo)
        if status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED) and not gone:
            with session_scope() as s:
                return get_build(session=s, spec_hash=spec_hash)
    return _run_build(spec_hash, echo)


def _follow_log(spec_hash: str, echo: Callable[[str], None] | None) -> tuple[str, bool]:
    """Wait while another process builds, showing its log as it grows."""
    from backend.db import session_scope

    with session_scope() as s:
        log = Path(get_build(session=s, spec_hash=spec_hash).log_path)
    shown = 0
    if echo:
        echo(f"another process is building environment {spec_hash[:12]}; following its log")
    while True:
        time.sleep(BUILD_WAIT_POLL_S)
        with session_scope() as s:
            row = s.exec(select(EnvironmentBuild).where(EnvironmentBuild.spec_hash == spec_hash)).one()
            status, gone = row.status, row.status == BuildStatus.BUILDING and _builder_gone(row)
        if echo and log.exists():
            data = log.read_bytes()
            if len(data) > shown:
                echo(data[shown:].decode(errors="replace").rstrip("\n"))
                shown = len(data)
        if status != BuildStatus.BUILDING or gone:
            return status, gone


class _BuildFailed(StudioError):
    pass


def _run_build(spec_hash: str, echo: Callable[[str], None] | None) -> EnvironmentBuildPublic:
    import psutil

    folder = envs_root() / spec_hash
    folder.mkdir(parents=True, exist_ok=True)
    me = psutil.Process()
    _pid_file(spec_hash).write_text(f"{me.pid} {me.create_time()}")
    log_path = folder / "build.log"
    venv = folder / "venv"
    started = time.monotonic()
    status, error, version = BuildStatus.FAILED, None, None
    with build_log(log_path, echo) as say:
        try:
            spec = _spec_for_hash(spec_hash)
            say(f"# Studio environment build {spec_hash}")
            python, version = find_python(spec.python)
            say(f"# python {version} at {python}" + (f" (requested {spec.python})" if spec.python else ""))
            requirements = list(spec.requirements)
            if not _has_mlflow(requirements):
                requirements.append("mlflow-skinny")  # jobs log with MLflow: it is always there
            if not any(re.match(r"^pip(?![\w.-])", r) for r in requirements):
                requirements.append("pip")  # so a command can add packages to its job's own layer
            (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
            (folder / "spec.json").write_text(
                json.dumps({"python": spec.python, "requirements": spec.requirements}, indent=2),
                encoding="utf-8",
            )
            say("# requirements: " + (", ".join(requirements)))
            shutil.rmtree(venv, ignore_errors=True)
            uv = _uv_bin()
            _run([uv, "venv", "--no-python-downloads", "--python", python, str(venv)], say, "uv venv", folder)
            _run(
                [
                    uv,
                    "pip",
                    "install",
                    "--no-python-downloads",
                    "--compile-bytecode",  # jobs see the venv read-only: they could not write it
                    "--python",
                    str(venv_python(venv)),
                    "-r",
                    str(folder / "requirements.txt"),
                ],
                say,
                "uv pip install",
                folder,
            )
            # Cheaper than importing it (about a second): MLflow must be installed for jobs to log.
            check = "import importlib.util as u, sys; sys.exit(u.find_spec('mlflow') is None)"
            _run([str(venv_python(venv)), "-c", check], say, "the check that MLflow is installed", folder)
            status = BuildStatus.SUCCEEDED
            say(f"# Succeeded in {time.monotonic() - started:.1f}s")
        except StudioError as exc:
            say(f"Build failed: {exc}")
        except BaseException as exc:
            say(f"Build failed: unexpected {type(exc).__name__}: {exc}")
            raise
        finally:
            if status != BuildStatus.SUCCEEDED:  # every line is flushed as it is said
                error = _read_tail(log_path, LOG_TAIL_LINES)
            result = _finish(spec_hash, status, error, version)
            _pid_file(spec_hash).unlink(missing_ok=True)
    return result


def _has_mlflow(requirements: list[str]) -> bool:
    return any(re.match(r"^mlflow(-skinny)?(?![\w.-])", r) for r in requirements)


def _uv_bin() -> str:
    from backend.services.base_environment import BaseEnvironmentError, uv_bin

    try:
        return uv_bin()
    except BaseEnvironmentError as exc:
        raise _BuildFailed(str(exc)) from None


def _run(argv: list[str], say: Callable[[str], None], what: str, folder: Path) -> None:
    """A build step, sandboxed: it may write only the build's folder (and uv's cache)."""
    from backend.services.base_environment import BaseEnvironmentError, run_tool

    try:
        run_tool(argv, say, what, writable=[folder], timeout_s=BUILD_TIMEOUT_S)
    except BaseEnvironmentError as exc:
        raise _BuildFailed(str(exc)) from None


def built_venvs(*, session: Session, workspace: str, limit: int = 20) -> list[tuple[str, str, Path]]:
    """(name, version, venv) of the workspace's custom environments whose venv is built and runs this
    Python's version (a notebook kernel each: ``backend.agent.notebooks``); the newest version of each."""
    from backend.services.lookup import get_workspace_row

    ws = get_workspace_row(session=session, name=workspace)
    rows = session.exec(
        select(
            Environment.name, Environment.version, EnvironmentBuild.venv_path, EnvironmentBuild.python_version
        )
        .join(EnvironmentBuild, EnvironmentBuild.spec_hash == Environment.spec_hash)
        .where(Environment.workspace_id == ws.id, Environment.archived == False)  # noqa: E712
        .where(EnvironmentBuild.status == BuildStatus.SUCCEEDED)
        .order_by(Environment.created_at.desc())
    ).all()
    mine = ".".join(str(p) for p in sys.version_info[:2])
    found: dict[str, tuple[str, str, Path]] = {}
    for name, version, venv, python in rows:
        same = python is None or python == mine or python.startswith(f"{mine}.")
        if name not in found and same and venv_python(Path(venv)).exists():
            found[name] = (name, version, Path(venv))
    return list(found.values())[:limit]
