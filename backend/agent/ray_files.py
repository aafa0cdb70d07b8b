"""The files of a job on a Ray cluster on other machines: its inputs go with its code, its outputs come back
through its MLflow run.

A cluster on this machine reads and writes the job's own folder (``ray_runner``). A cluster elsewhere sees
none of this machine's paths, so before submitting:

- each input (a downloaded copy or a datastore folder on this machine) is copied into the code snapshot,
  under ``.studio/inputs/<name>``, which Ray uploads as the job's working directory; all of them together
  at most ``STUDIO_RAY_UPLOAD_LIMIT_MB`` (100; a bigger input is one line, and the job does not start);
- each output gets a folder ``.studio/outputs/<name>`` there;
- the command and the job's variables (``AZURE_ML_INPUT_*``, ``AZURE_ML_OUTPUT_*``) name those relative
  paths instead of this machine's.

A registered environment's packages go as Ray's ``pip`` runtime environment (Ray installs them on the
workers, once per set); the curated environment is the cluster's own Python.

After the command, the entrypoint uploads ``./outputs`` and ``.studio/outputs`` to the job's MLflow run,
through the tracking server, which every worker reaches already (``STUDIO_ADVERTISED_HOST``); the exit code
stays the command's. When the job completes, finalizing downloads each output from the run to where it goes
on this machine (``fetch_outputs``), and registers it as for a local job.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from backend.errors import StudioError

UPLOAD_LIMIT_MB = 100.0  # STUDIO_RAY_UPLOAD_LIMIT_MB: the inputs of one job, together
INPUTS, OUTPUTS = ".studio/inputs", ".studio/outputs"
# Run on the worker after the command, with the job's variables (its run id and tracking URI).
UPLOAD = f"""
import os
from mlflow import MlflowClient
client, run_id = MlflowClient(), os.environ["MLFLOW_RUN_ID"]
for folder in ("outputs", "{OUTPUTS}"):
    if any(files for _, _, files in os.walk(folder)):
        client.log_artifacts(run_id, folder, folder)
"""


class Staged(NamedTuple):
    command: str
    env: dict[str, str]
    entrypoint: str
    outputs: dict[str, str]  # output name -> where it goes on this machine (fetched when the job completes)


def stage(
    *,
    wd: Path,
    command: str,
    env: dict[str, str],
    inputs: dict[str, str],
    outputs: dict[str, str],
    address: str,
) -> Staged:
    """Copy the inputs into the code snapshot ``wd`` and point the command and variables at them."""
    moved: dict[str, str] = {}
    total, limit = 0, upload_limit_mb()
    for name, path in inputs.items():
        source = Path(path)
        target = wd / INPUTS / name
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in files)
        if total > limit * 2**20:
            raise StudioError(
                f"input {name!r} is too big to go with the code to the Ray cluster at {address} (the inputs "
                f"of a job on a cluster on other machines are at most {limit:g} MiB together, "
                "STUDIO_RAY_UPLOAD_LIMIT_MB): give its workers the data another way, or run the job on a "
                "compute of this machine"
            )
        if source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
            moved[path] = f"{INPUTS}/{name}/{source.name}"
        else:
            shutil.copytree(source, target, dirs_exist_ok=True)
            moved[path] = f"{INPUTS}/{name}"
    for name, path in outputs.items():
        (wd / OUTPUTS / name).mkdir(parents=True, exist_ok=True)
        moved[path] = f"{OUTPUTS}/{name}"

    def relocate(text: str) -> str:
        for local in sorted(moved, key=len, reverse=True):  # (a path inside another is replaced first)
            text = text.replace(local, moved[local])
        return text

    command = relocate(command)
    entrypoint = (
        f"( {command}\n); code=$?; python -c {shlex.quote(UPLOAD)} || "
        "echo 'studio: the outputs could not be uploaded to the run'; exit $code"
    )
    return Staged(command, {k: relocate(v) for k, v in env.items()}, entrypoint, dict(outputs))


def packages(environment: dict) -> list[str]:
    """The pip requirements of a registered environment, as Studio built them (for Ray's ``pip`` runtime
    environment on a cluster elsewhere); none for the curated one, which the cluster's image provides."""
    if not environment.get("spec_hash"):
        return []
    from backend.services.environment_builds import envs_root

    built = envs_root() / environment["spec_hash"] / "requirements.txt"  # (written by its build)
    try:
        return [line.strip() for line in built.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def upload_limit_mb() -> float:
    import os

    text = os.environ.get("STUDIO_RAY_UPLOAD_LIMIT_MB", "")
    try:
        return float(text) if text else UPLOAD_LIMIT_MB
    except ValueError:
        raise StudioError(f"STUDIO_RAY_UPLOAD_LIMIT_MB: {text!r} is not a number of MiB") from None


def fetch_outputs(run_id: str, outputs: dict[str, str]) -> None:
    """Download each output the job uploaded to its run to where it goes on this machine."""
    from backend.agent import tracking

    client = tracking.client()
    uploaded = {Path(f.path).name for f in client.list_artifacts(run_id, OUTPUTS)}
    for name, local in outputs.items():
        if name not in uploaded:
            continue
        with tempfile.TemporaryDirectory() as temp:
            found = Path(client.download_artifacts(run_id, f"{OUTPUTS}/{name}", temp))
            Path(local).mkdir(parents=True, exist_ok=True)
            shutil.copytree(found, local, dirs_exist_ok=True)
