"""Read the inputs of an insight (a table, a model) and make the outputs JSON-ready.

A model arrives as an MLflow model folder or a pickle; every other module only sees a ``Predictor``, so
how the model was saved never leaks into the computations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".json")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV / Parquet / JSON-lines file, an MLTable folder, or a folder of such files (in name order)."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        return _read_file(path)
    if path.is_dir() and (path / "MLTable").is_file():
        import mltable  # lazily: only MLTable folders need it (in jobs it is Studio's in-job API)

        return mltable.load(str(path)).to_pandas_dataframe()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
        if files:
            return pd.concat([_read_file(p) for p in files], ignore_index=True)
    raise ValueError(
        f"{path}: no readable table (expected a CSV, Parquet or JSON-lines file, a folder with an MLTable "
        "file, or a folder of CSV/Parquet/JSON-lines files)"
    )


def _read_file(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


class Predictor:
    """One interface over the ways a model can be loaded; the model only ever sees its own feature columns."""

    def __init__(
        self,
        model: Any,
        *,
        features: list[str] | None,
        method: str,
        estimator: Any = None,
        proba: Callable[[pd.DataFrame], Any] | None = None,
    ):
        self.model = model
        self.estimator = estimator
        self.method = method
        self.features = features if features is not None else _feature_names(estimator)
        classes = getattr(estimator, "classes_", None)
        self.classes = None if classes is None else [_plain(c) for c in classes]
        self._proba = proba if proba is not None else getattr(estimator, "predict_proba", None)

    def inputs(self, df: pd.DataFrame) -> pd.DataFrame:
        """The model's columns only: extra columns (target, sensitive features) must never reach it."""
        return df[self.features] if self.features is not None else df

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        out = np.asarray(self.model.predict(self.inputs(df)))
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray | None:
        """n x k class probabilities (columns in ``classes`` order), or None when the model has none."""
        if self._proba is None:
            return None
        return np.asarray(self._proba(self.inputs(df)), dtype=float)


def _feature_names(estimator: Any) -> list[str] | None:
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def load_model(path: str | Path) -> Predictor:
    """An MLflow model folder, a pickle/joblib file, or a folder holding exactly one of those."""
    path = Path(path)
    if path.is_dir() and (path / "MLmodel").is_file():
        return _load_mlflow(path)
    if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES:
        import joblib

        model = joblib.load(path)
        estimator = model if _is_estimator(model) else None
        proba = getattr(model, "predict_proba", None)
        return Predictor(model, features=None, method="joblib", estimator=estimator, proba=proba)
    if path.is_dir():
        found = [p for p in sorted(path.iterdir()) if _is_model(p)]
        if len(found) == 1:
            return load_model(found[0])
        if found:
            names = ", ".join(p.name for p in found)
            raise ValueError(f"{path}: more than one model here ({names}); point at one of them")
    raise ValueError(
        f"{path}: no model found (expected an MLflow model folder with an MLmodel file, a "
        f"{'/'.join(PICKLE_SUFFIXES)} file, or a folder holding exactly one of those)"
    )


def _is_model(path: Path) -> bool:
    if path.is_dir():
        return (path / "MLmodel").is_file()
    return path.suffix.lower() in PICKLE_SUFFIXES


def _load_pickled_sklearn(path: Path) -> Predictor | None:
    """An MLflow scikit-learn model read without importing MLflow (about a second saved on every load,
    which the what-if panel pays per prediction): its ``MLmodel`` says where the pickle is; None when the
    flavor needs MLflow itself (extra code paths, or a serialization other than (cloud)pickle)."""
    import pickle

    import yaml

    meta = yaml.safe_load((path / "MLmodel").read_text()) or {}
    flavor = (meta.get("flavors") or {}).get("sklearn") or {}
    if flavor.get("code") or flavor.get("serialization_format") not in ("pickle", "cloudpickle"):
        return None
    with open(path / flavor["pickled_model"], "rb") as fh:
        estimator = pickle.load(fh)  # the model is user code: this runs only in its sandboxed job
    inputs = (meta.get("signature") or {}).get("inputs")
    features = [str(c["name"]) for c in json.loads(inputs) if "name" in c] if inputs else None
    return Predictor(estimator, features=features or None, method="mlflow.sklearn", estimator=estimator)


def _load_mlflow(path: Path) -> Predictor:
    """The sklearn flavor when present (it keeps predict_proba); otherwise the generic pyfunc."""
    fast = _load_pickled_sklearn(path)
    if fast is not None:
        return fast
    import mlflow  # lazily: importing mlflow costs about a second

    meta = mlflow.models.Model.load(str(path))
    signature = meta.signature
    features = signature.inputs.input_names() if signature is not None and signature.inputs else None
    features = [str(n) for n in features] if features else None
    if "sklearn" in meta.flavors:
        import mlflow.sklearn

        estimator = mlflow.sklearn.load_model(str(path))
        return Predictor(estimator, features=features, method="mlflow.sklearn", estimator=estimator)
    model = mlflow.pyfunc.load_model(str(path))
    raw = _raw_model(model)
    estimator = raw if _is_estimator(raw) else None
    proba = getattr(raw, "predict_proba", None)
    return Predictor(model, features=features, method="mlflow.pyfunc", estimator=estimator, proba=proba)


def _is_estimator(obj: Any) -> bool:
    """sklearn-like (fit, predict, get_params): permutation importance can then call it directly."""
    return all(hasattr(obj, name) for name in ("fit", "predict", "get_params"))


def _raw_model(model: Any) -> Any:
    """The object behind a pyfunc (a custom PythonModel or a flavor's native model), when MLflow exposes it."""
    for name in ("unwrap_python_model", "get_raw_model"):
        try:
            return getattr(model, name)()
        except Exception:
            continue
    return None


def jsonable(obj: Any) -> Any:
    """Plain Python for json.dumps: numpy/pandas scalars and arrays unwrapped, NaN and inf as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (list, tuple, set, np.ndarray, pd.Series, pd.Index)):
        return [jsonable(v) for v in (obj.tolist() if hasattr(obj, "tolist") else obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj
