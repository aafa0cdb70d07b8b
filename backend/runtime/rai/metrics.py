"""Model overview and fairness metrics, computed the way Fairlearn and scikit-learn define them.

The numbers must match what a user gets by calling those libraries directly (the fixture's
reference.json was computed that way), so this module only arranges their results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fairlearn import metrics as fm
from sklearn import metrics as sm

from .frames import jsonable

CLASSIFICATION, REGRESSION = "classification", "regression"
BINARY_FAIRNESS = ("accuracy", "selection_rate", "false_positive_rate", "false_negative_rate", "count")
MULTICLASS_FAIRNESS = ("accuracy", "count")
REGRESSION_FAIRNESS = ("mae", "rmse", "r2", "mean_prediction", "count")


def model_overview(
    y_true: Any,
    y_pred: Any,
    proba: Any = None,
    *,
    task: str,
    labels: list | None = None,
    positive_label: Any = None,
) -> dict:
    """Overall metrics: for classification ``proba`` is the positive class (1-D) or n x k in ``labels`` order."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if _task(task) == REGRESSION:
        return jsonable(_regression_overview(y_true, y_pred))
    labels = _labels(y_true, y_pred, labels)
    if len(labels) == 2:
        positive = _positive(labels, positive_label)
        return jsonable(_binary_overview(y_true, y_pred, proba, labels, positive))
    return jsonable(_multiclass_overview(y_true, y_pred, labels))


def _task(task: str) -> str:
    if task not in (CLASSIFICATION, REGRESSION):
        raise ValueError(f"task must be {CLASSIFICATION!r} or {REGRESSION!r}, got {task!r}")
    return task


def _labels(y_true: np.ndarray, y_pred: np.ndarray, labels: list | None) -> list:
    if labels is not None:
        return list(labels)
    return sorted(set(pd.unique(y_true)) | set(pd.unique(y_pred)))


def _positive(labels: list, positive_label: Any) -> Any:
    """The given positive label, else the larger of the two (1 for 0/1 labels)."""
    if positive_label is None:
        return max(labels)
    if positive_label not in labels:
        raise ValueError(f"positive_label {positive_label!r} is not one of the labels {labels!r}")
    return positive_label


def _binary_overview(y_true, y_pred, proba, labels: list, positive: Any) -> dict:
    negative = next(label for label in labels if label != positive)
    matrix = sm.confusion_matrix(y_true, y_pred, labels=[negative, positive])
    tn, fp, fn, tp = matrix.ravel()
    accuracy = sm.accuracy_score(y_true, y_pred)
    score = _positive_scores(proba, labels, positive)
    both_seen = len(set(pd.unique(y_true))) == 2
    return {
        "count": len(y_true),
        "positive_label": positive,
        "accuracy": accuracy,
        "precision": sm.precision_score(y_true, y_pred, pos_label=positive, zero_division=0),
        "recall": sm.recall_score(y_true, y_pred, pos_label=positive, zero_division=0),
        "f1": sm.f1_score(y_true, y_pred, pos_label=positive, zero_division=0),
        "roc_auc": sm.roc_auc_score(y_true == positive, score) if score is not None and both_seen else None,
        "error_rate": 1 - accuracy,
        "selection_rate": float(np.mean(y_pred == positive)),
        "confusion_matrix": {
            "labels": [negative, positive],
            "matrix": matrix,
            "tn": tn,
            "fp": fp,
            "fn": fn,
            "tp": tp,
        },
    }


def _positive_scores(proba: Any, labels: list, positive: Any) -> np.ndarray | None:
    if proba is None:
        return None
    proba = np.asarray(proba, dtype=float)
    return proba if proba.ndim == 1 else proba[:, labels.index(positive)]


def _multiclass_overview(y_true, y_pred, labels: list) -> dict:
    accuracy = sm.accuracy_score(y_true, y_pred)
    macro = {"labels": labels, "average": "macro", "zero_division": 0}
    return {
        "count": len(y_true),
        "accuracy": accuracy,
        "precision": sm.precision_score(y_true, y_pred, **macro),
        "recall": sm.recall_score(y_true, y_pred, **macro),
        "f1": sm.f1_score(y_true, y_pred, **macro),
        "roc_auc": None,
        "error_rate": 1 - accuracy,
        "selection_rate": None,
        "confusion_matrix": {"labels": labels, "matrix": sm.confusion_matrix(y_true, y_pred, labels=labels)},
    }


