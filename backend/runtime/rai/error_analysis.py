"""Where the model fails: a surrogate tree over the per-row errors, and an error heat map.

Both work on the stored rows (features and ``_error``), so Studio can recompute them for any cohort
without the model. Tree nodes carry their cohort as filters in the ``cohorts`` format, so a node
can be opened as a cohort on the pages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeRegressor

from . import cohorts
from .frames import jsonable

MISSING = "(missing)"


def error_tree(
    features: pd.DataFrame,
    errors: Any,
    *,
    categorical: Iterable[str] = (),
    max_depth: int = 3,
    num_leaves: int = 31,
    min_child_samples: int = 20,
    filter_features: Iterable[str] | None = None,
) -> dict:
    """A regression tree fit on the errors (1/0 or absolute error): its nodes are the error cohorts.

    A regression tree on 1/0 errors predicts the error rate per node, so one estimator serves both tasks.
    """
    columns = list(filter_features) if filter_features else list(features.columns)
    errors = np.asarray(errors, dtype=float)
    categorical = _categorical(features[columns], categorical)
    matrix, orders = _encode(features[columns], categorical, errors)
    tree = DecisionTreeRegressor(
        max_depth=max_depth,
        max_leaf_nodes=max(num_leaves, 2),
        min_samples_leaf=min_child_samples,
        random_state=0,
    ).fit(matrix, errors)
    classification = bool(np.isin(errors, (0.0, 1.0)).all())
    settings = {
        "max_depth": max_depth,
        "num_leaves": num_leaves,
        "min_child_samples": min_child_samples,
        "features": columns,
        "categorical": sorted(categorical),
    }
    return jsonable(
        {
            "settings": settings,
            "metric": "error_rate" if classification else "mean_absolute_error",
            "nodes": _nodes(tree, matrix, errors, columns, orders),
        }
    )


def _categorical(frame: pd.DataFrame, categorical: Iterable[str]) -> set[str]:
    """The named columns plus every column that is not numeric (text, categories, booleans)."""
    named = set(categorical) & set(frame.columns)
    implied = {
        c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) or frame[c].dtype == bool
    }
    return named | implied


def _encode(frame: pd.DataFrame, categorical: set[str], errors: np.ndarray) -> tuple[np.ndarray, dict]:
    """Numbers for the tree; a category's code is its rank by error rate, so ``code <= t`` groups
    the categories with the lowest error rates (LightGBM's and the erroranalysis package's ordering)."""
    columns, orders = [], {}
    for name in frame.columns:
        if name in categorical:
            values = _category_values(frame[name])
            rates = pd.Series(errors).groupby(values.to_numpy(), sort=False).mean()
            order = sorted(rates.index, key=lambda c: (rates[c], str(c)))
            orders[name] = [None if c == MISSING else c for c in order]
            codes = {c: i for i, c in enumerate(order)}
            columns.append(values.map(codes).to_numpy(dtype=float))
        else:
            columns.append(frame[name].to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns), orders


def _category_values(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), MISSING).reset_index(drop=True)


def _nodes(
    tree: DecisionTreeRegressor, matrix: np.ndarray, errors: np.ndarray, columns, orders
) -> list[dict]:
    """The nodes in pre-order (sklearn's ids: root 0, then its left subtree), each with its cohort."""
    inner = tree.tree_
    paths = tree.decision_path(matrix)
    sizes = np.asarray(paths.sum(axis=0)).ravel()
    node_errors = paths.T @ errors
    total = float(errors.sum())
    nodes: list[dict] = []
    stack = [(0, None, 0, [], None)]
    while stack:
        node, parent, depth, filters, condition = stack.pop()
        size = int(sizes[node])
        leaf = inner.children_left[node] == -1
        nodes.append(
            {
                "id": node,
                "parent": parent,
                "depth": depth,
                "filters": filters,
                "condition": condition,
                "size": size,
                "errors": _count(node_errors[node]),
                "error_rate": node_errors[node] / size if size else None,
                "share_of_errors": node_errors[node] / total if total else None,
                "leaf": bool(leaf),
            }
        )
        if not leaf:
            name = columns[inner.feature[node]]
            left, right = _split(name, float(inner.threshold[node]), orders.get(name))
            for child, split in ((inner.children_right[node], right), (inner.children_left[node], left)):
                stack.append((int(child), node, depth + 1, _narrow(filters, split), _condition(split)))
    nodes.sort(key=lambda n: n["id"])
    return nodes


def _count(value: float) -> int | float:
    """Error counts are whole numbers for classification; sums of absolute errors stay floats."""
    rounded = round(float(value))
    return rounded if abs(value - rounded) < 1e-9 else float(value)


def _split(name: str, threshold: float, order: list | None) -> tuple[dict, dict]:
    """The left (``<=``) and right (``>``) filters of a split; a categorical split as two ``in`` lists."""
    if order is None:
        return (
            {"column": name, "op": "<=", "value": threshold},
            {"column": name, "op": ">", "value": threshold},
        )
    cut = math.floor(threshold) + 1
    return (
        {"column": name, "op": "in", "value": order[:cut]},
        {"column": name, "op": "in", "value": order[cut:]},
    )


def _narrow(filters: list[dict], split: dict) -> list[dict]:
    """The parent's filters plus the split, one filter per column and op: the tighter one replaces the
    looser in place (a split always tightens; a category list keeps only the categories in both)."""
    key = (split["column"], split["op"])
    for i, f in enumerate(filters):
        if (f["column"], f["op"]) == key:
            if split["op"] == "in":
                allowed = set(split["value"])
                split = {**split, "value": [c for c in f["value"] if c in allowed]}
            return [*filters[:i], split, *filters[i + 1 :]]
    return [*filters, split]


def _condition(split: dict) -> str:
    if split["op"] == "in":
        return cohorts.describe([split])
    return cohorts.describe([{**split, "value": _rounded(split["value"])}])


def _rounded(value: float) -> float:
    """Four significant digits: enough to read a threshold; the filter keeps the exact value."""
    return float(f"{value:.4g}")


def error_heatmap(
    features: pd.DataFrame,
    errors: Any,
    columns: list[str],
    *,
    bins: int = 5,
    categorical: Iterable[str] = (),
) -> dict:
    """Error rate over one column (one row) or two (rows = y bins, columns = x bins).

    Numeric columns are cut at quantiles, so every bin holds about the same number of rows.
    """
    if not 1 <= len(columns) <= 2:
        raise ValueError(f"error_heatmap takes one or two columns, got {len(columns)}: {columns!r}")
    errors = np.asarray(errors, dtype=float)
    categorical = _categorical(features[list(columns)], categorical)
    x_codes, x_labels = _bins(features[columns[0]], bins, columns[0] in categorical)
    if len(columns) == 2:
        y_codes, y_labels = _bins(features[columns[1]], bins, columns[1] in categorical)
    else:
        y_codes, y_labels = np.zeros(len(features), dtype=int), None
    shape = (len(y_labels or [None]), len(x_labels))
    cells = y_codes * shape[1] + x_codes
    count = np.bincount(cells, minlength=shape[0] * shape[1]).reshape(shape)
    summed = np.bincount(cells, weights=errors, minlength=shape[0] * shape[1]).reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, summed / np.maximum(count, 1), np.nan)
    return jsonable(
        {
            "columns": list(columns),
            "x": x_labels,
            "y": y_labels,
            "count": count,
            "errors": [[_count(v) for v in row] for row in summed],
            "error_rate": rate,
        }
    )


def _bins(column: pd.Series, bins: int, categorical: bool) -> tuple[np.ndarray, list[str]]:
    """Bin index per row and the bins' labels; missing values get a last bin of their own."""
    missing = column.isna().to_numpy()
    if categorical or column.nunique() <= 1:
        values = column.astype(object)
        labels = sorted({str(v) for v in values[~missing]})
        index = {label: i for i, label in enumerate(labels)}
        codes = np.array([index.get(str(v), -1) for v in values], dtype=int)
    else:
        binned, edges = pd.qcut(column, q=bins, labels=False, retbins=True, duplicates="drop")
        codes = binned.fillna(-1).to_numpy(dtype=int)
        labels = [_interval(edges, i) for i in range(len(edges) - 1)]
    if missing.any():
        codes = np.where(missing, len(labels), codes)
        labels = [*labels, MISSING]
    return codes, labels


def _interval(edges: np.ndarray, i: int) -> str:
    """``[a, b]`` for the first quantile bin (it includes the minimum), ``(a, b]`` for the others."""
    low, high = cohorts.describe_value(_rounded(edges[i])), cohorts.describe_value(_rounded(edges[i + 1]))
    return f"{'[' if i == 0 else '('}{low}, {high}]"
