"""The Sweeps page's "Create sweep" wizard: from its fields to the cloud's sweep-job YAML, then to
``backend.services.sweeps.submit_sweep``.

The YAML the wizard shows is exactly what is submitted, and ``studio job create --file`` accepts it too:
the trial's code is a folder on a datastore (no upload), its environment and component are registered
references, its inputs are literals. Arguments of the search space are kept as typed (text) and read as
YAML scalars, so a mistyped number reaches ``parse_space`` and comes back as an error naming the parameter.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from sqlmodel import Session

from backend.errors import ValidationError
from backend.services.jobs import JobPublic
from backend.specs.sweep import SweepJobSpec
from backend.sweep.space import ARGUMENTS, TYPES

SCHEMA = "https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json"
SOURCE = "sweep wizard"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
POLICY_TYPES = ("none", "bandit", "median_stopping", "truncation_selection")
ALGORITHMS = ("random", "grid", "bayesian")

__all__ = [
    "ALGORITHMS",
    "ARGUMENTS",
    "POLICY_TYPES",
    "TYPES",
    "InputRow",
    "PolicyForm",
    "SpaceRow",
    "SweepForm",
    "check_space",
    "form_data",
    "form_yaml",
    "search_space",
    "submit_sweep_form",
    "validate_form",
]


class SpaceRow(BaseModel):
    """One hyperparameter as typed: a name, a distribution type, its arguments as text."""

    name: str = ""
    type: str = "choice"
    args: dict[str, str] = Field(default_factory=dict)  # argument -> text ("values": "0.01, 0.1")

    @property
    def blank(self) -> bool:
        return not self.name.strip() and not any(str(v).strip() for v in self.args.values())


class InputRow(BaseModel):
    """A literal input of the trial (``${{inputs.<name>}}``), its value as typed."""

    name: str = ""
    value: str = ""


class PolicyForm(BaseModel):
    """An early-termination policy as chosen in a form (the wizard's, and the what-if's)."""

    type: Literal["none", "bandit", "median_stopping", "truncation_selection"] = "none"
    slack_kind: Literal["slack_factor", "slack_amount"] = "slack_factor"
    slack: float = 0.1
    truncation_percentage: int = 20
    exclude_finished_jobs: bool = False
    evaluation_interval: int = 1
    delay_evaluation: int = 0

    def spec(self) -> dict[str, Any] | None:
        """The YAML ``early_termination`` mapping (None for no policy)."""
        if self.type == "none":
            return None
        out: dict[str, Any] = {"type": self.type}
        if self.type == "bandit":
            out[self.slack_kind] = self.slack
        elif self.type == "truncation_selection":
            out["truncation_percentage"] = int(self.truncation_percentage)
            if self.exclude_finished_jobs:
                out["exclude_finished_jobs"] = True
        out["evaluation_interval"] = int(self.evaluation_interval)
        out["delay_evaluation"] = int(self.delay_evaluation)
        return out


class SweepForm(BaseModel):
    name: str = ""
    display_name: str = ""
    experiment_name: str = ""
    description: str = ""
    trial_kind: Literal["command", "component"] = "command"
    command: str = ""
    code: str = ""  # an azureml://datastores/... folder URI, or "" for none
    environment: str = ""
    component: str = ""  # azureml:<name>:<version> of a registered component
    inputs: list[InputRow] = Field(default_factory=list)
    compute: str = "serverless"
    search_space: list[SpaceRow] = Field(default_factory=list)
    algorithm: Literal["random", "grid", "bayesian"] = "random"
    seed: str = ""  # as typed; empty: the sweep picks one
    rule: Literal["random", "sobol"] = "random"
    primary_metric: str = ""
    goal: Literal["maximize", "minimize"] = "maximize"
    max_total_trials: int | None = 10
    max_concurrent_trials: int | None = 2
    timeout: int | None = None
    trial_timeout: int | None = None
    policy: PolicyForm = Field(default_factory=PolicyForm)


# ------------------------------------------------------------------------------------------- text -> values


def _scalar(text: str) -> Any:
    """A value as typed, read as a YAML scalar (``0.1`` a number, ``adam`` text, ``true`` a boolean)."""
    text = str(text).strip()
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def _values(text: str) -> Any:
    """``choice`` values: a YAML list (``[1, 2]``) or comma-separated scalars (``adam, sgd``)."""
    text = str(text).strip()
    if text.startswith("["):
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            return text  # parse_space says it is not a list
        return parsed
    return [_scalar(part) for part in text.split(",") if part.strip()]


def _entry(row: SpaceRow) -> dict[str, Any]:
    kind = row.type.strip().lower()
    entry: dict[str, Any] = {"type": kind}
    for arg in ARGUMENTS.get(kind, ()):
        text = str(row.args.get(arg, "")).strip()
        if text:
            entry[arg] = _values(text) if arg == "values" else _scalar(text)
    return entry


def _rows(rows: list[SpaceRow]) -> list[SpaceRow]:
    return [r for r in rows if not r.blank]


def search_space(rows: list[SpaceRow]) -> dict[str, Any]:
    """The YAML ``search_space`` of the rows; a row without a valid, unique name is an error."""
    space: dict[str, Any] = {}
    for position, row in enumerate(_rows(rows), start=1):
        name = row.name.strip()
        if not name:
            raise ValidationError(f"search_space: parameter {position} has no name (give it one)")
        if not NAME.match(name):
            raise ValidationError(
                f"search_space.{name}: not a valid parameter name (letters, digits and '_', "
                "not starting with a digit)"
            )
        if name in space:
            raise ValidationError(f"search_space.{name}: two parameters are named {name!r}")
        space[name] = _entry(row)
    return space


def check_space(rows: list[SpaceRow], algorithm: str) -> dict[str, Any]:
    """The rows as a validated search space for ``algorithm`` (what the wizard checks as you type)."""
    from backend.sweep.space import parse_space

    space = search_space(rows)
    parse_space(space, algorithm=algorithm)
    return space


# -------------------------------------------------------------------------------------------- form -> YAML


def _sampling(form: SweepForm) -> str | dict[str, Any]:
    seed = _scalar(form.seed) if form.seed.strip() else None
    if form.algorithm == "random" and (seed is not None or form.rule != "random"):
        out: dict[str, Any] = {"type": "random"}
        if seed is not None:
            out["seed"] = seed
        out["rule"] = form.rule
        return out
    return form.algorithm


def form_data(form: SweepForm) -> dict[str, Any]:
    """The sweep-job YAML mapping the form stands for (rows not filled in yet are left out)."""
    data: dict[str, Any] = {"$schema": SCHEMA, "type": "sweep"}
    for key in ("name", "display_name", "experiment_name", "description"):
        value = getattr(form, key).strip()
        if value:
            data[key] = value
    if form.trial_kind == "component":
        data["trial"] = form.component.strip()
    else:
        trial: dict[str, Any] = {}
        if form.code.strip():
            trial["code"] = form.code.strip()
        trial["command"] = form.command.strip()
        trial["environment"] = form.environment.strip()
        data["trial"] = trial
    inputs = {row.name.strip(): _scalar(row.value) for row in form.inputs if row.name.strip()}
    if inputs:
        data["inputs"] = inputs
    if form.compute and form.compute != "serverless":
        data["compute"] = f"azureml:{form.compute}"
    data["sampling_algorithm"] = _sampling(form)
    space: dict[str, Any] = {}
    for row in _rows(form.search_space):
        if row.name.strip():
            space.setdefault(row.name.strip(), _entry(row))
    data["search_space"] = space
    data["objective"] = {"goal": form.goal, "primary_metric": form.primary_metric.strip()}
    limits = {
        key: int(value)
        for key in ("max_total_trials", "max_concurrent_trials", "timeout", "trial_timeout")
        if (value := getattr(form, key))
    }
    if limits:
        data["limits"] = limits
    policy = form.policy.spec()
    if policy:
        data["early_termination"] = policy
    return data


def form_yaml(form: SweepForm) -> str:
    return yaml.safe_dump(form_data(form), sort_keys=False, allow_unicode=True)


def _check_inputs(rows: list[InputRow]) -> None:
    seen: set[str] = set()
    for row in rows:
        name = row.name.strip()
        if not name and not row.value.strip():
            continue
        if not NAME.match(name):
            raise ValidationError(
                f"inputs: input name {name!r} is not valid (letters, digits and '_', not starting with a digit)"
            )
        if name in seen:
            raise ValidationError(f"inputs.{name}: two inputs are named {name!r}")
        if not row.value.strip():
            raise ValidationError(f"inputs.{name}: give a value")
        seen.add(name)


def validate_form(form: SweepForm, *, component_inputs: list[str] | None = None) -> SweepJobSpec:
    """The form as a validated sweep spec; the first problem is one ValidationError naming the field.

    ``component_inputs``: the chosen component's input names, to check swept parameters against them
    before submitting (the service checks again).
    """
    from backend.specs import parse_spec
    from backend.specs.job import check_expressions
    from backend.sweep.policies import make_policy

    try:
        if form.trial_kind == "component":
            if not form.component.strip():
                raise ValidationError("trial: pick a registered component")
        else:
            if not form.command.strip():
                raise ValidationError("trial.command: required (what each trial runs, e.g. python train.py)")
            if not form.environment.strip():
                raise ValidationError("trial.environment: required (pick one)")
        space = check_space(form.search_space, form.algorithm)
        if form.seed.strip() and type(_scalar(form.seed)) is not int:
            raise ValidationError(
                f"sampling_algorithm.seed: must be a whole number (got {form.seed.strip()!r})"
            )
        _check_inputs(form.inputs)
        if not form.primary_metric.strip():
            raise ValidationError("objective.primary_metric: required (the MLflow metric each trial logs)")
        if form.algorithm != "grid" and not form.max_total_trials:
            raise ValidationError(f"limits.max_total_trials: required for {form.algorithm} sampling")
        policy = make_policy(form.policy.spec())
        if policy is not None and form.algorithm == "bayesian":
            raise ValidationError(
                "early_termination: the bayesian sampling algorithm does not support early termination"
            )
        if form.trial_kind == "command":
            try:
                check_expressions(
                    form.command,
                    inputs={r.name.strip() for r in form.inputs if r.name.strip()},
                    outputs=set(),
                    search_space=set(space),
                    field="trial.command",
                )
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        elif component_inputs is not None:
            for name in space:
                if name not in component_inputs:
                    raise ValidationError(
                        f"search_space.{name}: the trial component has no input {name!r} "
                        f"(inputs: {', '.join(component_inputs) or 'none'})"
                    )
    except ValidationError as exc:
        raise ValidationError(f"{SOURCE}: {exc}") from None
    return parse_spec(SweepJobSpec, form_data(form), source=SOURCE)


def submit_sweep_form(*, session: Session, workspace: str, form: SweepForm) -> JobPublic:
    """Validate the wizard's sweep and queue it (the same path as ``studio job create --file``)."""
    from backend.services import sweeps

    spec = validate_form(form)
    try:
        return sweeps.submit_sweep(
            session=session, workspace=workspace, spec=spec, base_dir=None, source=SOURCE
        )
    except ValidationError as exc:
        raise ValidationError(f"{SOURCE}: {exc}") from None
