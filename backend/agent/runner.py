"""Preparing a command job (code, environment, inputs, outputs, MLflow run, wrapper) and finalizing it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backend import sandbox
from backend.agent import job_secrets, ray_runner, standby
from backend.db import session_scope
from backend.db.models import Job, Workspace, utcnow
from backend.errors import StudioError
from backend.services import agents, jobs, notebook_jobs
from backend.services.jobs import job_dir, transition, wake_agent
from backend.settings import get_settings
from backend.specs.job import MODEL_TYPES
from backend.statuses import BuildStatus, JobStatus
from backend.storage import uris

WRAPPER = Path(__file__).with_name("wrapper.py")
_FILE_WORK = ThreadPoolExecutor(max_workers=4, thread_name_prefix="studio-agent-files")
YIELD_TO_LAUNCHES_S = 1.0  # finalizing waits at most this long for jobs being launched meanwhile
_launches = threading.Condition()
_launching = [0]  # prepare calls in flight in this process
LOG_TAIL_LINES = 20
ON_RAY = object()  # what preparing returns for a job it submitted to a Ray cluster
WAKE_SOCKET: list[Path | None] = [None]  # the socket of the agent in this process (set when it opens it)


class Canceled(Exception):
    """The job was canceled while it was being prepared."""


class LeftForRecovery(Exception):
    """The wrapper runs but its start could not be recorded: the agent's recovery adopts it."""


def system_log(folder: Path, message: str) -> None:
    (folder / "system_logs").mkdir(parents=True, exist_ok=True)
    with open(folder / "system_logs" / "agent.log", "a") as handle:
        handle.write(f"{utcnow().isoformat(timespec='milliseconds')} {message}\n")


