"""Compute the insights of a model on test data and write the artifact (see the package's docstring).

``Analysis`` holds what every part needs (the rows, the model, features, predictions) and is built once;
``compute`` runs the parts asked for, printing one progress line per part (the job's log shows them).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import PARTS, frames

GROUPING_LIMIT = 30  # a column with more distinct values than this is not offered as a sensitive feature


def progress(step: int, total: int, text: str) -> None:
    print(f"[rai {step}/{total}] {text}", flush=True)


@dataclass
class Analysis:
    """The test rows, the model and its predictions: what every part is computed from."""

    config: dict[str, Any]
    rows: pd.DataFrame  # the test data as read, plus _y_pred, _proba / _proba_<class>, _error
    predictor: Any
    features: list[str]
    train: pd.DataFrame | None = None
    proba: np.ndarray | None = None
    classes: list[Any] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.config["target_column"]

    @property
    def task(self) -> str:
        return self.config["task_type"]

    @property
    def categorical(self) -> list[str]:
        return [c for c in self.config.get("categorical_features") or [] if c in self.rows.columns]

    @property
    def X(self) -> pd.DataFrame:
        return self.rows[self.features]

    @property
    def positive_label(self) -> Any:
        chosen = self.config.get("positive_label")
        if chosen is not None or self.task != "classification" or len(self.classes) != 2:
            return chosen
        return self.classes[-1]

    @property
    def proba_positive(self) -> np.ndarray | None:
        if self.proba is None or len(self.classes) != 2:
            return None
        return self.proba[:, list(self.classes).index(self.positive_label)]

    @property
    def sensitive(self) -> list[str]:
        named = self.config.get("sensitive_features")
        if named:
            return [c for c in named if c in self.rows.columns]
        extra = [c for c in self.rows.columns if c not in self.features and c != self.target]
        candidates = [c for c in [*extra, *self.categorical] if not str(c).startswith("_")]
        return [c for c in candidates if self.rows[c].nunique() <= GROUPING_LIMIT]


def _features(predictor: Any, test: pd.DataFrame, config: dict[str, Any]) -> list[str]:
    target = config["target_column"]
    if predictor.features:
        missing = [f for f in predictor.features if f not in test.columns]
        if missing:
            raise ValueError(f"the model takes {', '.join(missing)}, which the test data does not have")
        return list(predictor.features)
    skip = {target, *(config.get("sensitive_features") or [])}
    return [c for c in test.columns if c not in skip]


def prepare(
    config: dict[str, Any], model_path: str, test_path: str, train_path: str | None = None
) -> Analysis:
    """Read the data and the model, predict once, and keep everything for the parts."""
    train = frames.read_table(train_path) if train_path else None
    return prepare_frames(config, model_path, frames.read_table(test_path), train)


def prepare_frames(
    config: dict[str, Any], model_path: str, test: pd.DataFrame, train: pd.DataFrame | None = None
) -> Analysis:
    target = config["target_column"]
    if target not in test.columns:
        raise ValueError(
            f"target_column {target!r} is not a column of the test data (columns: {list(test.columns)})"
        )
    limit = config.get("maximum_rows_for_test_dataset")
    if limit and len(test) > int(limit):
        raise ValueError(
            f"the test data has {len(test)} rows, more than maximum_rows_for_test_dataset ({limit})"
        )
    predictor = frames.load_model(model_path)
    features = _features(predictor, test, config)
    rows = test.reset_index(drop=True)
    y_pred = np.asarray(predictor.predict(rows[features]))
    rows["_y_pred"] = y_pred
    analysis = Analysis(config=config, rows=rows, predictor=predictor, features=features)
    if config["task_type"] == "classification":
        analysis.classes = _classes(predictor, rows[target], y_pred, config)
        analysis.proba = predictor.predict_proba(rows[features])
        if analysis.proba is not None and len(analysis.classes) == 2:
            rows["_proba"] = analysis.proba_positive
        elif analysis.proba is not None:
            for i, label in enumerate(analysis.classes):
                rows[f"_proba_{label}"] = analysis.proba[:, i]
        rows["_error"] = (rows[target].to_numpy() != y_pred).astype(int)
    else:
        rows["_error"] = np.abs(rows[target].to_numpy(dtype=float) - y_pred.astype(float))
    analysis.train = train
    return analysis


def from_rows(found: dict[str, Any], rows: pd.DataFrame) -> Analysis:
    """An analysis of stored rows (``rows.parquet`` or a cohort of them) without the model: enough for the
    parts that need only predictions (overview, fairness, error analysis, data analysis)."""
    config = {
        "target_column": found["target_column"],
        "task_type": found["task_type"],
        "categorical_features": found.get("categorical_features") or [],
        "sensitive_features": found.get("sensitive_features") or [],
        "positive_label": found.get("positive_label"),
        "error_analysis": _tree_settings((found.get("error_analysis") or {}).get("settings") or {}),
    }
    analysis = Analysis(
        config=config, rows=rows.reset_index(drop=True), predictor=None, features=found["features"]
    )
    analysis.classes = list(found.get("classes") or [])
    if "_proba" in rows.columns and len(analysis.classes) == 2:
        p = rows["_proba"].to_numpy(dtype=float)
        positive = analysis.classes.index(analysis.positive_label)
        analysis.proba = np.column_stack([1 - p, p] if positive == 1 else [p, 1 - p])
    elif all(f"_proba_{c}" in rows.columns for c in analysis.classes) and analysis.classes:
        analysis.proba = rows[[f"_proba_{c}" for c in analysis.classes]].to_numpy(dtype=float)
    return analysis


def _tree_settings(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored tree's settings as a request's: it keeps the columns it split on as ``features``, so a
    cohort's tree splits on the same columns as the job's."""
    return {**stored, "filter_features": stored.get("filter_features") or stored.get("features") or []}


