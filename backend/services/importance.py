"""Hyperparameter importance of a sweep with Optuna's evaluators.

The sweep's completed trials (their sampled values and final primary-metric value) are added to an
in-memory Optuna study whose distributions follow the search space; ``optuna.importance`` then says how
much of the metric's variation each parameter explains. fANOVA is the default; mean decrease impurity
(a random forest's impurity decrease) is the fallback when fANOVA cannot fit.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel

from backend.errors import ValidationError
from backend.services.sweeps import SweepView

EVALUATORS = {"fanova": "fANOVA", "mean_decrease_impurity": "mean decrease impurity"}
LOG_TYPES = {"loguniform", "lognormal", "qloguniform", "qlognormal"}
MIN_TRIALS = 2

__all__ = ["EVALUATORS", "MIN_TRIALS", "Importance", "hyperparameter_importance"]


class Importance(BaseModel):
    importances: dict[str, float]  # parameter -> share of the explained variation (sums to 1), largest first
    evaluator: str | None  # a key of EVALUATORS; None when nothing could be computed
    trials: int  # the completed trials with a metric that were used
    note: str = ""  # why there are no importances, or that the fallback evaluator was used


def _hashable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _distribution(entry: dict[str, Any] | None, observed: list[Any]):
    """An Optuna distribution that holds every observed value, shaped by the search-space entry."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    kind = (entry or {}).get("type")
    if kind == "choice" or not all(_is_number(v) for v in observed):
        declared = [_hashable(v) for v in (entry or {}).get("values", [])]
        choices = list(dict.fromkeys([*declared, *observed]))
        return CategoricalDistribution(choices)
    low, high = float(min(observed)), float(max(observed))
    if kind == "randint" and all(float(v).is_integer() for v in observed):
        return IntDistribution(0, max(int(entry["upper"]) - 1, int(high)))
    if kind in ("uniform", "quniform"):
        low, high = min(low, float(entry["min_value"])), max(high, float(entry["max_value"]))
    if kind in ("loguniform", "qloguniform"):
        low = min(low, math.exp(float(entry["min_value"])))
        high = max(high, math.exp(float(entry["max_value"])))
    return FloatDistribution(low, high, log=kind in LOG_TYPES and low > 0)


def hyperparameter_importance(
    view: SweepView, *, evaluator: Literal["fanova", "mean_decrease_impurity"] = "fanova", seed: int = 0
) -> Importance:
    """How much each hyperparameter explains of the final primary metric, over the completed trials."""
    import optuna
    from optuna.importance import (
        FanovaImportanceEvaluator,
        MeanDecreaseImpurityImportanceEvaluator,
        get_param_importances,
    )

    if evaluator not in EVALUATORS:
        raise ValidationError(f"evaluator {evaluator!r} is not known (use {', '.join(EVALUATORS)})")
    done = [
        t
        for t in view.trials
        if t.status == "Completed" and t.metric is not None and math.isfinite(t.metric) and t.params
    ]
    if len(done) < MIN_TRIALS:
        return Importance(
            importances={},
            evaluator=None,
            trials=len(done),
            note=f"Importance needs at least {MIN_TRIALS} completed trials that logged "
            f"{view.primary_metric!r}; this sweep has {len(done)} so far.",
        )
    if len({t.metric for t in done}) == 1:
        return Importance(
            importances={},
            evaluator=None,
            trials=len(done),
            note=f"Every completed trial has the same {view.primary_metric!r} ({done[0].metric:g}): "
            "no parameter explains a difference.",
        )
    names = list(dict.fromkeys([*view.search_space, *(k for t in done for k in t.params)]))
    names = [n for n in names if all(n in t.params for t in done)]
    observed = {n: [_hashable(t.params[n]) for t in done] for n in names}
    if not any(len(set(map(repr, values))) > 1 for values in observed.values()):
        return Importance(
            importances={},
            evaluator=None,
            trials=len(done),
            note="Every completed trial used the same parameter values: there is no variation to attribute.",
        )
    distributions = {n: _distribution(view.search_space.get(n), observed[n]) for n in names}

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=view.goal)
    for i, t in enumerate(done):
        study.add_trial(
            optuna.trial.create_trial(
                params={n: observed[n][i] for n in names},
                distributions=distributions,
                value=float(t.metric),
            )
        )
    evaluators = {
        "fanova": lambda: FanovaImportanceEvaluator(seed=seed),
        "mean_decrease_impurity": lambda: MeanDecreaseImpurityImportanceEvaluator(seed=seed),
    }
    note = ""
    try:
        found = get_param_importances(study, evaluator=evaluators[evaluator]())
        used = evaluator
    except (RuntimeError, ValueError) as exc:
        if evaluator == "mean_decrease_impurity":
            return Importance(
                importances={},
                evaluator=None,
                trials=len(done),
                note=f"Importance could not be computed: {exc}",
            )
        found = get_param_importances(study, evaluator=evaluators["mean_decrease_impurity"]())
        used = "mean_decrease_impurity"
        note = f"fANOVA could not fit these trials ({exc}); showing mean decrease impurity instead."
    ranked = dict(sorted(((k, float(v)) for k, v in found.items()), key=lambda kv: -kv[1]))
    return Importance(importances=ranked, evaluator=used, trials=len(done), note=note)
