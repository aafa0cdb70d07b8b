"""The cloud's sweep-job YAML (SPEC section 8): search spaces, sampling, objectives, limits and
early-termination policies, checked before anything is created.

``search_space`` and ``early_termination`` stay plain mappings (the sweep controller reads them), checked
and normalised here: distribution and policy types in the cloud's lower-case form (``MedianStopping`` is
``median_stopping``), every bound a finite number, every count within ``backend.specs.bounds``.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from backend.specs import FieldProblem, SpecModel, validate_part
from backend.specs.bounds import (
    MAX_CONCURRENT_TRIALS,
    MAX_TOTAL_TRIALS,
    MAX_TRUNCATION_PERCENTAGE,
    MIN_TRUNCATION_PERCENTAGE,
)
from backend.specs.job import (
    AnyCase,
    Command,
    Distribution,
    EnvironmentVariables,
    Inputs,
    JobSpecBase,
    OutputSpec,
    QueueSettingsSpec,
    ResourcesSpec,
    Seconds,
    mapping_type,
    whole_number,
)
from backend.sweep.space import ARGUMENTS, TYPES

# exp(x) is a finite float only for x up to about 709.78; a lognormal sample is exp(mu + z * sigma) with
# |z| at most about 7.03 (the samplers clip the uniform draw to [1e-12, 1 - 1e-12]).
LOG_MAX = math.log(sys.float_info.max)
NORMAL_REACH = 7.1


class TrialSpec(SpecModel):
    """A sweep's ``trial`` written inline: a command job body."""

    type: Literal["command"] = "command"
    command: Command
    code: str | None = None
    environment: str | dict[str, Any]
    environment_variables: EnvironmentVariables = Field(default_factory=dict)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    distribution: Distribution = None
    queue_settings: QueueSettingsSpec | None = None


class SamplingSpec(SpecModel):
    type: Annotated[Literal["random", "grid", "bayesian"], AnyCase]
    seed: int | None = None
    rule: Annotated[Literal["random", "sobol"], AnyCase] = "random"
    logbase: float | str | None = None


class ObjectiveSpec(SpecModel):
    primary_metric: str
    goal: Annotated[Literal["maximize", "minimize"], AnyCase]


class SweepLimitsSpec(SpecModel):
    max_total_trials: Annotated[int | None, whole_number(1, MAX_TOTAL_TRIALS)] = None
    max_concurrent_trials: Annotated[int | None, whole_number(1, MAX_CONCURRENT_TRIALS)] = None
    timeout: Seconds = None
    trial_timeout: Seconds = None


# --- search space ------------------------------------------------------------------------------------------


