"""A model version's files, its lineage (the job and run that produced it) and its model card."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from backend.errors import NotFoundError
from backend.services.lookup import get_job_row
from backend.services.model_registry import INPUT_EXAMPLE_LIMIT, ModelCard, ModelFile, ModelLineage, to_public
from backend.services.models import find_version, get_model, job_by_run, local_files


def model_files(*, session: Session, workspace: str, name: str, version: str) -> list[ModelFile]:
    folder = local_files(find_version(session, workspace, name, version, None))
    return [
        ModelFile(path=p.relative_to(folder).as_posix(), size=p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


# --- lineage and the model card ----------------------------------------------------------------------------


def model_lineage(*, session: Session, workspace: str, name: str, version: str) -> ModelLineage:
    """The job that produced a version, its MLflow run's metrics and parameters, and the job's inputs."""
    from backend.services import jobs, runs

    model = get_model(session=session, workspace=workspace, name=name, version=version)
    job_row = None
    if model.job:
        with contextlib.suppress(NotFoundError):
            job_row = get_job_row(session=session, workspace=workspace, name=model.job)
    elif model.run_id:
        job_row = job_by_run(session, workspace, model.run_id)
    job, inputs = None, []
    if job_row is not None:
        found = jobs.get_job(session=session, workspace=workspace, name=job_row.name)
        job = {
            "name": found.name,
            "display_name": found.display_name,
            "status": found.status,
            "experiment": found.experiment_name,
            "output": model.output,
            "created_at": found.created_at,
        }
        for port, value in (found.inputs or {}).items():
            if isinstance(value, dict) and value.get("kind") == "data":
                inputs.append(
                    {
                        "name": port,
                        "type": value.get("type"),
                        "uri": value.get("uri"),
                        "asset": value.get("asset"),
                    }
                )
    run_id = model.run_id or (job_row.mlflow_run_id if job_row is not None else None)
    metrics, params = {}, {}
    if run_id:
        with contextlib.suppress(NotFoundError):
            run = runs.get_run(run_id=run_id)
            metrics, params = run.metrics, run.params
    return ModelLineage(model=model, job=job, run_id=run_id, metrics=metrics, params=params, inputs=inputs)


def _signature(mlmodel: dict[str, Any]) -> dict[str, Any] | None:
    raw = mlmodel.get("signature")
    if not isinstance(raw, dict):
        return None
    parts = {}
    for key in ("inputs", "outputs", "params"):
        value = raw.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if value:
            parts[key] = value
    return parts or None


def _input_example(folder: Path, mlmodel: dict[str, Any]) -> Any | None:
    info = mlmodel.get("saved_input_example_info") or {}
    path = folder / str(info.get("artifact_path") or "input_example.json")
    if not path.is_file() or path.stat().st_size > INPUT_EXAMPLE_LIMIT:
        return None
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError, UnicodeDecodeError):
        return None


def model_card(*, session: Session, workspace: str, name: str, version: str) -> ModelCard:
    """What a reader needs to use a version: description, tags, the producing run's metrics, and for an
    MLflow model its flavors, signature and input example; the files it holds."""
    import yaml

    mv = find_version(session, workspace, name, version, None)
    model = to_public(mv)
    folder = local_files(mv)
    files = [
        ModelFile(path=p.relative_to(folder).as_posix(), size=p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    mlmodel: dict[str, Any] = {}
    if (folder / "MLmodel").is_file():
        try:
            loaded = yaml.safe_load((folder / "MLmodel").read_text())
            mlmodel = loaded if isinstance(loaded, dict) else {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            mlmodel = {}
    metrics = model_lineage(session=session, workspace=workspace, name=name, version=model.version).metrics
    return ModelCard(
        model=model,
        metrics=metrics,
        flavors=mlmodel.get("flavors") or model.flavors or {},
        signature=_signature(mlmodel),
        input_example=_input_example(folder, mlmodel) if mlmodel else None,
        files=files,
    )