def _classes(predictor: Any, y: pd.Series, y_pred: np.ndarray, config: dict[str, Any]) -> list[Any]:
    if predictor.classes is not None:
        return list(predictor.classes)
    return sorted(set(pd.unique(y)) | set(pd.unique(y_pred)), key=str)


# ------------------------------------------------------------------------------------ the parts


def model_overview(a: Analysis) -> dict[str, Any]:
    from . import metrics

    y, y_pred = a.rows[a.target].to_numpy(), a.rows["_y_pred"].to_numpy()
    proba = a.proba_positive if a.proba_positive is not None else a.proba
    overall = metrics.model_overview(
        y, y_pred, proba, task=a.task, labels=a.classes or None, positive_label=a.positive_label
    )
    by_feature = {
        sf: {
            str(group): metrics.model_overview(
                y[mask], y_pred[mask], None if proba is None else proba[mask], task=a.task,
                labels=a.classes or None, positive_label=a.positive_label,
            )
            for group, mask in _groups(a.rows[sf])
        }
        for sf in dict.fromkeys([*a.sensitive, *a.categorical])
        if a.rows[sf].nunique() <= GROUPING_LIMIT
    }  # fmt: skip
    return {"overall": overall, "by_feature": by_feature}


def _groups(column: pd.Series):
    for group in sorted(column.dropna().unique(), key=str):
        yield group, (column == group).to_numpy()


def fairness(a: Analysis) -> dict[str, Any]:
    from . import metrics

    y, y_pred = a.rows[a.target].to_numpy(), a.rows["_y_pred"].to_numpy()
    return {
        sf: metrics.fairness(y, y_pred, a.rows[sf], task=a.task, positive_label=a.positive_label)
        for sf in a.sensitive
    }


def error_analysis(a: Analysis) -> dict[str, Any]:
    from . import error_analysis as ea

    settings = a.config.get("error_analysis") or {}
    candidates = list(dict.fromkeys([*a.features, *a.sensitive]))
    tree = ea.error_tree(
        a.rows[candidates],
        a.rows["_error"].to_numpy(),
        categorical=[c for c in candidates if _is_categorical(a.rows[c], a.categorical)],
        max_depth=int(settings.get("max_depth", 3)),
        num_leaves=int(settings.get("num_leaves", 31)),
        min_child_samples=int(settings.get("min_child_samples", 20)),
        filter_features=settings.get("filter_features") or None,
    )
    heat = settings.get("heatmap_features") or _top_split_features(tree)
    heatmap = ea.error_heatmap(a.rows[heat], a.rows["_error"].to_numpy(), heat) if heat else None
    return {**tree, "heatmap": heatmap}


def _is_categorical(column: pd.Series, named: list[str]) -> bool:
    return column.name in named or not pd.api.types.is_numeric_dtype(column)


def _top_split_features(tree: dict[str, Any]) -> list[str]:
    """The first two distinct columns the error tree splits on (the heat map's default axes)."""
    seen: list[str] = []
    for node in tree.get("nodes", []):
        for f in node.get("filters", []):
            if f["column"] not in seen:
                seen.append(f["column"])
    return seen[:2]


def feature_importance(a: Analysis) -> dict[str, Any]:
    from . import importance

    settings = a.config.get("feature_importance") or {}
    y = a.rows[a.target].to_numpy()
    glob = importance.permutation(
        a.predictor,
        a.X,
        y,
        task=a.task,
        n_repeats=int(settings.get("n_repeats", 5)),
        random_state=int(settings.get("random_state", 11)),
    )
    rows = [r for r in settings.get("local_rows", [0, 1, 2, 3, 4]) if 0 <= r < len(a.rows)]
    background = a.X.sample(min(100, len(a.X)), random_state=0)
    local = importance.local(a.predictor, a.X, rows, background=background, task=a.task) if rows else None
    return {"global": glob, "local": local}