def _regression_overview(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    mse = sm.mean_squared_error(y_true, y_pred)
    return {
        "count": len(y_true),
        "mae": sm.mean_absolute_error(y_true, y_pred),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "r2": _r2(y_true, y_pred),
        "mean_prediction": float(np.mean(y_pred)),
        "mean_target": float(np.mean(y_true)),
    }


def fairness(
    y_true: Any,
    y_pred: Any,
    sensitive: Any,
    *,
    task: str,
    positive_label: Any = None,
) -> dict:
    """Fairlearn's MetricFrame by the groups of one sensitive feature, plus its disparity metrics.

    Binary labels are recoded to 1 (positive) / 0 first, so Fairlearn's defaults (``pos_label=1``)
    apply whatever the labels are. Differences and ratios are ``method="between_groups"``.
    """
    feature = getattr(sensitive, "name", None)
    groups = _groups(sensitive)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    binary = False
    if _task(task) == REGRESSION:
        metrics = {name: REGRESSION_METRICS[name] for name in REGRESSION_FAIRNESS}
        y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    else:
        labels = _labels(y_true, y_pred, None)
        binary = len(labels) <= 2
        if binary:
            positive = _positive(labels, positive_label) if len(labels) == 2 else positive_label or labels[0]
            y_true, y_pred = (y_true == positive).astype(int), (y_pred == positive).astype(int)
        names = BINARY_FAIRNESS if binary else MULTICLASS_FAIRNESS
        metrics = {name: CLASSIFICATION_METRICS[name] for name in names}
    frame = fm.MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    result = {"feature": None if feature is None else str(feature), "metrics": list(metrics)}
    result.update(_frame_summary(frame))
    result.update(_disparities(y_true, y_pred, groups) if binary else dict.fromkeys(DISPARITIES))
    result["confusion_by_group"] = _confusion_by_group(y_true, y_pred, groups) if binary else None
    return jsonable(result)


def _groups(sensitive: Any) -> pd.Series:
    """Group names as text (JSON keys), missing values as their own group."""
    values = pd.Series(np.asarray(sensitive, dtype=object))
    return values.map(lambda v: "(missing)" if pd.isna(v) else str(v)).rename("group")


def _frame_summary(frame: fm.MetricFrame) -> dict:
    """overall / by_group with every metric; min, max, difference and ratio without ``count``."""
    spread = [name for name in frame.overall.index if name != "count"]
    by_group = frame.by_group
    return {
        "overall": _with_int_count(frame.overall),
        "by_group": {str(g): _with_int_count(row) for g, row in by_group.iterrows()},
        "group_min": frame.group_min(errors="coerce")[spread].to_dict(),
        "group_max": frame.group_max(errors="coerce")[spread].to_dict(),
        "difference": frame.difference(method="between_groups")[spread].to_dict(),
        "ratio": frame.ratio(method="between_groups")[spread].to_dict(),
    }


def _with_int_count(values: pd.Series) -> dict:
    """MetricFrame stores every metric as float; a count reads better (and compares exactly) as an int."""
    return {name: int(v) if name == "count" else v for name, v in values.items()}


DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)


def _disparities(y_true: np.ndarray, y_pred: np.ndarray, groups: pd.Series) -> dict:
    return {name: getattr(fm, name)(y_true, y_pred, sensitive_features=groups) for name in DISPARITIES}


def _confusion_by_group(y_true: np.ndarray, y_pred: np.ndarray, groups: pd.Series) -> dict:
    result = {}
    for group in sorted(groups.unique()):
        inside = (groups == group).to_numpy()
        tn, fp, fn, tp = sm.confusion_matrix(y_true[inside], y_pred[inside], labels=[0, 1]).ravel()
        result[group] = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    return result


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """R² is undefined for fewer than two rows or a constant target (a small group): NaN, not an error."""
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return float("nan")
    return sm.r2_score(y_true, y_pred)


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(sm.mean_squared_error(y_true, y_pred)))


CLASSIFICATION_METRICS = {
    "accuracy": sm.accuracy_score,
    "selection_rate": fm.selection_rate,
    "false_positive_rate": fm.false_positive_rate,
    "false_negative_rate": fm.false_negative_rate,
    "count": fm.count,
}
REGRESSION_METRICS = {
    "mae": sm.mean_absolute_error,
    "rmse": _rmse,
    "r2": _r2,
    "mean_prediction": fm.mean_prediction,
    "count": fm.count,
}