def log_tail(folder: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = (folder / "user_logs" / "std_log.txt").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _load(job_id: int) -> tuple[Job, str]:
    with session_scope() as s:
        row = s.get(Job, job_id)
        workspace = s.get(Workspace, row.workspace_id).name
        s.expunge(row)
        return row, workspace


def _check_not_canceled(job_id: int) -> None:
    with session_scope() as s:
        row = s.get(Job, job_id)
        if row.cancel_requested or row.status != JobStatus.PREPARING:
            raise Canceled()


def _filesystem(workspace: str, datastore: str):
    from backend.services.datastores import get_filesystem

    with session_scope() as s:
        return get_filesystem(session=s, workspace=workspace, name=datastore)


def materialize_code(workspace: str, code: str | None, wd: Path) -> None:
    """A code snapshot (an azureml:// URI) as the folder ``wd``, fresh; an empty folder when there is none."""
    if wd.exists():
        shutil.rmtree(wd)
    if code is None:
        wd.mkdir(parents=True)
        return
    ref = uris.parse_reference(code)
    store = _filesystem(workspace, ref.datastore)
    if store.is_local:
        shutil.copytree(store.local_path(ref.path), wd, symlinks=True)
    else:
        store.get(ref.path, wd)


def _materialize_input(workspace: str, name: str, spec: dict[str, Any], folder: Path) -> str:
    """The value ``${{inputs.name}}`` takes: a local path (or, in ``direct`` mode, the URI itself)."""
    from backend.services.data_assets import local_copy

    uri, mode = spec["uri"], spec.get("mode", "ro_mount")
    if mode == "direct":
        return uri
    ref = uris.parse_reference(uri)
    if isinstance(ref, uris.RunArtifact):
        from backend.agent import tracking

        target = folder / "inputs" / name
        target.mkdir(parents=True, exist_ok=True)
        return tracking.client().download_artifacts(ref.run_id, ref.path, str(target))
    with session_scope() as s:
        if mode == "download" or not (
            isinstance(ref, uris.DatastorePath) and _filesystem(workspace, ref.datastore).is_local
        ):
            target = folder / "inputs" / name
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            return str(local_copy(session=s, workspace=workspace, uri=uri, into=target))
        return str(local_copy(session=s, workspace=workspace, uri=uri))


def _prepare_output(workspace: str, name: str, spec: dict[str, Any], folder: Path) -> str:
    """The folder (or file path, for uri_file) that ``${{outputs.name}}`` points at."""
    ref = uris.parse_reference(spec["uri"])
    store = _filesystem(workspace, ref.datastore)
    if store.is_local and spec.get("mode", "rw_mount") == "rw_mount":
        target = store.local_path(ref.path)
    else:  # written locally, uploaded when the job ends
        target = folder / "outputs" / name / (Path(ref.path).name if spec["type"] == "uri_file" else "")
    if spec["type"] == "uri_file":
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target.mkdir(parents=True, exist_ok=True)
    return str(target)


def _environment_venv(env: dict[str, Any], folder: Path) -> Path:
    """The venv the job's layer sits on: the curated base, or the environment's own (built if needed)."""
    from backend.services import base_environment, environment_builds

    if not env.get("spec_hash"):
        system_log(folder, f"environment: {env.get('reason', 'the curated base environment')}")
        recipe = base_environment.BENCHMARK if env.get("curated") == "benchmark" else base_environment.BASE
        python = base_environment.ensure(
            echo=lambda line: system_log(folder, f"{recipe.name} environment: {line}"), recipe=recipe
        )
        return python.parent.parent
    system_log(folder, f"environment {env['reference']}: building or reusing venv {env['spec_hash']}")
    build = environment_builds.build_environment(
        env["spec_hash"], echo=lambda line: system_log(folder, f"build: {line}")
    )
    if build.status != BuildStatus.SUCCEEDED:
        raise StudioError(f"environment build failed: {build.error or 'see the build log'}")
    return Path(env["python"]).parent.parent


def _process_env(
    row: Job,
    layer: Path,
    venv: Path,
    folder: Path,
    inputs: dict[str, str],
    input_uris: dict[str, str],
    outputs: dict[str, str],
    literals: dict[str, str],
    run_id: str,
    experiment_id: str,
    tracking_uri: str,
    extra: dict[str, str],
) -> dict[str, str]:
    """What the command sees: the system's locale/proxy/index settings, its paths, MLflow variables."""
    env = sandbox.inherited_environment()
    studio_bin = str(Path(sys.prefix) / "bin")  # Studio's own venv is never on a job's PATH
    system_path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p != studio_bin]
    env["PATH"] = os.pathsep.join([str(layer / "bin"), str(venv / "bin"), *system_path])
    env.update(
        {
            "HOME": str(folder / "home"),
            "VIRTUAL_ENV": str(layer),
            "PYTHONUNBUFFERED": "1",
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_RUN_ID": run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "MLFLOW_EXPERIMENT_NAME": row.experiment_name,
            "AZUREML_RUN_ID": row.name,
            "AZUREML_EXPERIMENT_NAME": row.experiment_name,
            # For the in-job `mltable` API: which azureml:// URIs this job may read, and where they are.
            "STUDIO_JOB_INPUTS": json.dumps({uri: inputs[name] for name, uri in input_uris.items()}),
        }
    )
    env.update({f"AZURE_ML_INPUT_{k}": v for k, v in literals.items()})  # as in the cloud: literals too
    env.update({f"AZURE_ML_INPUT_{k}": v for k, v in inputs.items()})
    env.update({f"AZURE_ML_OUTPUT_{k}": v for k, v in outputs.items()})
    env.update(extra)
    _bypass_proxy(env, tracking_uri)
    return env


def _bypass_proxy(env: dict[str, str], tracking_uri: str) -> None:
    """The tracking server is reached directly, never through a configured proxy; and a ``no_proxy``
    that names its host spares ``requests`` (MLflow's client) from scanning the whole environment for
    proxy settings on every call."""
    host = urlsplit(tracking_uri).hostname
    if not host:
        return
    for key in ("no_proxy", "NO_PROXY"):
        names = [n for n in env.get(key, "").split(",") if n.strip()]
        env[key] = ",".join([*names, host] if host not in names else names)


def prepare(job_id: int) -> subprocess.Popen | None:
    """Make everything ready, start the wrapper and mark the job Running. Returns the wrapper process.

    Whatever happens, the job leaves Preparing: Running, or (in the ``finally``) Failed or Canceled."""
    row, workspace = _load(job_id)
    folder = job_dir(workspace, row.name)
    folder.mkdir(parents=True, exist_ok=True)
    outcome: tuple[JobStatus, str] | None = (JobStatus.FAILED, "preparing failed: it ended unexpectedly")
    with _launches:
        _launching[0] += 1
    try:
        proc = _prepare_and_start(job_id, row, workspace, folder)
        if proc is ON_RAY:  # submitted to a Ray cluster: no local process
            outcome = None
            return None
        if proc is not None:
            outcome = None
            return proc
        outcome = (JobStatus.CANCELED, "canceled while preparing")
        return None
    except Canceled:
        outcome = (JobStatus.CANCELED, "canceled while preparing")
        return None
    except LeftForRecovery:
        outcome = None
        return None
    except Exception as exc:
        reason = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        outcome = (JobStatus.FAILED, f"preparing failed: {reason}")
        return None
    finally:
        with _launches:
            _launching[0] -= 1
            _launches.notify_all()
        if outcome is not None:
            _settle_unstarted(job_id, folder, *outcome)


