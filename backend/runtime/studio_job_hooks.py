"""Run when a job's interpreter starts (a line of its layer's ``.pth`` file): the cloud's habits, here.

A cloud training script may register a model from a local folder::

    MlflowClient().create_model_version(name, source=f"file://{tmp}/model")

In the cloud, Azure ML uploads that folder. Studio's tracking server cannot see a job's files (its
``/tmp`` is the sandbox's own), so once the script imports MLflow, its client first uploads such a folder
to the job's run and registers the uploaded copy (``runs:/<run>/registered_models/<name>``): the version
stays readable after the job ends, with the run as its lineage. Nothing is imported until MLflow is.

MLflow's client also asks, on every request, whether it runs on Databricks: it imports ``dbruntime``,
``pyspark`` and ``IPython`` (13 imports per ``log_metric``), and where they are not installed each failed
import searches every folder of ``sys.path`` again, about a third of the client's time per call. Here a
module found missing once is remembered as missing until ``importlib.invalidate_caches()`` (which
``pip install`` in the same process is followed by); modules that are installed are found as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

TARGET = "mlflow.tracking.client"


def _local_path(source: object) -> str | None:
    if not isinstance(source, str):
        return None
    if source.startswith("file://"):
        path = source[len("file://") :]
    elif "://" in source or source.startswith(("runs:", "models:", "mlflow-artifacts:")):
        return None
    else:
        path = source
    return path if path and os.path.exists(path) else None


def _patch(module) -> None:
    client = module.MlflowClient
    original = client._create_model_version

    def _create_model_version(self, name, source, run_id=None, *args, **kwargs):
        local, run = _local_path(source), run_id or os.environ.get("MLFLOW_RUN_ID")
        if local is not None and run:
            destination = f"registered_models/{name}"
            if os.path.isdir(local):
                self.log_artifacts(run, local, destination)
            else:
                self.log_artifact(run, local, destination)
                destination = f"{destination}/{os.path.basename(local)}"
            source, run_id = f"runs:/{run}/{destination}", run
        return original(self, name, source, run_id, *args, **kwargs)

    client._create_model_version = _create_model_version


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patches ``mlflow.tracking.client`` right after it is first executed."""

    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            try:
                _patch(module)
            except Exception as exc:  # never break the user's import over this
                print(f"studio: could not prepare MLflow model registration ({exc})", file=sys.stderr)

        spec.loader.exec_module = exec_module
        return spec


PROBED = frozenset({"dbruntime", "pyspark", "IPython"})  # MLflow's per-request Databricks probes


class _KnownMissing(importlib.abc.MetaPathFinder):
    """Answers an import of a ``PROBED`` module that was not found before without searching again."""

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def find_spec(self, name, path, target=None):
        if name not in PROBED:
            return None
        if name not in self.missing:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None) if finder is not self else None
                spec = find(name, path, target) if find else None
                if spec is not None:
                    return spec
            self.missing.add(name)
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    def invalidate_caches(self) -> None:
        self.missing.clear()


if os.environ.get("MLFLOW_RUN_ID") and TARGET not in sys.modules:
    sys.meta_path.insert(0, _AfterImport())
    sys.meta_path.insert(0, _KnownMissing())
