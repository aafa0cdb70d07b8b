"""Causal effects of features on the outcome by double machine learning (partialling out).

Chernozhukov et al. (2018): predict the outcome Y and the treatment T from the other features W with
cross-fitting (each row predicted by a model that never saw it), then regress the residual of Y on the
residual of T. What W explains of both (confounding) is removed, so the slope estimates the effect of
T itself, under the usual assumption that W holds every confounder. The final stage is ordinary least
squares with heteroskedasticity-robust (HC1) standard errors, which give the intervals and p-values.

A categorical treatment gets one effect per level against its most frequent level (one-hot residuals
regressed jointly). Heterogeneity re-runs the final stage within groups of another feature, on the
same residuals, so the groups' effects are comparable with the overall one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

METHOD = (
    "Double machine learning (partialling out, Chernozhukov et al. 2018): cross-fitted nuisance models, "
    "final stage OLS of outcome residuals on treatment residuals with HC1 standard errors"
)
NUISANCE_MODELS = ("linear", "automl")
NUMERIC_BINS = 4
MIN_GROUP_ROWS = 10


def causal_effects(
    df: pd.DataFrame,
    *,
    target: str,
    treatment_features: list[str],
    heterogeneity_features: tuple[str, ...] | list[str] = (),
    categorical: tuple[str, ...] | list[str] = (),
    nuisance_model: str = "linear",
    alpha: float = 0.05,
    task: str,
    random_state: int = 0,
    cv: int = 3,
) -> dict:
    """Each treatment's effect on ``target`` with its interval, overall and per heterogeneity group.

    The confounders are all other columns of ``df``. For classification the outcome is the indicator
    of the positive (largest) label, so effects are changes in its probability.
    """
    nuisance = nuisance_model.lower()
    if nuisance not in NUISANCE_MODELS:
        raise ValueError(f"unknown nuisance_model {nuisance_model!r}; use linear or AutoML")
    missing = sorted({target, *treatment_features, *heterogeneity_features} - set(df.columns))
    if missing:
        raise ValueError(f"columns not in the data: {', '.join(missing)}")
    categorical = {c for c in df.columns if c in categorical or not _is_numeric(df[c])}
    folds = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    effects, heterogeneity, chosen = [], [], {}
    for treatment in treatment_features:
        data = df.dropna(subset=[target, treatment]).reset_index(drop=True)
        y = _outcome(data[target], task)
        design, labels = _treatment_design(data[treatment], treatment in categorical)
        W = data.drop(columns=[target, treatment])
        fit = _Residualizer(W, categorical, nuisance, folds, random_state)
        y_res, y_model = fit.residuals(y, classification=task != "regression")
        t_res = np.empty_like(design)
        t_models = []
        for j in range(design.shape[1]):
            t_res[:, j], name = fit.residuals(design[:, j], classification=labels.binary)
            t_models.append(name)
        chosen[treatment] = {"outcome": y_model, "treatment": sorted(set(t_models))}
        overall = _ols_hc1(y_res, t_res, alpha)
        effects += [
            {"feature": treatment, "level": level, "unit": unit, **_estimate(overall, j)}
            for j, (level, unit) in enumerate(labels.units)
        ]
        for by in heterogeneity_features:
            if by == treatment:
                continue
            groups = _groups(data[by], by in categorical)
            per_group = [(group, mask, _ols_hc1(y_res[mask], t_res[mask], alpha)) for group, mask in groups]
            heterogeneity += [
                {
                    "treatment": treatment,
                    "level": level,
                    "by": by,
                    "groups": [_group_row(group, mask, fitted, j) for group, mask, fitted in per_group],
                }
                for j, (level, _) in enumerate(labels.units)
            ]
    return {
        "method": METHOD,
        "nuisance_model": nuisance,
        "nuisance_models_chosen": chosen,
        "alpha": float(alpha),
        "cv": int(cv),
        "effects": effects,
        "heterogeneity": heterogeneity,
    }


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _outcome(column: pd.Series, task: str) -> np.ndarray:
    """The outcome as numbers: itself for regression, the positive label's indicator for classification."""
    if task == "regression":
        return column.astype(float).to_numpy()
    labels = sorted(pd.unique(column).tolist(), key=lambda v: (str(type(v)), v))
    if len(labels) != 2:
        raise ValueError(f"causal analysis of a classification target needs two labels, found {len(labels)}")
    return (column == labels[1]).astype(float).to_numpy()


class _Levels:
    """What each treatment column means: ``units`` pairs (level, text); ``binary`` for indicator columns."""

    def __init__(self, units, binary):
        self.units = units
        self.binary = binary


def _treatment_design(column: pd.Series, is_categorical: bool) -> tuple[np.ndarray, _Levels]:
    """A numeric treatment as it is; a categorical one as indicators of each level but the most frequent."""
    if not is_categorical:
        values = column.astype(float).to_numpy()
        return values[:, None], _Levels([(None, f"per +1 of {column.name}")], binary=False)
    counts = column.astype(str).value_counts()
    reference = counts.index[0]
    levels = sorted(counts.index[1:])
    if not levels:
        raise ValueError(f"treatment {column.name!r} has a single level; it cannot have an effect")
    text = column.astype(str).to_numpy()
    design = np.column_stack([(text == level).astype(float) for level in levels])
    return design, _Levels([(level, f"{level} vs {reference}") for level in levels], binary=True)