def _after_launches() -> None:
    """Finalizing (uploads, the MLflow run) yields to jobs being launched: a sweep's next trial waits for
    its launch, nobody waits for a finished job's artifacts. Never longer than ``YIELD_TO_LAUNCHES_S``."""
    with _launches:
        _launches.wait_for(lambda: _launching[0] == 0, timeout=YIELD_TO_LAUNCHES_S)


def _settle_unstarted(job_id: int, folder: Path, status: JobStatus, reason: str) -> None:
    system_log(folder, reason)
    if status == JobStatus.CANCELED:
        settle_canceled(job_id)
        return
    if _fail(job_id, (JobStatus.PREPARING, JobStatus.CANCEL_REQUESTED), reason):
        _end_mlflow_run(job_id, JobStatus.FAILED)


def _fail(job_id: int, from_statuses: tuple[JobStatus, ...], reason: str) -> bool:
    """Settle the job Failed with ``reason`` if it is in one of ``from_statuses``; True when this did it."""
    with session_scope() as s:
        return transition(
            session=s,
            job_id=job_id,
            from_statuses=from_statuses,
            to_status=JobStatus.FAILED,
            end_time=utcnow(),
            failure_reason=reason,
        )


def _fresh_layer(folder: Path, venv: Path) -> Path:
    from backend.agent.layer import make_layer

    layer = folder / "venv"
    if layer.exists():  # prepared before (an agent restart): start from the environment again
        shutil.rmtree(layer)
    make_layer(layer, venv)
    return layer


def _create_run(job_id: int, row: Job, workspace: str) -> tuple[str, str]:
    """The job's MLflow run, recorded on its row at once, then its params: (run id, experiment id)."""
    from backend.agent import tracking

    spec = row.spec
    tags = {
        "studio.job": row.name,
        "studio.workspace": workspace,
        "mlflow.user": "studio",
        **{k: str(v) for k, v in (row.tags or {}).items()},
        **(spec.get("mlflow_tags") or {}),
    }
    run_id, experiment_id = tracking.create_run(
        experiment=row.experiment_name, run_name=row.display_name or row.name, tags=tags
    )
    with session_scope() as s:
        job = s.get(Job, job_id)
        job.mlflow_run_id, job.mlflow_experiment_id = run_id, experiment_id
    if spec.get("params"):
        tracking.log_params(run_id, spec["params"])
    return run_id, experiment_id


def _ready_files(job_id: int, row: Job, workspace: str, folder: Path, venv: Path):
    """The job's layer, its inputs and outputs: (layer, expression values, input paths, input URIs,
    output paths)."""
    spec = row.spec
    layer = _fresh_layer(folder, venv)
    _check_not_canceled(job_id)
    values: dict[str, str | None] = {}
    input_paths: dict[str, str] = {}
    input_uris: dict[str, str] = {}
    for name, value in (spec.get("inputs") or {}).items():
        if value is None:
            values[f"inputs.{name}"] = None
        elif value["kind"] == "literal":
            values[f"inputs.{name}"] = _literal_text(value["value"])
        else:
            input_paths[name] = values[f"inputs.{name}"] = _materialize_input(workspace, name, value, folder)
            if value.get("mode", "ro_mount") != "direct":
                input_uris[name] = value["uri"]
    output_paths = {
        name: _prepare_output(workspace, name, out, folder)
        for name, out in (spec.get("outputs") or {}).items()
    }
    values.update({f"outputs.{name}": path for name, path in output_paths.items()})
    values.update(
        {f"search_space.{k}": _literal_text(v) for k, v in (spec.get("search_space") or {}).items()}
    )
    return layer, values, input_paths, input_uris, output_paths


