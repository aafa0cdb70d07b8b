"""Hyperparameter sweeps shaped like ``azure.ai.ml.sweep``: search-space distributions, early-termination
policies, sampling algorithms, and the ``SweepJob`` that ``Command.sweep(...)`` builds.

Put distributions where a command takes input values and sweep it::

    job = command(..., inputs={"lr": 0.1, "kernel": "rbf"})
    sweep_job = job(lr=Uniform(0.01, 0.1), kernel=Choice(["linear", "rbf"])).sweep(
        sampling_algorithm="random", primary_metric="accuracy", goal="Maximize"
    )
    sweep_job.set_limits(max_total_trials=20, max_concurrent_trials=4)
    sweep_job.early_termination = BanditPolicy(slack_factor=0.1, evaluation_interval=1)
    ml_client.jobs.create_or_update(sweep_job)

The rendered sweep YAML runs here: each swept input becomes a ``search_space`` entry, and a command
trial's ``${{inputs.<name>}}`` for it reads ``${{search_space.<name>}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from studio.ml.entities import AttrDict, Job, _Entity, _Field, _inputs_from_yaml, _outputs_from_yaml, _plain

# --- search-space distributions ----------------------------------------------------------------------------


class SweepDistribution(_Entity):
    """A search-space entry; ``_to_dict()`` is its YAML mapping (``{type: uniform, min_value: .., ...}``)."""

    type = _Field()

    def __init__(self, type: str, **args: Any):
        self._fields = {"type": type, **args}


class Choice(SweepDistribution):
    values = _Field()

    def __init__(self, values: list[Any] | tuple[Any, ...] | None = None):
        super().__init__("choice", values=None if values is None else list(values))


class Randint(SweepDistribution):
    """An integer in [0, upper)."""

    upper = _Field()

    def __init__(self, upper: int | None = None):
        super().__init__("randint", upper=upper)


class Uniform(SweepDistribution):
    min_value = _Field()
    max_value = _Field()

    def __init__(self, min_value: float | None = None, max_value: float | None = None):
        super().__init__("uniform", min_value=min_value, max_value=max_value)


class LogUniform(SweepDistribution):
    """exp(uniform(min_value, max_value))."""

    min_value = _Field()
    max_value = _Field()

    def __init__(self, min_value: float | None = None, max_value: float | None = None):
        super().__init__("loguniform", min_value=min_value, max_value=max_value)


class Normal(SweepDistribution):
    mu = _Field()
    sigma = _Field()

    def __init__(self, mu: float | None = None, sigma: float | None = None):
        super().__init__("normal", mu=mu, sigma=sigma)


class LogNormal(SweepDistribution):
    mu = _Field()
    sigma = _Field()

    def __init__(self, mu: float | None = None, sigma: float | None = None):
        super().__init__("lognormal", mu=mu, sigma=sigma)


class QUniform(SweepDistribution):
    min_value = _Field()
    max_value = _Field()
    q = _Field()

    def __init__(
        self, min_value: float | None = None, max_value: float | None = None, q: float | None = None
    ):
        super().__init__("quniform", min_value=min_value, max_value=max_value, q=q)


class QLogUniform(SweepDistribution):
    min_value = _Field()
    max_value = _Field()
    q = _Field()

    def __init__(
        self, min_value: float | None = None, max_value: float | None = None, q: float | None = None
    ):
        super().__init__("qloguniform", min_value=min_value, max_value=max_value, q=q)


class QNormal(SweepDistribution):
    mu = _Field()
    sigma = _Field()
    q = _Field()

    def __init__(self, mu: float | None = None, sigma: float | None = None, q: float | None = None):
        super().__init__("qnormal", mu=mu, sigma=sigma, q=q)


class QLogNormal(SweepDistribution):
    mu = _Field()
    sigma = _Field()
    q = _Field()

    def __init__(self, mu: float | None = None, sigma: float | None = None, q: float | None = None):
        super().__init__("qlognormal", mu=mu, sigma=sigma, q=q)


# --- early termination -------------------------------------------------------------------------------------


class EarlyTerminationPolicy(_Entity):
    type = _Field()
    evaluation_interval = _Field()
    delay_evaluation = _Field()

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        # The cloud's SDK defaults evaluation_interval to 0, meaning "every interval"; a sweep file says 1.
        if not data.get("evaluation_interval"):
            data["evaluation_interval"] = 1
        return data


class BanditPolicy(EarlyTerminationPolicy):
    """Cancel a trial whose value is outside the slack of the best one (give slack_factor or slack_amount)."""

    slack_factor = _Field()
    slack_amount = _Field()

    def __init__(
        self,
        *,
        delay_evaluation: int = 0,
        evaluation_interval: int = 0,
        slack_amount: float | None = None,
        slack_factor: float | None = None,
    ):
        self._fields = {
            "type": "bandit",
            "evaluation_interval": evaluation_interval,
            "delay_evaluation": delay_evaluation,
            "slack_factor": slack_factor,
            "slack_amount": slack_amount,
        }

    def _to_dict(self) -> dict[str, Any]:
        data = super()._to_dict()
        # The cloud defaults both slacks to 0: a 0 beside a non-zero one means "not given".
        factor, amount = data.pop("slack_factor", None), data.pop("slack_amount", None)
        if factor and amount:
            data.update(slack_factor=factor, slack_amount=amount)
        elif amount:
            data["slack_amount"] = amount
        else:
            data["slack_factor"] = factor or 0
        return data


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Cancel a trial whose best value is worse than the median of the running averages."""

    def __init__(self, *, delay_evaluation: int = 0, evaluation_interval: int = 1):
        self._fields = {
            "type": "median_stopping",
            "evaluation_interval": evaluation_interval,
            "delay_evaluation": delay_evaluation,
        }


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Cancel the worst ``truncation_percentage`` % of the running trials at each evaluation."""

    truncation_percentage = _Field()
    exclude_finished_jobs = _Field()

    def __init__(
        self,
        *,
        delay_evaluation: int = 0,
        evaluation_interval: int = 0,
        truncation_percentage: int = 0,
        exclude_finished_jobs: bool | None = None,
    ):
        self._fields = {
            "type": "truncation_selection",
            "evaluation_interval": evaluation_interval,
            "delay_evaluation": delay_evaluation,
            "truncation_percentage": truncation_percentage,
            "exclude_finished_jobs": exclude_finished_jobs,
        }


# --- sampling algorithms -----------------------------------------------------------------------------------


class SamplingAlgorithm(_Entity):
    type = _Field()

    def _to_dict(self) -> Any:
        data = super()._to_dict()
        return data["type"] if list(data) == ["type"] else data  # the short form when nothing else is set


class RandomSamplingAlgorithm(SamplingAlgorithm):
    """``rule``: ``random`` (default) or ``sobol``; ``seed`` makes the draws repeatable."""

    seed = _Field()
    rule = _Field()
    logbase = _Field()

    def __init__(
        self, *, rule: str | None = None, seed: int | None = None, logbase: float | str | None = None
    ):
        self._fields = {"type": "random", "seed": seed, "rule": rule, "logbase": logbase}


class GridSamplingAlgorithm(SamplingAlgorithm):
    def __init__(self) -> None:
        self._fields = {"type": "grid"}


class BayesianSamplingAlgorithm(SamplingAlgorithm):
    def __init__(self) -> None:
        self._fields = {"type": "bayesian"}


# --- objective, limits, the sweep job ----------------------------------------------------------------------


class Objective(_Entity):
    goal = _Field()
    primary_metric = _Field()

    def __init__(self, *, goal: str | None = None, primary_metric: str | None = None):
        self._fields = {
            "goal": goal.lower() if isinstance(goal, str) else goal,
            "primary_metric": primary_metric,
        }


class SweepJobLimits(_Entity):
    max_total_trials = _Field()
    max_concurrent_trials = _Field()
    timeout = _Field()
    trial_timeout = _Field()

    def __init__(
        self,
        *,
        max_concurrent_trials: int | None = None,
        max_total_trials: int | None = None,
        timeout: int | None = None,
        trial_timeout: int | None = None,
    ):
        self._fields = {
            "max_total_trials": max_total_trials,
            "max_concurrent_trials": max_concurrent_trials,
            "timeout": timeout,
            "trial_timeout": trial_timeout,
        }


# An input expression naming one input: the trial's references to swept inputs are rewritten.
_INPUT_EXPRESSION = re.compile(r"\$\{\{\s*inputs\.([A-Za-z_]\w*)\s*\}\}")
TRIAL_FIELDS = ("command", "code", "environment", "environment_variables", "resources", "distribution")
FIELD_ORDER = (
    "$schema",
    "name",
    "display_name",
    "experiment_name",
    "description",
    "tags",
    "properties",
    "trial",
    "inputs",
    "outputs",
    "compute",
    "sampling_algorithm",
    "search_space",
    "objective",
    "limits",
    "early_termination",
    "identity",
    "queue_settings",
    "resources",
)


def swept_command(text: str, swept: set[str]) -> str:
    """``${{inputs.x}}`` -> ``${{search_space.x}}`` for each swept input ``x``; other expressions unchanged."""
    return _INPUT_EXPRESSION.sub(
        lambda m: f"${{{{search_space.{m.group(1)}}}}}" if m.group(1) in swept else m.group(0), text
    )


class SweepJob(Job):
    """A sweep: a trial (a command, a component, or YAML) run over a search space.

    ``inputs`` whose value is a distribution are the search space (with any ``search_space`` given);
    the rest are the trial's fixed inputs.
    """

    type = "sweep"
    trial = _Field()
    sampling_algorithm = _Field()
    search_space = _Field()
    objective = _Field()
    limits = _Field()
    early_termination = _Field()
    identity = _Field()
    queue_settings = _Field()
    resources = _Field()

    def __init__(
        self,
        fields: dict[str, Any] | None = None,
        *,
        base_path: Path | None = None,
        source: str = "",
        **kwargs: Any,  # the cloud's keyword form: SweepJob(trial=..., search_space=..., objective=...)
    ):
        merged = {**(fields or {}), **kwargs}
        merged.setdefault("inputs", AttrDict())
        merged.setdefault("outputs", AttrDict())
        super().__init__(merged, base_path=base_path, source=source)

    def set_limits(
        self,
        *,
        max_concurrent_trials: int | None = None,
        max_total_trials: int | None = None,
        timeout: int | None = None,
        trial_timeout: int | None = None,
    ) -> None:
        """Set the given limits; the others keep their values."""
        if self.limits is None:
            self.limits = SweepJobLimits()
        for key, value in (
            ("max_concurrent_trials", max_concurrent_trials),
            ("max_total_trials", max_total_trials),
            ("timeout", timeout),
            ("trial_timeout", trial_timeout),
        ):
            if value is not None:
                setattr(self.limits, key, value)

    def set_objective(self, *, goal: str | None = None, primary_metric: str | None = None) -> None:
        if self.objective is None:
            self.objective = Objective()
        if goal is not None:
            self.objective.goal = goal.lower()
        if primary_metric is not None:
            self.objective.primary_metric = primary_metric

    def _split_inputs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(fixed inputs, search space): distributions among the inputs join the given search space."""
        fixed, space = {}, {}
        for name, value in (self.inputs or {}).items():
            (space if isinstance(value, SweepDistribution) else fixed)[name] = value
        space.update(self.search_space or {})
        return {k: v for k, v in fixed.items() if k not in space}, space

    def _trial_timeout(self) -> int | None:
        from studio.ml.entities import Command

        trial = self.trial
        if isinstance(trial, Command) and trial._component is None:
            return (trial.limits or {}).get("timeout")
        return None

    def _render_trial(self, swept: set[str]) -> Any:
        from studio.ml.entities import Command

        trial = self.trial
        if not isinstance(trial, Command):
            return _plain(trial)  # from YAML: a trial body or a component reference, as written
        if trial._component is not None:
            return trial._component._reference()
        body = trial.to_yaml_dict()
        out = {key: body[key] for key in TRIAL_FIELDS if key in body}
        if isinstance(out.get("command"), str):
            out["command"] = swept_command(out["command"], swept)
        return out

    def to_yaml_dict(self) -> dict[str, Any]:
        """The cloud's sweep YAML mapping, as ``create_or_update`` submits it."""
        fixed, space = self._split_inputs()
        rendered: dict[str, Any] = {}
        for key, value in self._fields.items():
            if key in ("inputs", "search_space", "trial"):
                continue
            if value is None or (isinstance(value, Mapping) and not value):
                continue
            rendered[key] = _plain(value)
        rendered["trial"] = self._render_trial(set(space))
        if fixed:
            rendered["inputs"] = {k: _plain(v) for k, v in fixed.items()}
        rendered["search_space"] = {k: _plain(v) for k, v in space.items()}
        timeout = self._trial_timeout()
        if timeout is not None and not (rendered.get("limits") or {}).get("trial_timeout"):
            rendered["limits"] = {**rendered.get("limits", {}), "trial_timeout": timeout}
        data: dict[str, Any] = {"type": "sweep"}
        for key in FIELD_ORDER:
            if key in rendered:
                data[key] = rendered.pop(key)
        data.update(rendered)
        return data

    _to_dict = to_yaml_dict

    @classmethod
    def _from_yaml_dict(cls, data: Mapping[str, Any], *, base_path: Path, source: str) -> SweepJob:
        """A sweep read from YAML: the mappings stay as written (attribute access works on them)."""
        fields: dict[str, Any] = {k: v for k, v in data.items() if k != "type"}
        fields["inputs"] = _inputs_from_yaml(fields.get("inputs"))
        fields["outputs"] = _outputs_from_yaml(fields.get("outputs"))
        for key in ("objective", "limits", "early_termination", "trial", "sampling_algorithm"):
            if isinstance(fields.get(key), Mapping):
                fields[key] = AttrDict(fields[key])
        if isinstance(fields.get("search_space"), Mapping):
            fields["search_space"] = AttrDict(
                {k: AttrDict(v) if isinstance(v, Mapping) else v for k, v in fields["search_space"].items()}
            )
        return cls(fields, base_path=base_path, source=source)