class _Residualizer:
    """Cross-fitted residuals of one variable on the confounders W (the nuisance models)."""

    def __init__(self, W: pd.DataFrame, categorical: set, nuisance: str, folds, random_state: int):
        self.W = W
        self.nuisance = nuisance
        self.folds = folds
        self.random_state = random_state
        numeric = [c for c in W.columns if c not in categorical]
        cats = [c for c in W.columns if c in categorical]
        self.preprocess = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    ),
                    cats,
                ),
            ]
        )
        self.W_cat = W.astype({c: str for c in cats})

    def residuals(self, values: np.ndarray, *, classification: bool) -> tuple[np.ndarray, str]:
        """``values`` minus its out-of-fold prediction, and the name of the model that predicted it."""
        if classification and len(np.unique(values)) < 2:
            return values - values.mean(), "constant"
        best = None
        for name, model in self._candidates(classification):
            predicted = self._predict(model, values, classification)
            score = (
                log_loss(values, np.clip(predicted, 1e-6, 1 - 1e-6), labels=[0.0, 1.0])
                if classification
                else mean_squared_error(values, predicted)
            )
            if best is None or score < best[0]:
                best = (score, name, predicted)
        return values - best[2], best[1]

    def _predict(self, model, values, classification):
        pipeline = Pipeline([("preprocess", self.preprocess), ("model", model)])
        if classification:
            return cross_val_predict(pipeline, self.W_cat, values, cv=self.folds, method="predict_proba")[
                :, 1
            ]
        return cross_val_predict(pipeline, self.W_cat, values, cv=self.folds)

    def _candidates(self, classification: bool):
        """Linear only, or (AutoML) linear, gradient boosting and a random forest: best out-of-fold wins."""
        seed = self.random_state
        if classification:
            linear = [("logistic_regression", LogisticRegression(C=1.0, max_iter=1000))]
            others = [
                ("hist_gradient_boosting", HistGradientBoostingClassifier(max_iter=100, random_state=seed)),
                (
                    "random_forest",
                    RandomForestClassifier(
                        n_estimators=50, min_samples_leaf=10, n_jobs=-1, random_state=seed
                    ),
                ),
            ]
        else:
            linear = [("ridge", Ridge(alpha=1.0))]
            others = [
                ("hist_gradient_boosting", HistGradientBoostingRegressor(max_iter=100, random_state=seed)),
                (
                    "random_forest",
                    RandomForestRegressor(n_estimators=50, min_samples_leaf=10, n_jobs=-1, random_state=seed),
                ),
            ]
        return linear if self.nuisance == "linear" else linear + others


def _ols_hc1(y_res: np.ndarray, t_res: np.ndarray, alpha: float):
    """Slopes of y_res on the columns of t_res (no intercept) with HC1 covariance; None where undefined."""
    n, k = t_res.shape
    if n <= k + 1 or n < MIN_GROUP_ROWS:
        return None
    gram = t_res.T @ t_res
    if np.linalg.cond(gram) > 1e12:
        return None
    inverse = np.linalg.inv(gram)
    theta = inverse @ t_res.T @ y_res
    errors = y_res - t_res @ theta
    meat = (t_res * errors[:, None] ** 2).T @ t_res
    covariance = inverse @ meat @ inverse * n / (n - k)
    stderr = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return theta, stderr, float(stats.norm.ppf(1 - alpha / 2))


def _estimate(fitted, j: int) -> dict:
    if fitted is None:
        return dict.fromkeys(("point", "stderr", "z", "p_value", "ci_lower", "ci_upper"))
    theta, stderr, critical = fitted
    point, se = float(theta[j]), float(stderr[j])
    z = point / se if se > 0 else math.inf
    return {
        "point": point,
        "stderr": se,
        "z": _finite(z),
        "p_value": float(2 * stats.norm.sf(abs(z))),
        "ci_lower": point - critical * se,
        "ci_upper": point + critical * se,
    }


def _finite(value: float):
    return float(value) if math.isfinite(value) else None


def _groups(column: pd.Series, is_categorical: bool) -> list[tuple[str, np.ndarray]]:
    """The categories of a feature, or its quantile bins when numeric (as text labels)."""
    if is_categorical:
        text = column.astype(str)
        return [(level, (text == level).to_numpy()) for level in sorted(text.unique())]
    bins = pd.qcut(column.astype(float), NUMERIC_BINS, duplicates="drop")
    return [
        (f"{interval.left:g} to {interval.right:g}", (bins == interval).to_numpy())
        for interval in bins.cat.categories
    ]


def _group_row(group: str, mask: np.ndarray, fitted, j: int) -> dict:
    estimate = _estimate(fitted, j)
    return {
        "group": group,
        "count": int(mask.sum()),
        "point": estimate["point"],
        "stderr": estimate["stderr"],
        "ci_lower": estimate["ci_lower"],
        "ci_upper": estimate["ci_upper"],
    }
