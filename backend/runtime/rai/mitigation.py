"""Fairness mitigation with Fairlearn: candidate models that trade accuracy for a smaller disparity.

``mitigate`` returns the original model as candidate 0 and the mitigated ones after it, each scored on
the test set, so a page can draw the trade-off (``tradeoff``) and the user can pick one to register
(``save_candidate``). Mitigated models need the sensitive feature at prediction time (post-processing)
or were trained with it (reductions); ``SensitiveFeatureModel`` gives both one ``predict(df)`` that
takes the features plus the sensitive column, so they serve like any other MLflow model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ErrorRateParity,
    ExponentiatedGradient,
    FalsePositiveRateParity,
    TruePositiveRateParity,
)
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline

METHODS = ("threshold_optimizer", "exponentiated_gradient")
CONSTRAINTS = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "false_positive_rate_parity": FalsePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
}
# ThresholdOptimizer can relax these (``tol``); equalized odds it cannot, error rate parity it lacks.
RELAXABLE = ("demographic_parity", "true_positive_rate_parity", "false_positive_rate_parity")


def _error_rate(y_true, y_pred) -> float:
    return 1.0 - accuracy_score(y_true, y_pred)


def _group_difference(metric):
    """A ``*_difference`` for metrics Fairlearn has no shortcut for: max minus min over the groups."""

    def difference(y_true, y_pred, *, sensitive_features) -> float:
        frame = MetricFrame(
            metrics=metric, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive_features
        )
        return float(frame.difference(method="between_groups"))

    return difference


# The disparity each constraint bounds, measured on the test set (the chart's x axis).
DISPARITY = {
    "demographic_parity": ("demographic_parity_difference", demographic_parity_difference),
    "equalized_odds": ("equalized_odds_difference", equalized_odds_difference),
    "true_positive_rate_parity": ("true_positive_rate_difference", _group_difference(true_positive_rate)),
    "false_positive_rate_parity": ("false_positive_rate_difference", _group_difference(false_positive_rate)),
    "error_rate_parity": ("error_rate_difference", _group_difference(_error_rate)),
}


@dataclass
class Candidate:
    """One point of the trade-off: a model and its test-set accuracy and disparities."""

    name: str
    params: dict[str, Any]
    accuracy: float
    disparity: float
    disparity_metric: str
    demographic_parity_difference: float
    equalized_odds_difference: float
    selection_rate_by_group: dict[str, float]
    n_selected: int
    predictor: Any = field(repr=False)


def mitigate(
    estimator,
    X_train: pd.DataFrame,
    y_train,
    sf_train,
    X_test: pd.DataFrame,
    y_test,
    sf_test,
    *,
    method: str = "threshold_optimizer",
    constraint: str = "demographic_parity",
    objective: str = "accuracy_score",
    grid_size: int = 1000,
    random_state: int = 13,
    eps_values: tuple[float, ...] = (0.01, 0.02, 0.05),
    tolerances: tuple[float, ...] = (0.02, 0.05, 0.1),
) -> list[Candidate]:
    """The original model (candidate 0) and the mitigated candidates, scored on the test set.

    ``threshold_optimizer`` post-processes the fitted ``estimator`` (exact constraint, then relaxed to
    each of ``tolerances`` where Fairlearn allows it); ``exponentiated_gradient`` retrains a clone
    for each of ``eps_values``. Randomized predictions use ``random_state`` so numbers reproduce.
    """
    if method not in METHODS:
        raise ValueError(f"unknown mitigation method {method!r}; use one of {', '.join(METHODS)}")
    if constraint not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {constraint!r}; use one of {', '.join(CONSTRAINTS)}")
    test = (X_test, np.asarray(y_test), np.asarray(sf_test), constraint, random_state)
    candidates = [_score("original", {}, estimator, *test)]
    if method == "threshold_optimizer":
        fitted = _threshold_optimizers(
            estimator, X_train, y_train, sf_train, constraint, objective, grid_size, tolerances
        )
    else:
        fitted = _exponentiated_gradients(estimator, X_train, y_train, sf_train, constraint, eps_values)
    candidates += [_score(name, params, predictor, *test) for name, params, predictor in fitted]
    return candidates


# How the ThresholdOptimizer uses the model: already fitted, thresholds on its probabilities, never flipped.
PREFIT = {"flip": False, "prefit": True, "predict_method": "predict_proba"}


def _threshold_optimizers(estimator, X, y, sf, constraint, objective, grid_size, tolerances):
    """ThresholdOptimizer on the prefit estimator: the exact constraint, then each relaxed tolerance."""
    if constraint == "error_rate_parity":
        raise ValueError("threshold_optimizer cannot enforce error_rate_parity; use exponentiated_gradient")
    tols = [None, *(tolerances if constraint in RELAXABLE else ())]
    fitted = []
    settings = {"constraints": constraint, "objective": objective, "grid_size": grid_size, **PREFIT}
    for tol in tols:
        optimizer = ThresholdOptimizer(estimator=estimator, tol=tol, **settings)
        optimizer.fit(X, y, sensitive_features=sf)
        name = f"threshold_optimizer ({constraint})" if tol is None else f"threshold_optimizer (tol={tol})"
        params = {"method": "threshold_optimizer", "constraint": constraint, "objective": objective}
        fitted.append((name, {**params, "grid_size": grid_size, "tol": tol}, optimizer))
    return fitted


def _exponentiated_gradients(estimator, X, y, sf, constraint, eps_values):
    """ExponentiatedGradient retrains the model once per ``eps`` (the allowed constraint violation)."""
    fitted = []
    for eps in eps_values:
        mitigator = ExponentiatedGradient(
            clone(estimator),
            CONSTRAINTS[constraint](),
            eps=eps,
            sample_weight_name=_sample_weight_name(estimator),
        )
        mitigator.fit(X, y, sensitive_features=sf)
        params = {"method": "exponentiated_gradient", "constraint": constraint, "eps": eps}
        fitted.append((f"exponentiated_gradient (eps={eps})", params, mitigator))
    return fitted


def _sample_weight_name(estimator) -> str:
    """A pipeline takes sample weights as ``<final step>__sample_weight`` (no metadata routing)."""
    if isinstance(estimator, Pipeline):
        return f"{estimator.steps[-1][0]}__sample_weight"
    return "sample_weight"


def _predict(predictor, X, sf, random_state):
    if isinstance(predictor, ThresholdOptimizer):
        return predictor.predict(X, sensitive_features=sf, random_state=random_state)
    if isinstance(predictor, ExponentiatedGradient):
        return predictor.predict(X, random_state=random_state)
    return predictor.predict(X)


def _score(name, params, predictor, X, y, sf, constraint, random_state) -> Candidate:
    y_pred = np.asarray(_predict(predictor, X, sf, random_state)).astype(int)
    metric_name, disparity = DISPARITY[constraint]
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=y_pred, sensitive_features=sf).by_group
    return Candidate(
        name=name,
        params=params,
        accuracy=float(accuracy_score(y, y_pred)),
        disparity=float(disparity(y, y_pred, sensitive_features=sf)),
        disparity_metric=metric_name,
        demographic_parity_difference=float(demographic_parity_difference(y, y_pred, sensitive_features=sf)),
        equalized_odds_difference=float(equalized_odds_difference(y, y_pred, sensitive_features=sf)),
        selection_rate_by_group={str(group): float(rate) for group, rate in rates.items()},
        n_selected=int(y_pred.sum()),
        predictor=predictor,
    )


def tradeoff(candidates: list[Candidate]) -> dict:
    """The candidates without their models, JSON-ready, for the accuracy-versus-disparity chart."""
    return {
        "disparity_metric": candidates[0].disparity_metric if candidates else None,
        "candidates": [
            {
                "index": index,
                "name": c.name,
                "params": c.params,
                "accuracy": c.accuracy,
                "disparity": c.disparity,
                "demographic_parity_difference": c.demographic_parity_difference,
                "equalized_odds_difference": c.equalized_odds_difference,
                "selection_rate_by_group": c.selection_rate_by_group,
                "n_selected": c.n_selected,
            }
            for index, c in enumerate(candidates)
        ],
    }


class SensitiveFeatureModel(BaseEstimator):
    """A mitigated model behind a plain ``predict(df)``: the frame has the features and the sensitive column.

    MLflow's sklearn flavor calls ``predict(df)`` only, so the sensitive feature has to travel inside
    the frame. Predictions of the randomized mitigators use the fixed ``random_state``: the same rows
    always get the same answers.
    """

    def __init__(self, mitigator=None, features=(), sensitive_feature=None, random_state=13):
        self.mitigator = mitigator
        self.features = features
        self.sensitive_feature = sensitive_feature
        self.random_state = random_state

    def _split(self, df: pd.DataFrame):
        if self.sensitive_feature not in df.columns:
            raise ValueError(f"the input needs the sensitive column {self.sensitive_feature!r}")
        return df[list(self.features)], df[self.sensitive_feature].to_numpy()

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        X, sf = self._split(df)
        return np.asarray(_predict(self.mitigator, X, sf, self.random_state))

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """The probabilities the randomized mitigator draws its answer from (``_pmf_predict``)."""
        if not hasattr(self.mitigator, "_pmf_predict"):
            return self.mitigator.predict_proba(df[list(self.features)])
        X, sf = self._split(df)
        if isinstance(self.mitigator, ThresholdOptimizer):
            return np.asarray(self.mitigator._pmf_predict(X, sensitive_features=sf))
        return np.asarray(self.mitigator._pmf_predict(X))


def save_candidate(
    candidate: Candidate, path, *, features: list[str], sensitive_feature: str, input_example: pd.DataFrame
) -> Path:
    """Write an MLflow model folder; its signature is the features plus the sensitive column."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    model = SensitiveFeatureModel(candidate.predictor, list(features), sensitive_feature)
    example = input_example[[*features, sensitive_feature]]
    mlflow.sklearn.save_model(
        sk_model=model,
        path=str(path),
        serialization_format="cloudpickle",
        signature=infer_signature(example, model.predict(example)),
        input_example=example,
    )
    return Path(path)
