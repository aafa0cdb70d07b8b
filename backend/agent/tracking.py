"""The agent's side of MLflow: a run per job, artifacts at the end. Imported lazily (MLflow is slow to import)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from backend.errors import UnavailableError


def tracking_uri() -> str:
    from backend.services.system import mlflow_tracking_uri

    uri = mlflow_tracking_uri()
    if not uri:
        raise UnavailableError(
            "no MLflow tracking server: start Studio with `studio up`, or set STUDIO_MLFLOW_URI"
        )
    return uri


@lru_cache(maxsize=4)
def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def client():
    return _client(tracking_uri())


_experiment_ids: dict[tuple[str, str], str] = {}


def experiment_id(name: str) -> str:
    """The id of an experiment (created when missing); remembered, since every job asks."""
    key = (tracking_uri(), name)
    if key not in _experiment_ids:
        _experiment_ids[key] = _experiment_id(name)
    return _experiment_ids[key]


def _experiment_id(name: str) -> str:
    mlflow_client = client()
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
        return found.experiment_id
    try:
        return mlflow_client.create_experiment(name)
    except Exception:  # another process created it between the two calls
        again = mlflow_client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


def create_run(*, experiment: str, run_name: str, tags: dict[str, str]) -> tuple[str, str]:
    exp_id = experiment_id(experiment)
    run = client().create_run(exp_id, run_name=run_name, tags=tags)
    return run.info.run_id, exp_id


def log_params(run_id: str, params: dict[str, object]) -> None:
    from mlflow.entities import Param

    if params:
        client().log_batch(run_id, params=[Param(str(k), str(v)[:6000]) for k, v in params.items()])


def upload_folder(run_id: str, folder: Path, artifact_path: str) -> None:
    if folder.is_dir() and any(folder.iterdir()):
        client().log_artifacts(run_id, str(folder), artifact_path)


def end_run(run_id: str, status: str) -> None:
    """``status`` is the job's; MLflow's run status follows it."""
    mlflow_status = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED"}.get(status, "FAILED")
    client().set_terminated(run_id, status=mlflow_status)
