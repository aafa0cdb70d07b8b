"""The samples Home offers: the demo's iris job and sweep (``assets/sample_code``), one click each.

A click submits the sample's YAML file through the jobs service, exactly as
``studio job create --file ... --set ...`` would: a ``Queued`` row that the agent runs. What a click
submits is described first (``get_sample``), so the page can show the YAML and the equivalent command.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel
from sqlmodel import Session

from backend import unix_socket
from backend.errors import NotFoundError, ValidationError
from backend.services import data_assets, job_files, jobs
from backend.services.demo import ASSETS
from backend.services.jobs import JobPublic
from backend.services.lookup import get_workspace_row
from backend.settings import get_settings
from backend.specs import apply_overrides, read_yaml

SampleKind = Literal["job", "sweep"]
SAMPLE_CODE = ASSETS / "sample_code"
FILES: dict[str, Path] = {"job": SAMPLE_CODE / "job.yml", "sweep": SAMPLE_CODE / "sweep.yml"}
DATA_ASSET = "iris"
# Used when the workspace has no ``iris`` file asset (someone deleted the demo, or this is another one).
SAMPLE_DATA = "../sample_data/iris.csv"  # relative to the sample YAML, as a local path uploads once
# Each run of the sample job tries the next value, so that two runs differ and comparing them shows it.
C_VALUES = (1.0, 0.1, 10.0, 0.01)


class Sample(BaseModel):
    """What a click on a sample's button submits, and where it lands."""

    kind: SampleKind
    workspace: str
    file: str  # the YAML file, relative to the repository
    overrides: list[str]  # --set field=value, applied to the file
    yaml: str  # the file with the overrides applied
    command: str  # the same submission from a shell
    experiment: str
    notes: list[str]  # why this workspace's submission differs from the file


class SampleRun(BaseModel):
    job: JobPublic
    agent_running: bool


class Readiness(BaseModel):
    """Whether a sample submitted now starts at once, and if not, why."""

    agent_running: bool
    environment_ready: bool
    environment_building: bool


def _kind(kind: str) -> SampleKind:
    if kind not in FILES:
        raise ValidationError(f"sample {kind!r} does not exist (samples: {', '.join(FILES)})")
    return kind  # type: ignore[return-value]


def _has_iris_file(session: Session, workspace: str) -> bool:
    try:
        asset = data_assets.get_data_asset(session=session, workspace=workspace, name=DATA_ASSET)
    except NotFoundError:
        return False
    return asset.type == "uri_file"


def _experiment(kind: SampleKind) -> str:
    return str(read_yaml(FILES[kind]).get("experiment_name") or "Default")


def get_sample(*, session: Session, workspace: str, kind: str) -> Sample:
    """The sample's YAML as a click would submit it in ``workspace`` now."""
    kind = _kind(kind)
    get_workspace_row(session=session, name=workspace)  # a workspace that is gone is one clear error
    overrides: list[str] = []
    notes: list[str] = []
    if kind == "job":
        runs = jobs.list_jobs(
            session=session, workspace=workspace, experiment=_experiment(kind), include_archived=True
        )
        overrides.append(f"inputs.C={C_VALUES[len(runs) % len(C_VALUES)]}")
    if not _has_iris_file(session=session, workspace=workspace):
        overrides.append(f"inputs.iris.path={SAMPLE_DATA}")
        notes.append(
            f"Workspace {workspace!r} has no uri_file data asset {DATA_ASSET!r}: the sample reads "
            "assets/sample_data/iris.csv instead (uploaded once). Register it as 'iris' to use the asset."
        )
    file = FILES[kind]
    data = apply_overrides(read_yaml(file), overrides, source=str(file))
    shown = file.relative_to(ASSETS.parent)
    command = " ".join(
        ["studio job create --file", str(shown), "--workspace", workspace, *(f"--set {o}" for o in overrides)]
    )
    return Sample(
        kind=kind,
        workspace=workspace,
        file=str(shown),
        overrides=overrides,
        yaml=yaml.safe_dump(data, sort_keys=False, width=1000),  # the page wraps long lines
        command=command,
        experiment=str(data.get("experiment_name") or "Default"),
        notes=notes,
    )


def run_sample(*, session: Session, workspace: str, kind: str) -> SampleRun:
    """Submit the sample job or sweep to ``workspace``; it is queued whether or not an agent runs."""
    sample = get_sample(session=session, workspace=workspace, kind=kind)
    job = job_files.create_job_from_file(
        session=session, workspace=workspace, file=FILES[sample.kind], overrides=sample.overrides
    )
    return SampleRun(job=job, agent_running=agent_running())


def list_sample_runs(*, session: Session, workspace: str, kind: str, limit: int = 20) -> list[JobPublic]:
    """The sample's runs in ``workspace`` (its experiment's top-level jobs), newest first."""
    kind = _kind(kind)
    return jobs.list_jobs(session=session, workspace=workspace, experiment=_experiment(kind), limit=limit)


def agent_running() -> bool:
    """True when an agent listens on this home's wake-up socket (a socket file left by a dead one refuses)."""
    path = get_settings().run_dir / "agent.sock"
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            with unix_socket.address(path) as address:
                sock.connect(address)
        except OSError:
            return False
    return True


def readiness() -> Readiness:
    from backend.services import base_environment

    env = base_environment.describe()
    return Readiness(
        agent_running=agent_running(), environment_ready=env.ready, environment_building=env.building
    )
