"""Feature importance on the raw feature columns: global (permutation) and local (Shapley values).

Both treat the model as a black box over the columns a user knows (not one-hot columns), so they work
for any ``Predictor`` and read the same way whatever preprocessing the model does inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.utils.validation import check_is_fitted

from .frames import Predictor, jsonable

DEFAULT_SCORING = {"classification": "accuracy", "regression": "neg_mean_absolute_error"}


def permutation(
    predictor: Predictor,
    X: pd.DataFrame,
    y: Any,
    *,
    task: str,
    n_repeats: int = 5,
    random_state: int = 11,
    scoring: str | None = None,
) -> dict:
    """scikit-learn's permutation importance: the drop in score when one column's values are shuffled."""
    scoring = scoring or DEFAULT_SCORING[task]
    X = predictor.inputs(X)
    result = permutation_importance(
        _scorable(predictor),
        X,
        np.asarray(y),
        scoring=scoring,
        n_repeats=n_repeats,
        random_state=random_state,
    )
    columns = [str(c) for c in X.columns]
    features = {
        col: {"mean": mean, "std": std, "repeats": repeats}
        for col, mean, std, repeats in zip(
            columns, result.importances_mean, result.importances_std, result.importances, strict=True
        )
    }
    return jsonable(
        {
            "method": "permutation importance (scikit-learn)",
            "scoring": scoring,
            "n_repeats": n_repeats,
            "random_state": random_state,
            "features": features,
            "ranking": sorted(columns, key=lambda c: (-features[c]["mean"], c)),
        }
    )


def _scorable(predictor: Predictor) -> Any:
    """The fitted sklearn estimator itself when there is one (the numbers then match a direct call)."""
    try:
        check_is_fitted(predictor.estimator)
        return predictor.estimator
    except (NotFittedError, TypeError, AttributeError):
        return _PredictOnly(predictor)


class _PredictOnly(BaseEstimator):
    """Just enough of an estimator for sklearn's scorers: ``predict`` and a ``fit`` that does nothing."""

    def __init__(self, predictor: Predictor | None = None):
        self.predictor = predictor

    def fit(self, X: Any, y: Any = None) -> _PredictOnly:
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predictor.predict(X)


def local(
    predictor: Predictor,
    X: pd.DataFrame,
    rows: list[int],
    *,
    background: pd.DataFrame | None = None,
    n_permutations: int = 200,
    random_state: int = 0,
    task: str,
    target_class: Any = None,
) -> dict:
    """Shapley values of chosen rows (positions in ``X``), estimated by sampling feature orderings.

    Each sampled ordering is paired with one background row and walked from that row to the explained
    row one feature at a time; a feature's value is the average change in the output when it switches.
    Orderings come in antithetic pairs (an ordering and its reverse), which halves the variance for free.
    Contributions add up exactly to the prediction minus the base value (the mean output over the
    background rows used).
    """
    rng = np.random.default_rng(random_state)
    X = predictor.inputs(X)
    background = _background(X if background is None else predictor.inputs(background), rng)
    output, value_of = _output(predictor, task, target_class)
    explained = [
        _explain_row(value_of, X, int(position), background, n_permutations, rng) for position in rows
    ]
    method = (
        "Shapley values by permutation sampling (Strumbelj & Kononenko 2014), "
        f"{n_permutations} orderings in antithetic pairs, {len(background)} background rows"
    )
    return jsonable({"method": method, "output": output, "rows": explained})


def _background(frame: pd.DataFrame, rng: np.random.Generator, size: int = 100) -> pd.DataFrame:
    """At most ``size`` rows: the reference the explained rows are compared with."""
    if len(frame) <= size:
        return frame.reset_index(drop=True)
    return frame.iloc[np.sort(rng.choice(len(frame), size=size, replace=False))].reset_index(drop=True)


def _output(predictor: Predictor, task: str, target_class: Any) -> tuple[str, Any]:
    """What is explained: the prediction (regression) or the probability of one class."""
    if task == "regression":
        return "prediction", lambda frame: np.asarray(predictor.predict(frame), dtype=float)
    classes = predictor.classes
    if classes is None:
        raise ValueError("local explanations of a classifier need its classes and predict_proba")
    target = classes[-1] if target_class is None else target_class
    if target not in classes:
        raise ValueError(f"target_class {target!r} is not one of the model's classes {classes!r}")
    column = classes.index(target)

    def probability(frame: pd.DataFrame) -> np.ndarray:
        proba = predictor.predict_proba(frame)
        if proba is None:
            raise ValueError("local explanations of a classifier need a model with predict_proba")
        return proba[:, column]

    return f"predicted probability of class {target}", probability


def _explain_row(
    value_of: Any, X: pd.DataFrame, position: int, background: pd.DataFrame, n_permutations: int, rng
) -> dict:
    """One predict call over every step of every sampled ordering (``n_permutations x (d + 1)`` rows)."""
    row = X.iloc[position]
    columns = list(X.columns)
    d, pairs = len(columns), max(n_permutations // 2, 1)
    orders = np.array([rng.permutation(d) for _ in range(pairs)])
    orders = np.concatenate([orders, orders[:, ::-1]])
    start = np.tile(np.arange(pairs) % len(background), 2)
    rank = np.argsort(orders, axis=1)  # rank[p, f]: the step at which feature f switches in ordering p
    steps = np.arange(d + 1)
    chain = {}
    for f, name in enumerate(columns):
        switched = (rank[:, f][:, None] < steps[None, :]).ravel()
        base = np.repeat(background[name].to_numpy()[start], d + 1)
        chain[name] = np.where(switched, row[name], base)
    frame = pd.DataFrame(chain).astype(X.dtypes.to_dict())
    values = value_of(frame).reshape(len(orders), d + 1)
    walk = np.arange(len(orders))
    contributions = {
        name: float(np.mean(values[walk, rank[:, f] + 1] - values[walk, rank[:, f]]))
        for f, name in enumerate(columns)
    }
    return {
        "index": position,
        "prediction": float(values[0, -1]),
        "base_value": float(values[:, 0].mean()),
        "contributions": contributions,
        "values": {name: row[name] for name in columns},
    }