def _prepare_and_start(job_id: int, row: Job, workspace: str, folder: Path) -> subprocess.Popen | None:
    from backend.agent import tracking

    spec = row.spec
    system_log(folder, f"preparing job {row.name} on compute {row.compute}")
    system_log(folder, f"isolation: {sandbox.status().detail}")
    wd = folder / "wd"
    materialize_code(workspace, spec.get("code"), wd)
    for sub in ("outputs", "logs"):  # the cloud's convention: both exist before the command starts
        (wd / sub).mkdir(exist_ok=True)
    (folder / "home").mkdir(exist_ok=True)
    venv = _environment_venv(spec.get("environment") or {}, folder)
    # The layer and the inputs are readied (in a helper thread) while this thread makes the job's MLflow
    # run and logs its params over HTTP (on this thread's kept-alive connection, as before).
    files = _FILE_WORK.submit(_ready_files, job_id, row, workspace, folder, venv)
    try:
        run_id, experiment_id = (
            (row.mlflow_run_id, row.mlflow_experiment_id)
            if row.mlflow_run_id
            else _create_run(job_id, row, workspace)
        )
    finally:
        wait([files])  # never settle the job while its files are still being made
    layer, values, input_paths, input_uris, output_paths = files.result()
    from backend.specs.job import render_command

    command = render_command(spec["command"], values)
    _check_not_canceled(job_id)
    env = _process_env(
        row,
        layer,
        venv,
        folder,
        input_paths,
        input_uris,
        output_paths,
        {
            k.removeprefix("inputs."): v
            for k, v in values.items()
            if k.startswith("inputs.") and v is not None and k.removeprefix("inputs.") not in input_paths
        },
        run_id,
        experiment_id,
        tracking.tracking_uri(),
        spec.get("environment_variables") or {},
    )
    with session_scope() as s:
        target = ray_runner.target_of(s, row)
        shared_database = agents.shared(s)
    if target:  # a Ray cluster runs the command (backend/agent/ray_runner.py)
        ray_runner.launch(
            job_id=job_id, row=row, folder=folder, wd=wd, command=command, env=env, target=target,
            inputs=input_paths, outputs=output_paths,
        )  # fmt: skip
        return ON_RAY
    job_secrets.write(folder, job_secrets.resolve(workspace, spec.get("secrets") or {}))
    argv = sandbox.wrap(
        [shutil.which("bash") or "/bin/sh", "-c", command],
        writable=[folder, *output_paths.values()],
        # Mounted inputs are read-only; a downloaded one is the job's own copy, in its folder.
        readonly=[venv, *(p for name in input_uris if not (p := input_paths[name]).startswith(f"{folder}/"))],
        cwd=wd,
    )
    launch = {
        "argv": argv,
        "command": command,
        "cwd": str(wd),
        "env": env,
        "job": row.name,
        "wake_socket": str(WAKE_SOCKET[0] or get_settings().run_dir / "agent.sock"),
        # On a database several machines share, an agent on another machine may have to take the job over:
        # the wrapper reports the end on the job's run, and starts the command only once it is recorded.
        "standby": row.standby or shared_database,
        "report_exit": shared_database,
        "agent_pid": os.getpid(),  # a held wrapper whose agent is gone never starts (even gone at once)
    }
    (folder / "launch.json").write_text(json.dumps(launch, indent=2))
    for stale in ("exit_code", "started_at", "wrapper.pid", standby.STANDING_BY):
        (folder / stale).unlink(missing_ok=True)
    system_log(folder, f"starting: {command}")
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(WRAPPER), str(folder)],  # stdlib only: skip site start-up
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    (folder / "wrapper.pid").write_text(str(proc.pid))
    if row.standby:  # a sweep's next trial: its command starts when the sweep releases it
        if not standby.wait_until_standing(job_id, folder, proc):
            raise Canceled()
        system_log(folder, "ready: the command starts when the sweep has a free slot")
        return proc
    try:
        with session_scope() as s:
            started = transition(
                session=s,
                job_id=job_id,
                from_statuses=(JobStatus.PREPARING,),
                to_status=JobStatus.RUNNING,
                wrapper_pid=proc.pid,
            )
    except Exception as exc:
        system_log(folder, f"could not record the start ({exc}); the agent adopts the running job")
        raise LeftForRecovery() from exc
    if not started:  # canceled at the last moment
        kill_group(proc.pid)
        proc.wait()
        raise Canceled()
    if shared_database:  # recorded: now the command may start (a lost go signal is sent again by _watch)
        standby.go(folder, proc)
    return proc


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def kill_group(pid: int, sig: int | None = None) -> None:
    import signal

    try:
        os.killpg(pid, sig or signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_exit(folder: Path) -> tuple[int, datetime] | None:
    try:
        data = json.loads((folder / "exit_code").read_text())
    except (OSError, ValueError):
        return None
    return int(data["code"]), datetime.fromisoformat(data["ended_at"])


def read_started(folder: Path) -> datetime | None:
    try:
        return datetime.fromisoformat((folder / "started_at").read_text().strip())
    except (OSError, ValueError):
        return None


def _end_mlflow_run(job_id: int, status: str, folder: Path | None = None, work: bool = False) -> None:
    from backend.agent import tracking

    row, workspace = _load(job_id)
    if not row.mlflow_run_id:
        return
    folder = folder or job_dir(workspace, row.name)
    try:
        if work:  # stopped before it could finalize (timeout, lost process): what it wrote until then
            tracking.upload_folder(row.mlflow_run_id, folder / "wd" / "outputs", "outputs")
            tracking.upload_folder(row.mlflow_run_id, folder / "wd" / "logs", "logs")
        tracking.upload_folder(row.mlflow_run_id, folder / "user_logs", "user_logs")
        tracking.upload_folder(row.mlflow_run_id, folder / "system_logs", "system_logs")
        tracking.end_run(row.mlflow_run_id, status)
    except Exception as exc:  # the job's own status is already right; say what MLflow missed
        system_log(folder, f"could not update the MLflow run: {exc}")


def settle_canceled(job_id: int, reason: str = "canceled by the user") -> None:
    row, _ = _load(job_id)
    with session_scope() as s:
        settled = transition(
            session=s,
            job_id=job_id,
            from_statuses=(
                JobStatus.PREPARING,
                JobStatus.RUNNING,
                JobStatus.CANCEL_REQUESTED,
                JobStatus.FINALIZING,
            ),
            to_status=JobStatus.CANCELED,
            end_time=utcnow(),
            failure_reason=row.failure_reason or reason,
        )
    if settled:  # its slot goes to the next job while its MLflow run and artifacts are still written
        wake_agent()
    if _load(job_id)[0].status == JobStatus.CANCELED:
        _end_mlflow_run(job_id, JobStatus.CANCELED)


def _register_outputs(workspace: str, row: Job, folder: Path) -> list[str]:
    from backend.services import data_assets

    registered = []
    outputs = row.spec.get("outputs") or {}
    for name, out in outputs.items():  # every output uploaded before any is registered: all or none
        _upload_output(workspace, name, out, folder / "outputs" / name)
    for name, out in outputs.items():
        if out.get("asset_name") and out["type"] in MODEL_TYPES:
            registered.append(_register_model_output(workspace, row, name, out))
            continue
        if not out.get("asset_name") or out["type"] not in ("uri_file", "uri_folder", "mltable"):
            continue
        with session_scope() as s:
            asset = data_assets.create_data_asset(
                session=s,
                workspace=workspace,
                data=data_assets.DataAssetCreate(
                    name=out["asset_name"],
                    version=out.get("asset_version"),
                    type=out["type"],
                    path=out["uri"],
                    description=f"Output {name} of job {row.name}",
                    tags={"studio.job": row.name},
                ),
                source=f"job {row.name}, output {name}",
            )
        registered.append(f"{asset.name}:{asset.version}")
    return registered


def _upload_output(workspace: str, name: str, out: dict[str, Any], local: Path) -> None:
    """Copy an output written locally (upload mode, or a remote datastore) to where it goes; a full disk or
    a datastore that cannot be reached is one line naming the output and the datastore."""
    from backend.errors import StudioError

    if not local.exists():
        return
    ref = uris.parse_reference(out["uri"])
    try:
        store = _filesystem(workspace, ref.datastore)
        store.put(local / Path(ref.path).name if out["type"] == "uri_file" else local, ref.path)
    except OSError as exc:
        raise RuntimeError(
            f"output {name!r}: cannot write to datastore {ref.datastore!r}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if getattr(exc, "filename", None) else "")
        ) from None
    except StudioError as exc:
        raise RuntimeError(
            f"output {name!r}: datastore {ref.datastore!r} unreachable: {exc}".replace(
                f": datastore {ref.datastore!r}: ", ": ", 1
            )
        ) from None


def _record_insights(workspace: str, row: Job) -> list[str]:
    """A pipeline's RAI gather step wrote a dashboard: record it as insights (see services/rai.py)."""
    from backend.services import rai

    if "python -m rai component" not in (row.spec.get("command") or ""):
        return []
    recorded = []
    for name, out in (row.spec.get("outputs") or {}).items():
        with session_scope() as s:
            found = rai.record_job_output(
                session=s, workspace=workspace, job=row.name, output=name, uri=out["uri"]
            )
        if found:
            recorded.append(f"Responsible AI insights {found}")
    return recorded


def _register_model_output(workspace: str, row: Job, name: str, out: dict[str, Any]) -> str:
    """A named output of a model type becomes a version in MLflow's model registry (linked to the run)."""
    from backend.services import models

    with session_scope() as s:
        model = models.register_job_output(
            session=s,
            workspace=workspace,
            job=row.name,
            output=name,
            name=out["asset_name"],
            version=out.get("asset_version"),
            type=out["type"],
        )
    return f"model {model.name}:{model.version}"


def begin_finalizing(job_id: int, code: int | None) -> bool:
    """Running -> Finalizing (the command has exited with ``code``); True when this call did it. The agent
    does it in its pass, so the same pass already gives the job's compute (a sweep's slot) to the next."""
    with session_scope() as s:
        return transition(
            session=s,
            job_id=job_id,
            from_statuses=(JobStatus.RUNNING,),
            to_status=JobStatus.FINALIZING,
            exit_code=code,
        )


def finalize(job_id: int, begun: bool = False) -> None:
    """Upload outputs and artifacts, register named outputs, settle the status (Finalizing → end).
    ``begun``: the caller moved the job to Finalizing already (``begin_finalizing``)."""
    from backend.agent import tracking

    row, workspace = _load(job_id)
    folder = job_dir(workspace, row.name)
    ended = read_exit(folder)
    code, ended_at = ended if ended else (None, utcnow())
    if not begun:
        if not begin_finalizing(job_id, code):
            return
        wake_agent()  # its compute is free: the next job need not wait for this one's artifacts
    _after_launches()
    status, reason = JobStatus.FAILED, "finalizing failed: it ended unexpectedly"
    try:
        status, reason = JobStatus.COMPLETED, None
        if code == 0:
            ray_runner.fetch_outputs(row)  # (on a Ray cluster elsewhere: the outputs, from the run)
            registered = _register_outputs(workspace, row, folder) + _record_insights(workspace, row)
            if registered:
                system_log(folder, f"registered outputs: {', '.join(registered)}")
        else:
            status = JobStatus.FAILED
            tail = log_tail(folder)
            # A notebook run by papermill: the failing cell's exception, not only its exit code.
            reason = notebook_jobs.cell_failure(folder / "user_logs" / "std_log.txt", code) or (
                f"exit code {code}" + (f"; last lines of the log:\n{tail}" if tail else "")
            )
        if row.mlflow_run_id:
            tracking.upload_folder(row.mlflow_run_id, folder / "wd" / "outputs", "outputs")
            tracking.upload_folder(row.mlflow_run_id, folder / "wd" / "logs", "logs")
            # As the cloud keeps it: the job's log with its run, readable where its folder is not.
            tracking.upload_folder(row.mlflow_run_id, folder / "user_logs", "user_logs")
    except Exception as exc:
        status, reason = JobStatus.FAILED, f"finalizing failed: {exc}"
        system_log(folder, reason)
    finally:  # whatever happened above, the job leaves Finalizing
        try:
            system_log(folder, f"job ended: {status}" + (f" ({reason.splitlines()[0]})" if reason else ""))
            _end_mlflow_run(job_id, status, folder)  # before the status: a finished job has a finished run
        finally:
            with session_scope() as s:
                transition(
                    session=s,
                    job_id=job_id,
                    from_statuses=(JobStatus.FINALIZING,),
                    to_status=status,
                    end_time=ended_at,
                    failure_reason=reason,
                )


def fail_running(job_id: int, reason: str) -> None:
    row, workspace = _load(job_id)
    folder = job_dir(workspace, row.name)
    system_log(folder, reason)
    if _fail(job_id, (JobStatus.RUNNING, JobStatus.CANCEL_REQUESTED), reason):
        _end_mlflow_run(job_id, JobStatus.FAILED, folder, work=True)


__all__ = ["finalize", "jobs", "prepare", "settle_canceled"]
