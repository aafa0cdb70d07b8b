"""Hyperparameter importance of a sweep, with Optuna's fANOVA and mean-decrease-impurity evaluators."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from backend.errors import ValidationError
from backend.services import jobs
from backend.services.importance import hyperparameter_importance
from backend.services.sweeps import SweepView, TrialView
from backend.statuses import JobStatus
from backend.sweep.space import parse_space

START = datetime(2024, 1, 1, tzinfo=UTC)


def sweep_view(
    trials: list[dict],
    *,
    space: dict,
    goal: str = "maximize",
    metric: str = "acc",
    policy: dict | None = None,
    status: str = JobStatus.COMPLETED,
) -> SweepView:
    """A sweep's read model from plain trial records ({params, curve, status, canceled_by, runtime_s})."""
    job = jobs.JobPublic(
        name="sw",
        type="sweep",
        display_name="sw",
        experiment_name="Default",
        description="",
        tags={},
        status=status,
        compute="serverless",
        instance_count=1,
        parent=None,
        command=None,
        environment=None,
        inputs={},
        outputs={},
        mlflow_run_id=None,
        mlflow_experiment_id=None,
        exit_code=None,
        failure_reason=None,
        archived=False,
        created_at=START,
        start_time=START,
        end_time=START + timedelta(minutes=5),
        history=[],
        state={"seed": 1},
    )
    views, curves = [], {}
    for i, t in enumerate(trials):
        name = f"sw_{i}"
        curve = list(t.get("curve", []))
        curves[name] = curve
        runtime = t.get("runtime_s", float(len(curve) or 1))
        better = max if goal == "maximize" else min
        views.append(
            TrialView(
                name=name,
                index=i,
                status=t.get("status", JobStatus.COMPLETED),
                params=t["params"],
                metric=curve[-1] if curve else None,
                best_value=better(curve) if curve else None,
                intervals=len(curve),
                runtime_s=runtime,
                canceled_by=t.get("canceled_by"),
                start_time=START + timedelta(seconds=t.get("start", i)),
                end_time=START + timedelta(seconds=t.get("start", i) + runtime),
            )
        )
    scored = [v for v in views if v.metric is not None and v.status in ("Completed", "Canceled", "Running")]
    best = None
    if scored:
        best = (max if goal == "maximize" else min)(scored, key=lambda v: v.metric).name
        for v in views:
            v.is_best = v.name == best
    return SweepView(
        job=job,
        primary_metric=metric,
        goal=goal,
        algorithm="random",
        policy=policy,
        search_space=space,
        limits={
            "max_total_trials": len(trials),
            "max_concurrent_trials": 2,
            "timeout": None,
            "trial_timeout": None,
        },
        trials=views,
        curves=curves,
        best_trial=best,
        compute_used_s=sum(v.runtime_s or 0 for v in views),
        compute_saved_s=0.0,
    )


SPACE = {
    "lr": {"type": "uniform", "min_value": 0.0, "max_value": 1.0},
    "noise": {"type": "choice", "values": ["a", "b", "c"]},
}


def _driven_by_lr(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lr, noise = rng.random(), rng.choice(["a", "b", "c"])
        out.append({"params": {"lr": lr, "noise": noise}, "curve": [lr / 2, 3 * lr + rng.random() * 0.01]})
    return out


@pytest.mark.parametrize("evaluator", ["fanova", "mean_decrease_impurity"])
def test_the_parameter_that_drives_the_metric_gets_most_of_the_importance(evaluator):
    result = hyperparameter_importance(sweep_view(_driven_by_lr(16), space=SPACE), evaluator=evaluator)
    assert result.evaluator == evaluator and result.trials == 16 and not result.note
    assert list(result.importances) == ["lr", "noise"]  # largest first
    assert result.importances["lr"] > 0.8
    assert sum(result.importances.values()) == pytest.approx(1.0)


def test_only_completed_trials_with_the_metric_count_and_two_are_needed():
    trials = [
        {"params": {"lr": 0.2, "noise": "a"}, "curve": [0.1, 0.2]},
        {"params": {"lr": 0.9, "noise": "b"}, "curve": [0.9], "status": JobStatus.CANCELED},
        {"params": {"lr": 0.5, "noise": "c"}, "curve": [], "status": JobStatus.COMPLETED},  # never logged acc
        {"params": {"lr": 0.7, "noise": "a"}, "curve": [0.3], "status": JobStatus.FAILED},
    ]
    result = hyperparameter_importance(sweep_view(trials, space=SPACE))
    assert result.importances == {} and result.evaluator is None and result.trials == 1
    assert (
        result.note
        == "Importance needs at least 2 completed trials that logged 'acc'; this sweep has 1 so far."
    )
    trials[2]["curve"] = [0.6]
    assert set(hyperparameter_importance(sweep_view(trials, space=SPACE)).importances) == {"lr", "noise"}


def test_a_metric_or_parameters_that_never_vary_explain_nothing():
    same_metric = [{"params": {"lr": lr, "noise": "a"}, "curve": [0.5]} for lr in (0.1, 0.4, 0.8)]
    result = hyperparameter_importance(sweep_view(same_metric, space=SPACE))
    assert result.importances == {} and "same 'acc' (0.5)" in result.note
    same_params = [{"params": {"lr": 0.3, "noise": "b"}, "curve": [v]} for v in (0.1, 0.4, 0.8)]
    result = hyperparameter_importance(sweep_view(same_params, space=SPACE))
    assert result.importances == {} and "same parameter values" in result.note


def test_every_distribution_type_is_rebuilt_in_the_study_for_either_goal():
    space = {
        "c": {"type": "choice", "values": [16, "x", [1, 2]]},
        "r": {"type": "randint", "upper": 5},
        "u": {"type": "uniform", "min_value": -1, "max_value": 1},
        "lu": {"type": "loguniform", "min_value": -5, "max_value": 0},
        "n": {"type": "normal", "mu": 0, "sigma": 1},
        "ln": {"type": "lognormal", "mu": 0, "sigma": 1},
        "qu": {"type": "quniform", "min_value": 0, "max_value": 10, "q": 3},
        "qlu": {"type": "qloguniform", "min_value": 0, "max_value": 3, "q": 1},
        "qn": {"type": "qnormal", "mu": 5, "sigma": 2, "q": 1},
        "qln": {"type": "qlognormal", "mu": 1, "sigma": 0.5, "q": 0.5},
    }
    dists = parse_space(space, algorithm="random")
    rng = random.Random(3)
    trials = []
    for _ in range(10):
        params = {d.name: d.from_unit(rng.random()) for d in dists}
        trials.append({"params": params, "curve": [params["u"] + rng.random() * 0.1]})
    for goal in ("maximize", "minimize"):
        result = hyperparameter_importance(sweep_view(trials, space=space, goal=goal))
        assert set(result.importances) == set(space) and result.evaluator == "fanova"
        assert max(result.importances, key=result.importances.get) == "u"


def test_an_unknown_evaluator_is_refused():
    with pytest.raises(ValidationError, match="evaluator 'shap' is not known"):
        hyperparameter_importance(sweep_view(_driven_by_lr(3), space=SPACE), evaluator="shap")
