"""The ``SweepJob`` that ``Command.sweep(...)`` builds, with its objective and limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from studio.ml.entities._base import AttrDict, _Entity, _Field, _plain
from studio.ml.entities._job.job import Job, _KeywordJob
from studio.ml.entities._job.sweep.early_termination_policy import EarlyTerminationPolicy
from studio.ml.entities._job.sweep.sampling_algorithm import SamplingAlgorithm
from studio.ml.entities._job.sweep.search_space import SweepDistribution


class Objective(_Entity):
    goal = _Field()
    primary_metric = _Field()

    def __init__(self, *, goal: str | None = None, primary_metric: str | None = None):
        self._fields = {
            "goal": goal.lower() if isinstance(goal, str) else goal,
            "primary_metric": primary_metric,
        }


class SweepJobLimits(_Entity, fields="max_total_trials max_concurrent_trials timeout trial_timeout"):
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


class SweepJob(
    _KeywordJob,
    fields=(
        "trial sampling_algorithm search_space objective limits early_termination identity "
        "queue_settings resources"
    ),
):
    """A sweep: a trial (a command, a component, or YAML) run over a search space.

    ``inputs`` whose value is a distribution are the search space (with any ``search_space`` given);
    the rest are the trial's fixed inputs.
    """

    type = "sweep"

    _YAML_SECTIONS = ("objective", "limits", "early_termination", "trial", "sampling_algorithm")
    _YAML_ENTRIES = ("search_space",)

    @staticmethod
    def _with_defaults(fields: dict[str, Any]) -> dict[str, Any]:
        # As given, not copied: a sweep made by ``Command.sweep`` shares the command's inputs and outputs.
        fields.setdefault("inputs", AttrDict())
        fields.setdefault("outputs", AttrDict())
        return fields

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

    def _render_trial(self, swept: set[str]) -> Any:
        trial = self.trial
        # From YAML: a trial body or a component reference, as written.
        return trial._as_trial(swept) if isinstance(trial, Job) else _plain(trial)

    def to_yaml_dict(self) -> dict[str, Any]:
        """The cloud's sweep YAML mapping, as ``create_or_update`` submits it."""
        fixed, space = self._split_inputs()
        rendered = self._plain_fields(skip=("inputs", "search_space", "trial"))
        rendered["trial"] = self._render_trial(set(space))
        if fixed:
            rendered["inputs"] = {k: _plain(v) for k, v in fixed.items()}
        rendered["search_space"] = {k: _plain(v) for k, v in space.items()}
        timeout = self.trial._timeout_as_trial() if isinstance(self.trial, Job) else None
        if timeout is not None and not (rendered.get("limits") or {}).get("trial_timeout"):
            rendered["limits"] = {**rendered.get("limits", {}), "trial_timeout": timeout}
        data: dict[str, Any] = {"type": "sweep"}
        for key in FIELD_ORDER:
            if key in rendered:
                data[key] = rendered.pop(key)
        data.update(rendered)
        return data

    _to_dict = to_yaml_dict


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
    "FIELD_ORDER",
    "TRIAL_FIELDS",
    "Objective",
    "SweepJob",
    "SweepJobLimits",
    "make_sweep",
    "swept_command",
]
