"""Distributions of the features, the target and the predictions: what the data looks like.

Only vectorised pandas/numpy summaries, so Studio can recompute them for a cohort on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .frames import jsonable

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_CATEGORIES = 50


def describe(
    df: pd.DataFrame,
    *,
    columns: Iterable[str],
    target: str | None,
    y_pred: Any = None,
    categorical: Iterable[str] = (),
    bins: int = 20,
) -> dict:
    """Per column a summary (numeric: moments, quantiles, histogram; categorical: counts), plus the
    distributions of the target and of the predictions (``None`` when not given)."""
    categorical = set(categorical)
    summaries = {str(c): _summary(df[c], c in categorical, bins) for c in columns}
    prediction = None
    if y_pred is not None:
        prediction = _summary(pd.Series(np.asarray(y_pred)), _is_labels(df, target, categorical), bins)
    return jsonable(
        {
            "rows": len(df),
            "columns": summaries,
            "target": None if target is None else _summary(df[target], target in categorical, bins),
            "prediction": prediction,
        }
    )


def _is_labels(df: pd.DataFrame, target: str | None, categorical: set) -> bool:
    """Predictions are summarised like the target: counts for class labels, a histogram for numbers."""
    return target is not None and (target in categorical or _categorical(df[target]))


def _categorical(column: pd.Series) -> bool:
    """Text, categories and booleans, and numbers with few distinct values (class labels such as 0/1)."""
    if not pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
        return True
    return pd.api.types.is_integer_dtype(column) and column.nunique() <= 10


def _summary(column: pd.Series, categorical: bool, bins: int) -> dict:
    missing = int(column.isna().sum())
    present = column.dropna()
    head = {"count": len(present), "missing": missing}
    if categorical or _categorical(column):
        return {"kind": "categorical", **head, **_counts(present)}
    return {"kind": "numeric", **head, **_numeric(present.to_numpy(dtype=float), bins)}


def _counts(present: pd.Series) -> dict:
    """The most frequent categories (at most ``MAX_CATEGORIES``) and how many rows the rest hold."""
    counts = present.value_counts()
    shown = counts.iloc[:MAX_CATEGORIES]
    return {
        "counts": {str(k): int(v) for k, v in shown.items()},
        "other": int(counts.iloc[MAX_CATEGORIES:].sum()),
    }


def _numeric(values: np.ndarray, bins: int) -> dict:
    if not len(values):
        return {"min": None, "max": None, "mean": None, "std": None, "quantiles": {}, "histogram": None}
    counts, edges = np.histogram(values, bins=bins)
    return {
        "min": values.min(),
        "max": values.max(),
        "mean": values.mean(),
        "std": values.std(ddof=1) if len(values) > 1 else None,
        "quantiles": {f"{q:g}": v for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)},
        "histogram": {"edges": edges, "counts": counts},
    }