def make_sweep(
    trial: Any,
    *,
    primary_metric: str,
    goal: str,
    sampling_algorithm: str | SamplingAlgorithm = "random",
    compute: str | None = None,
    max_concurrent_trials: int | None = None,
    max_total_trials: int | None = None,
    timeout: int | None = None,
    trial_timeout: int | None = None,
    early_termination_policy: EarlyTerminationPolicy | str | None = None,
    search_space: Mapping[str, SweepDistribution] | None = None,
    identity: Any = None,
    queue_settings: Any = None,
) -> SweepJob:
    """What ``Command.sweep(...)`` returns: the command's inputs (distributions included) and outputs are
    shared with the sweep, so a step's outputs can be bound in a pipeline either way."""
    if isinstance(early_termination_policy, str):
        early_termination_policy = AttrDict(type=early_termination_policy)
    fields = {
        "name": trial.name,
        "display_name": trial.display_name,
        "experiment_name": trial.experiment_name,
        "description": trial.description,
        "tags": dict(trial.tags or {}),
        "properties": dict(trial.properties or {}),
        "trial": trial,
        "inputs": trial.inputs,
        "outputs": trial.outputs,
        "compute": compute if compute is not None else trial.compute,
        "sampling_algorithm": sampling_algorithm.lower()
        if isinstance(sampling_algorithm, str)
        else sampling_algorithm,
        "search_space": dict(search_space or {}),
        "objective": Objective(goal=goal, primary_metric=primary_metric),
        "limits": None,
        "early_termination": early_termination_policy,
        "identity": identity if identity is not None else trial._fields.get("identity"),
        "queue_settings": queue_settings,
    }
    job = SweepJob(fields, base_path=trial._base_path, source=f"{trial._source}.sweep()")
    if any(v is not None for v in (max_concurrent_trials, max_total_trials, timeout, trial_timeout)):
        job.set_limits(
            max_concurrent_trials=max_concurrent_trials,
            max_total_trials=max_total_trials,
            timeout=timeout,
            trial_timeout=trial_timeout,
        )
    return job


__all__ = [
    "BanditPolicy",
    "BayesianSamplingAlgorithm",
    "Choice",
    "EarlyTerminationPolicy",
    "GridSamplingAlgorithm",
    "LogNormal",
    "LogUniform",
    "MedianStoppingPolicy",
    "Normal",
    "Objective",
    "QLogNormal",
    "QLogUniform",
    "QNormal",
    "QUniform",
    "Randint",
    "RandomSamplingAlgorithm",
    "SamplingAlgorithm",
    "SweepDistribution",
    "SweepJob",
    "SweepJobLimits",
    "TruncationSelectionPolicy",
    "Uniform",
]