def _number(path: str, value: Any) -> float:
    """A finite number; text such as ``1e-3`` (which YAML leaves as text) is read as the cloud reads it."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise FieldProblem(path, "must be a number", value) from None
        number = (
            int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        )
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise FieldProblem(path, "must be a number", value)
    if not math.isfinite(number):
        raise FieldProblem(path, "must be a finite number", value)
    return number


def check_distribution_entry(name: str, entry: Any) -> dict[str, Any]:
    """One search-space entry (``{type: uniform, min_value: 0, max_value: 1}``), checked and normalised."""
    kinds = ", ".join(TYPES)
    if not isinstance(entry, dict) or "type" not in entry:
        raise FieldProblem(name, f"give a mapping with a 'type' (one of {kinds})")
    kind = entry["type"]
    if not isinstance(kind, str) or kind.strip().lower() not in TYPES:
        raise FieldProblem(f"{name}.type", f"is not a distribution (use one of {kinds})", kind)
    kind = kind.strip().lower()
    args = {k: v for k, v in entry.items() if k != "type"}
    expected = ARGUMENTS[kind]
    unknown = sorted(set(args) - set(expected), key=str)
    if unknown:
        raise FieldProblem(f"{name}.{unknown[0]}", f"'{kind}' takes {', '.join(expected)} only")
    missing = [k for k in expected if k not in args]
    if missing:
        raise FieldProblem(name, f"'{kind}' needs {', '.join(missing)}")
    if kind == "choice":
        values = args["values"]
        if not isinstance(values, list) or not values:
            raise FieldProblem(f"{name}.values", "give a non-empty list of values", values)
        for i, item in enumerate(values):
            if isinstance(item, float) and not math.isfinite(item):
                raise FieldProblem(f"{name}.values.{i}", "must be a finite number", item)
        return {"type": kind, "values": values}
    args = {key: _number(f"{name}.{key}", value) for key, value in args.items()}
    if kind == "randint":
        upper = args["upper"]
        if not float(upper).is_integer() or upper < 1:
            raise FieldProblem(f"{name}.upper", "must be a whole number of at least 1", upper)
        return {"type": kind, "upper": int(upper)}
    if "min_value" in args:
        low, high = args["min_value"], args["max_value"]
        if low >= high:
            raise FieldProblem(name, f"min_value must be below max_value (got {low} and {high})")
        if not math.isfinite(high - low):
            raise FieldProblem(
                name, f"the range from min_value to max_value is too wide (got {low} and {high})"
            )
        if kind in ("loguniform", "qloguniform") and high > LOG_MAX:
            raise FieldProblem(
                f"{name}.max_value",
                f"must be at most {LOG_MAX:.0f}: values are exp(uniform(min_value, max_value)) and "
                "exp of more is not a finite number",
                high,
            )
    if "sigma" in args:
        mu, sigma = args["mu"], args["sigma"]
        if sigma <= 0:
            raise FieldProblem(f"{name}.sigma", "must be above 0", sigma)
        reach = mu + NORMAL_REACH * sigma
        if not math.isfinite(reach) or not math.isfinite(mu - NORMAL_REACH * sigma):
            raise FieldProblem(name, f"mu and sigma are too large to sample (got {mu} and {sigma})")
        if kind in ("lognormal", "qlognormal") and reach > LOG_MAX:
            raise FieldProblem(
                name,
                f"mu + 7 * sigma must be at most {LOG_MAX:.0f}: values are exp(normal(mu, sigma)) and exp "
                f"of more is not a finite number (got mu {mu}, sigma {sigma})",
            )
    if "q" in args and args["q"] <= 0:
        raise FieldProblem(f"{name}.q", "must be above 0", args["q"])
    return {"type": kind, **args}


def check_search_space(value: Any) -> Any:
    if value is None or not isinstance(value, dict):
        return value
    if not value:
        raise FieldProblem("", "give at least one parameter")
    return {str(name): check_distribution_entry(str(name), entry) for name, entry in value.items()}


SearchSpace = Annotated[dict[str, Any], BeforeValidator(check_search_space)]


# --- early termination -------------------------------------------------------------------------------------

POLICY_FIELDS: dict[str, tuple[str, ...]] = {
    "bandit": ("slack_factor", "slack_amount"),
    "median_stopping": (),
    # exclude_finished_jobs: the cloud's docs describe it; its YAML loader does not know it yet
    "truncation_selection": ("truncation_percentage", "exclude_finished_jobs"),
}
COMMON_POLICY_FIELDS = ("evaluation_interval", "delay_evaluation")


def _zero(value: Any) -> bool:
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False


def _snake(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text.strip()).lower()


def check_early_termination(value: Any) -> Any:
    """An ``early_termination`` mapping, checked and normalised (None values dropped)."""
    if value is None:
        return None
    kind = mapping_type(value, POLICY_FIELDS, _snake)
    known = (*POLICY_FIELDS[kind], *COMMON_POLICY_FIELDS)
    out: dict[str, Any] = {"type": kind}
    for key, item in value.items():
        if key == "type" or item is None:
            continue
        if key not in known:
            raise FieldProblem(key, f"is not a field of a {kind} policy (fields: {', '.join(known)})")
        out[key] = item
    checks = {
        "evaluation_interval": whole_number(1).func,
        "delay_evaluation": whole_number(0).func,
        "truncation_percentage": whole_number(MIN_TRUNCATION_PERCENTAGE, MAX_TRUNCATION_PERCENTAGE).func,
    }
    for key, check in checks.items():
        if key in out:
            try:
                out[key] = check(out[key])
            except FieldProblem as exc:
                raise FieldProblem(key, exc.message, out[key]) from None
    if kind == "bandit":
        given = [k for k in ("slack_factor", "slack_amount") if k in out]
        if len(given) == 2 and any(_zero(out[k]) for k in given):
            # The cloud's SDK writes both, 0 meaning "not set": keep the one that is set.
            unset = "slack_factor" if _zero(out["slack_factor"]) else "slack_amount"
            out.pop(unset)
            given.remove(unset)
        if len(given) != 1:
            raise FieldProblem("", "a bandit policy takes exactly one of slack_factor, slack_amount")
        try:
            slack = _number(given[0], out[given[0]])  # text such as '0.1' is a number, as in the cloud
        except FieldProblem:
            slack = -1.0
        if slack <= 0:
            raise FieldProblem(given[0], "must be a number above 0", out[given[0]])
        out[given[0]] = slack
    if kind == "truncation_selection":
        if "truncation_percentage" not in out:
            raise FieldProblem("truncation_percentage", "is required (a whole number from 1 to 99)")
        if not isinstance(out.get("exclude_finished_jobs", False), bool):
            raise FieldProblem("exclude_finished_jobs", "must be true or false", out["exclude_finished_jobs"])
    return out


EarlyTermination = Annotated[dict[str, Any] | None, BeforeValidator(check_early_termination)]


SAMPLING_ALGORITHMS = ("random", "grid", "bayesian")


def check_sampling_algorithm(value: Any) -> Any:
    """``random`` or ``{type: random, seed: 1, rule: sobol}``: a name in lower case, or the mapping checked."""
    if isinstance(value, str):
        if value.strip().lower() not in SAMPLING_ALGORITHMS:
            raise FieldProblem(
                "",
                f"must be one of {', '.join(map(repr, SAMPLING_ALGORITHMS))} (or a mapping with a type)",
                value,
            )
        return value.strip().lower()
    if isinstance(value, dict):
        return validate_part(SamplingSpec, value)
    return value


def _trial(value: Any) -> Any:
    return validate_part(TrialSpec, value) if isinstance(value, dict) else value


class SweepJobSpec(JobSpecBase):
    type: Literal["sweep"]
    trial: Annotated[TrialSpec | str, BeforeValidator(_trial)]
    inputs: Inputs = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    compute: str | None = None
    sampling_algorithm: Annotated[
        Literal["random", "grid", "bayesian"] | SamplingSpec, BeforeValidator(check_sampling_algorithm)
    ] = "random"
    search_space: SearchSpace
    objective: ObjectiveSpec
    limits: SweepLimitsSpec = Field(default_factory=SweepLimitsSpec)
    early_termination: EarlyTermination = None
    identity: dict[str, Any] | None = None
    queue_settings: QueueSettingsSpec | None = None
    resources: ResourcesSpec | None = None
    services: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _bayesian_has_no_policy(self):
        if self.early_termination and self.sampling.type == "bayesian":
            raise FieldProblem(
                "early_termination", "the bayesian sampling algorithm does not support early termination"
            )
        return self

    @property
    def sampling(self) -> SamplingSpec:
        algo = self.sampling_algorithm
        return algo if isinstance(algo, SamplingSpec) else SamplingSpec(type=algo)