def counterfactuals(a: Analysis) -> dict[str, Any]:
    from . import counterfactuals as cf

    settings = dict(a.config.get("counterfactuals") or {})
    rows = settings.pop("rows", None) or _rows_to_flip(a, settings)
    reference = a.train[a.features] if a.train is not None else a.X
    return cf.counterfactuals(
        a.predictor,
        a.X,
        rows,
        task=a.task,
        total_CFs=int(settings.get("total_CFs", 10)),
        desired_class=settings.get("desired_class", "opposite"),
        desired_range=settings.get("desired_range"),
        features_to_vary=settings.get("features_to_vary", "all"),
        permitted_range=settings.get("permitted_range") or None,
        categorical=[c for c in a.features if _is_categorical(a.rows[c], a.categorical)],
        reference=reference,
    )


def _rows_to_flip(a: Analysis, settings: dict[str, Any], count: int = 5) -> list[int]:
    """By default the first rows not already in the desired outcome (a rejected applicant, say)."""
    y_pred = a.rows["_y_pred"]
    if a.task == "classification":
        desired = settings.get("desired_class", "opposite")
        if desired == "opposite" and a.positive_label is not None:
            candidates = np.flatnonzero((y_pred != a.positive_label).to_numpy())
        else:
            candidates = np.flatnonzero((y_pred.astype(str) != str(desired)).to_numpy())
    else:
        bounds = settings.get("desired_range")
        outside = np.ones(len(a.rows), dtype=bool)
        if bounds:
            outside = ((y_pred < bounds[0]) | (y_pred > bounds[1])).to_numpy()
        candidates = np.flatnonzero(outside)
    return [int(i) for i in candidates[:count]]


def causal(a: Analysis) -> dict[str, Any]:
    from . import causal as causal_part

    settings = a.config.get("causal") or {}
    source = a.train if a.train is not None else a.rows
    columns = [c for c in dict.fromkeys([*a.features, a.target]) if c in source.columns]
    return causal_part.causal_effects(
        source[columns],
        target=a.target,
        treatment_features=settings.get("treatment_features") or [],
        heterogeneity_features=settings.get("heterogeneity_features") or [],
        categorical=[c for c in a.features if _is_categorical(source[c], a.categorical)],
        nuisance_model=settings.get("nuisance_model", "linear"),
        alpha=float(settings.get("alpha", 0.05)),
        task=a.task,
    )


def data_analysis(a: Analysis) -> dict[str, Any]:
    from . import data_analysis as da

    columns = [*a.features, *[c for c in a.sensitive if c not in a.features]]
    return da.describe(
        a.rows,
        columns=columns,
        target=a.target,
        y_pred=a.rows["_y_pred"],
        categorical=[c for c in columns if _is_categorical(a.rows[c], a.categorical)],
    )


COMPUTE = {
    "model_overview": model_overview,
    "fairness": fairness,
    "error_analysis": error_analysis,
    "feature_importance": feature_importance,
    "counterfactuals": counterfactuals,
    "causal": causal,
    "data_analysis": data_analysis,
}


def header(a: Analysis) -> dict[str, Any]:
    cfg = a.config
    return {
        "format": 1,
        "title": cfg.get("title") or "",
        "task_type": a.task,
        "model": {"id": cfg.get("model_id")},
        "data": {"test": cfg.get("test_data_id"), "train": cfg.get("train_data_id")},
        "target_column": a.target,
        "features": a.features,
        "categorical_features": [c for c in a.features if _is_categorical(a.rows[c], a.categorical)],
        "sensitive_features": a.sensitive,
        "extra_columns": [
            c for c in a.rows.columns if c not in a.features and c != a.target and not c.startswith("_")
        ],
        "classes": a.classes,
        "positive_label": a.positive_label,
        "rows": len(a.rows),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "parts": [],
        "timings_s": {},
    }


def compute(a: Analysis, parts: list[str] | None = None) -> dict[str, Any]:
    """Run the parts asked for (all by default), in the usual order; a part that fails fails the job."""
    parts = [p for p in PARTS if p in (parts or PARTS)]
    if "causal" in parts and not (a.config.get("causal") or {}).get("treatment_features"):
        parts.remove("causal")
    found = header(a)
    for i, part in enumerate(parts, 1):
        progress(i, len(parts), f"{part} ...")
        started = time.perf_counter()
        found[part] = COMPUTE[part](a)
        found["timings_s"][part] = round(time.perf_counter() - started, 3)
        found["parts"].append(part)
        progress(i, len(parts), f"{part} done in {found['timings_s'][part]:.2f} s")
    return found


def write(found: dict[str, Any], rows: pd.DataFrame, out: str | Path) -> Path:
    """The artifact: ``rai_insights.json`` and ``rows.parquet`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rai_insights.json").write_text(json.dumps(frames.jsonable(found), indent=1, allow_nan=False))
    table = rows.copy()
    table.columns = [str(c) for c in table.columns]
    table.to_parquet(out / "rows.parquet", index=False)
    return out
