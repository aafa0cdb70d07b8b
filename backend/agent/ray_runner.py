"""Jobs on a Ray cluster (compute ``type: ray``, or an ``amlcompute`` cluster with an ``address``), through
the Ray Jobs API.

Preparing is a local job's (code snapshot, environment, inputs and outputs, the MLflow run and its params);
then, instead of a wrapper in the sandbox, the command goes to the cluster as a Ray job: the entrypoint is
the command, the runtime environment carries the job's variables (MLflow tracking URI and run id,
``AZURE_ML_INPUT_*`` / ``AZURE_ML_OUTPUT_*``, the environment's ``PATH``) and, for a cluster on another
machine, the code snapshot as its working directory. Per node the job asks for, one CPU is reserved on a
``type: ray`` compute, and the cores of the cluster's VM size on an ``amlcompute`` that runs on Ray.

Each agent pass reads the Ray job's status and log and writes them into the job folder as a wrapper would
(``user_logs/std_log.txt``, ``started_at``, ``exit_code``), so settling, finalizing (outputs, the MLflow
run's end) and adoption after an agent restart are a local job's; the Ray job's id is on the job's row
(``state.ray``). A cancel or a timeout stops the Ray job.

A cluster whose Jobs API is on this machine (loopback) runs the command in the job's own folder, so its
``./outputs`` and output paths are the job's. A cluster elsewhere gets the code uploaded with the inputs in
it, and sends ``./outputs`` and the outputs back through the job's MLflow run (``ray_files``); its workers
must reach the tracking server (``STUDIO_ADVERTISED_HOST``).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from backend.agent import ray_files
from backend.db import session_scope
from backend.db.models import Compute, Job
from backend.errors import StudioError
from backend.services import ray_cluster
from backend.services.jobs import transition
from backend.statuses import JobStatus

log = logging.getLogger("studio.agent.ray")
UNREACHABLE_LIMIT_S = 300.0  # a running job whose cluster does not answer this long fails
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
_unreachable_since: dict[int, float] = {}


class RayTarget(NamedTuple):
    address: str
    cpus_per_node: int


def target_of(session, row: Job) -> RayTarget | None:
    """Where the job's compute runs it on Ray, or None when its compute is not on a Ray cluster."""
    from sqlmodel import select

    compute = session.exec(
        select(Compute).where(Compute.workspace_id == row.workspace_id, Compute.name == row.compute)
    ).first()
    if compute is None or not compute.address:
        return None
    return RayTarget(compute.address, 1 if compute.type == "ray" else max(1, int(compute.cores)))


def is_local(address: str) -> bool:
    host = (urlsplit(ray_cluster.api_url(address)).hostname or "").lower()
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def advertised(tracking_uri: str) -> str:
    """The tracking URI as the cluster's workers reach it (``STUDIO_ADVERTISED_HOST``, if set)."""
    host = os.environ.get("STUDIO_ADVERTISED_HOST")
    if not host:
        return tracking_uri
    parts = urlsplit(tracking_uri)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def launch(
    *,
    job_id: int,
    row: Job,
    folder: Path,
    wd: Path,
    command: str,
    env: dict[str, str],
    target: RayTarget,
    inputs: dict[str, str],
    outputs: dict[str, str],
) -> str:
    """Submit the job to the cluster, then mark it Running (its Ray job's id on the row). ``inputs`` and
    ``outputs``: their paths on this machine (a cluster elsewhere gets them through ``ray_files``)."""
    if row.spec.get("secrets"):
        raise StudioError(
            "secrets are not passed to a Ray compute (its dashboard shows a job's variables): run this "
            "job on a local compute"
        )
    address = target.address
    local = is_local(address)
    variables = {k: v for k, v in env.items() if k not in ("HOME", "PWD")}
    variables["MLFLOW_TRACKING_URI"] = advertised(env["MLFLOW_TRACKING_URI"])
    runtime_env: dict[str, Any] = {"env_vars": variables}
    ray = {"address": address}
    if local:  # the cluster sees this machine's files: the command runs in the job's own folder
        entrypoint = f"cd {shlex.quote(str(wd))} && {command}"
    else:  # the inputs go with the code; the outputs come back through the run (backend/agent/ray_files.py)
        staged = ray_files.stage(
            wd=wd, command=command, env=variables, inputs=inputs, outputs=outputs, address=address
        )
        entrypoint, runtime_env["env_vars"] = staged.entrypoint, staged.env
        runtime_env["working_dir"] = str(wd)
        if packages := ray_files.packages(row.spec.get("environment") or {}):
            runtime_env["pip"] = packages  # a registered environment's packages, installed by Ray there
        ray["outputs"] = staged.outputs
    submission_id = f"{row.name}-{(row.mlflow_run_id or 'run')[:8]}"
    _system_log(folder, f"submitting to the Ray cluster at {address} as Ray job {submission_id}")
    try:
        ray_cluster.submit(
            address,
            submission_id=submission_id,
            entrypoint=entrypoint,
            runtime_env=runtime_env,
            cpus_=max(1, row.instance_count) * target.cpus_per_node,
        )
    except StudioError as exc:
        if "already exists" not in str(exc):
            raise
        # Submitted by an agent that stopped before recording it: the same Ray job, never a second one.
        _system_log(folder, f"Ray job {submission_id} was submitted before: following it")
    with session_scope() as s:
        started = transition(
            session=s,
            job_id=job_id,
            from_statuses=(JobStatus.PREPARING,),
            to_status=JobStatus.RUNNING,
            state={**(row.state or {}), "ray": {**ray, "submission_id": submission_id}},
        )
    if not started:  # canceled meanwhile
        ray_cluster.stop(address, submission_id)
    return submission_id


def ray_of(state: dict[str, Any] | None) -> dict[str, str] | None:
    return (state or {}).get("ray")


def sync(job_id: int, folder: Path, ray: dict[str, str]) -> bool:
    """Copy the Ray job's log, start and end into the job folder; True when it has ended (``exit_code``
    written). A cluster that does not answer for ``UNREACHABLE_LIMIT_S`` ends the job (code -1)."""
    address, submission_id = ray["address"], ray["submission_id"]
    try:
        found = ray_cluster.info(address, submission_id)
        text = ray_cluster.logs(address, submission_id)
    except Exception as exc:
        first = _unreachable_since.setdefault(job_id, time.monotonic())
        if time.monotonic() - first < UNREACHABLE_LIMIT_S:
            log.warning("cannot read Ray job %s: %s", submission_id, exc)
            return False
        _system_log(folder, f"the Ray cluster at {address} did not answer for {UNREACHABLE_LIMIT_S:.0f} s")
        _write_exit(folder, -1, None)
        return True
    _unreachable_since.pop(job_id, None)
    logs = folder / "user_logs" / "std_log.txt"
    logs.parent.mkdir(parents=True, exist_ok=True)
    if not logs.exists() or logs.stat().st_size != len(text.encode()):
        tmp = logs.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(logs)
    if found.start_time and not (folder / "started_at").exists():
        (folder / "started_at").write_text(_iso(found.start_time))
    status = str(getattr(found.status, "value", found.status))
    if status not in TERMINAL:
        return False
    code = found.driver_exit_code
    if code is None:
        code = {"SUCCEEDED": 0, "STOPPED": -15}.get(status, 1)
    if status == "FAILED" and found.message:
        _system_log(folder, f"Ray: {found.message.strip().splitlines()[0]}")
    _write_exit(folder, int(code), found.end_time)
    return True


def fetch_outputs(row: Job) -> None:
    """A completed job on a cluster elsewhere: its outputs, from its run to where they go here."""
    ray = ray_of(row.state)
    if ray and ray.get("outputs") and row.mlflow_run_id:
        ray_files.fetch_outputs(row.mlflow_run_id, ray["outputs"])


def stop(ray: dict[str, str]) -> None:
    ray_cluster.stop(ray["address"], ray["submission_id"])


def _write_exit(folder: Path, code: int, end_ms: int | None) -> None:
    ended = _iso(end_ms) if end_ms else datetime.now(UTC).isoformat()
    tmp = folder / "exit_code.tmp"
    tmp.write_text(json.dumps({"code": code, "ended_at": ended}))
    tmp.replace(folder / "exit_code")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _system_log(folder: Path, message: str) -> None:
    from backend.agent.runner import system_log

    system_log(folder, message)
