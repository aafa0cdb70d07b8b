"""The cloud's command-job YAML (SPEC section 7) and the ``${{...}}`` / ``$[[...]]`` expressions.

The parts that job, sweep, pipeline and component models share live here too: the checks of a command,
of environment variables, of tags, of ``distribution``, ``resources``, ``limits`` and ``queue_settings``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from backend.errors import ValidationError
from backend.specs import FieldProblem, SpecModel, note, validate_part
from backend.specs.bounds import MAX_INSTANCES, MAX_TIMEOUT_S

DATA_TYPES = ("uri_file", "uri_folder", "mltable")
MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")
LITERAL_TYPES = ("string", "integer", "number", "boolean")
OutputType = Literal["uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model"]
InputType = Literal[
    "uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model",
    "string", "integer", "number", "boolean",
]  # fmt: skip


def _lower_text(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _version_text(value: Any) -> Any:
    return None if value is None else str(value)


# A field the cloud reads case-insensitively (``URI_FILE``, ``RO_MOUNT``, ``Maximize``): ``Annotated[T, AnyCase]``.
AnyCase = BeforeValidator(_lower_text)
# A version as text (YAML gives ``version: 1`` as a number).
VersionText = Annotated[str | None, BeforeValidator(_version_text)]


def is_data_type(kind: str) -> bool:
    return kind in DATA_TYPES or kind in MODEL_TYPES


INPUT_MODES = ("ro_mount", "download", "direct", "eval_mount", "eval_download")
OUTPUT_MODES = ("rw_mount", "upload", "direct")
Literal_ = str | int | float | bool
JOB_READ_ONLY_FIELDS = ("status", "id", "creation_context", "log_files")

EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]", re.S)


# --- shared checks -----------------------------------------------------------------------------------------


def whole_number(low: int, high: int | None = None, *, unit: str = "", truncate: bool = False):
    """A validator: a whole number in [low, high]; ``truncate`` takes 1.5 as 1, as the cloud's loader does."""
    of = f" of {unit}" if unit else ""
    allowed = (
        f"a whole number{of} from {low} to {high}"
        if high is not None
        else f"a whole number{of} of at least {low}"
    )
    if unit == "seconds" and high == MAX_TIMEOUT_S:
        allowed += " (60 days)"

    def check(value: Any) -> Any:
        if value is None:
            return None
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise FieldProblem("", f"must be {allowed}", value) from None
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise FieldProblem("", f"must be {allowed}", value)
        if isinstance(number, float):
            if not number.is_integer() and not truncate:
                raise FieldProblem("", f"must be {allowed}", value)
            number = int(number)
        if number < low or (high is not None and number > high):
            raise FieldProblem("", f"must be {allowed}", value)
        return number

    return BeforeValidator(check)


Seconds = Annotated[int | None, whole_number(1, MAX_TIMEOUT_S, unit="seconds", truncate=True)]
InstanceCount = Annotated[int, whole_number(1, MAX_INSTANCES)]


def check_command(value: Any) -> Any:
    """A command must say something to run: empty or blank text is refused."""
    if isinstance(value, str) and not value.strip():
        raise FieldProblem("", "must not be empty: give the shell command to run", value)
    return value


Command = Annotated[str, BeforeValidator(check_command)]
OptionalCommand = Annotated[str | None, BeforeValidator(check_command)]


def _scalar_text(value: Any, path: str, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return str(value)
    raise FieldProblem(
        path, f"{what} must be text, a number or a boolean, not a {type(value).__name__}", value
    )


def environment_variables(value: Any) -> Any:
    """``NAME: value`` pairs; values that are numbers or booleans become text, as the cloud does."""
    if not isinstance(value, dict):
        return value
    out = {}
    for name, item in value.items():
        key = str(name)
        if not key or "=" in key:
            raise FieldProblem(key, "is not a valid environment variable name (non-empty, without '=')")
        out[key] = _scalar_text(item, key, "an environment variable's value")
    return out


def tag_values(value: Any) -> Any:
    """Tags and properties: text values; numbers and booleans are kept as their text."""
    if not isinstance(value, dict):
        return value
    return {str(k): _scalar_text(v, str(k), "a tag's value") for k, v in value.items()}


def check_tags(tags: dict[str, str], *, reserved: tuple[str, ...] = ()) -> None:
    """Tags a form or the SDK gives (a spec's tags go through ``Tags``): names and values are text, and no
    name starts with one of the ``reserved`` prefixes (kept for Studio's and MLflow's own metadata)."""
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip():
            raise ValidationError("tag names must be non-empty text")
        if not isinstance(value, str):
            raise ValidationError(f"tag {key!r} must have a text value, got {value!r}")
    taken = sorted(k for k in tags if reserved and k.startswith(reserved))
    if taken:
        kept = " or ".join(repr(p) for p in reserved)
        raise ValidationError(
            f"tags: {', '.join(taken)}: tag names starting with {kept} are kept for Studio's and MLflow's own "
            "metadata; choose another name"
        )


EnvironmentVariables = Annotated[dict[str, str], BeforeValidator(environment_variables)]
Tags = Annotated[dict[str, str], BeforeValidator(tag_values)]

# distribution type -> its fields (``azure.ai.ml`` MPI/PyTorch/TensorFlow/Ray distribution schemas)
DISTRIBUTION_FIELDS: dict[str, tuple[str, ...]] = {
    "pytorch": ("process_count_per_instance",),
    "mpi": ("process_count_per_instance",),
    "tensorflow": ("worker_count", "parameter_server_count"),
    "ray": (
        "port",
        "address",
        "include_dashboard",
        "dashboard_port",
        "head_node_additional_args",
        "worker_node_additional_args",
    ),
}
_COUNTS = {"process_count_per_instance": 1, "worker_count": 1, "parameter_server_count": 0}


def mapping_type(value: Any, kinds: dict[str, Any], normalise: Callable[[str], str]) -> str:
    """The ``type`` of a ``{type: ..., ...}`` mapping, normalised, that must be one of ``kinds``."""
    names = ", ".join(map(repr, kinds))
    if not isinstance(value, dict):
        raise FieldProblem("", f"must be a mapping with a 'type' (one of {names})", value)
    kind = value.get("type")
    if not isinstance(kind, str) or normalise(kind) not in kinds:
        raise FieldProblem("type", f"must be one of {names}", kind)
    return normalise(kind)


def check_distribution(value: Any, info: ValidationInfo | None = None, *, extra: bool = False) -> Any:
    """A ``distribution`` mapping, checked and returned as a mapping (``type`` in lower case).

    ``extra``: keep keys the type does not know (a component's distribution, where the cloud keeps them).
    """
    if value is None:
        return None
    kind = mapping_type(value, DISTRIBUTION_FIELDS, lambda text: text.strip().lower())
    out: dict[str, Any] = {**value, "type": kind}
    known = DISTRIBUTION_FIELDS[kind]
    for key, item in value.items():
        if key == "type":
            continue
        if key not in known:
            if not extra:
                raise FieldProblem(
                    key, f"is not a field of a {kind} distribution (fields: {', '.join(known)})"
                )
            note(info, f"field 'distribution.{key}' is not used by Studio; kept as given")
        elif key in _COUNTS and item is not None:
            try:
                out[key] = whole_number(_COUNTS[key], MAX_INSTANCES).func(item)
            except FieldProblem as exc:
                raise FieldProblem(key, exc.message, item) from None
    return out


Distribution = Annotated[dict[str, Any] | None, BeforeValidator(check_distribution)]


def _component_distribution(value: Any, info: ValidationInfo) -> Any:
    return check_distribution(value, info, extra=True)


ComponentDistribution = Annotated[dict[str, Any] | None, BeforeValidator(_component_distribution)]


def _old_path_type(value: Any) -> Any:
    """``type: path`` is the cloud's older name for a folder (its loader still takes it)."""
    return "uri_folder" if isinstance(value, str) and value.lower() == "path" else value


class InputSpec(SpecModel):
    type: Annotated[InputType, AnyCase, BeforeValidator(_old_path_type)] = "uri_folder"
    path: str | None = None
    mode: Annotated[
        Literal["ro_mount", "download", "direct", "eval_mount", "eval_download"] | None, AnyCase
    ] = None
    default: Any = None
    value: Any = None
    optional: bool = False
    description: str = ""

    @property
    def is_data(self) -> bool:
        return is_data_type(self.type)


class OutputSpec(SpecModel):
    type: Annotated[OutputType, AnyCase, BeforeValidator(_old_path_type)] = "uri_folder"
    mode: Annotated[Literal["rw_mount", "upload", "direct"] | None, AnyCase] = None
    path: str | None = None
    name: str | None = None
    version: VersionText = None
    description: str = ""


def _input_value(value: Any) -> Any:
    if isinstance(value, dict):
        return validate_part(InputSpec, value)
    if value is not None and not isinstance(value, bool | int | float | str):
        raise FieldProblem(
            "",
            "must be a literal (text, a number or a boolean) or a mapping such as {type: uri_file, path: ...}",
            value,
        )
    return value


InputValue = Annotated[Literal_ | InputSpec | None, BeforeValidator(_input_value)]
Inputs = dict[str, InputValue]


class ResourcesSpec(SpecModel):
    """``resources`` (the cloud's JobResourceConfiguration); only ``instance_count`` means something here."""

    instance_count: InstanceCount = 1
    instance_type: str | None = None
    shm_size: str | None = None
    docker_args: str | None = None
    locations: list[str] | None = None
    max_instance_count: Annotated[int | None, whole_number(1, MAX_INSTANCES)] = None
    properties: dict[str, Any] = Field(default_factory=dict)


class LimitsSpec(SpecModel):
    timeout: Seconds = None


class QueueSettingsSpec(SpecModel):
    """Recorded; Studio has one queue per compute."""

    job_tier: Annotated[Literal["null", "spot", "basic", "standard", "premium"] | None, AnyCase] = None
    priority: Annotated[Literal["low", "medium", "high"] | None, AnyCase] = None


class JobSpecBase(SpecModel):
    """What every job type shares (the cloud's ``JobSchema``)."""

    READ_ONLY_FIELDS = JOB_READ_ONLY_FIELDS

    name: str | None = None
    display_name: str | None = None
    experiment_name: str | None = None
    description: str = ""
    tags: Tags = Field(default_factory=dict)
    properties: Tags = Field(default_factory=dict)


class CommandJobSpec(JobSpecBase):
    READ_ONLY_FIELDS = (*JOB_READ_ONLY_FIELDS, "parameters")

    type: Literal["command"] = "command"
    command: Command
    code: str | None = None
    environment: str | dict[str, Any]
    environment_variables: EnvironmentVariables = Field(default_factory=dict)
    compute: str | None = None
    inputs: Inputs = Field(default_factory=dict)
    outputs: dict[str, OutputSpec | None] = Field(default_factory=dict)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    distribution: Distribution = None
    services: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    queue_settings: QueueSettingsSpec | None = None
    parent_job_name: str | None = None  # recorded: the cloud sets it on a pipeline's steps

    @model_validator(mode="after")
    def _expressions_name_known_inputs_and_outputs(self):
        check_expressions(self.command, inputs=set(self.inputs), outputs=set(self.outputs), field="command")
        return self


def expressions(text: str) -> list[str]:
    return EXPRESSION.findall(text or "")


def check_expressions(
    text: str,
    *,
    inputs: set[str],
    outputs: set[str],
    search_space: set[str] | None = None,
    field: str = "command",
) -> None:
    """Every ``${{...}}`` must name a declared input, output or search-space parameter."""
    for expr in expressions(text):
        kind, _, name = expr.partition(".")
        name = name.split(".")[0]
        known = {"inputs": inputs, "outputs": outputs, "search_space": search_space or set()}.get(kind)
        if known is None:
            raise ValueError(
                f"{field}: '${{{{{expr}}}}}' is not a known expression (use inputs.<name>, outputs.<name>"
                + (", search_space.<name>" if search_space is not None else "")
                + ")"
            )
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ValueError(
                f"{field}: '${{{{{expr}}}}}' names {kind[:-1] if kind != 'search_space' else 'parameter'} "
                f"{name!r}, which is not declared ({kind}: {listed})"
            )


def render_command(command: str, values: dict[str, str | None]) -> str:
    """Substitute ``${{inputs.x}}`` etc.; drop each ``$[[...]]`` part whose expressions have no value."""

    def _optional(match: re.Match) -> str:
        part = match.group(1)
        if any(values.get(expr) is None for expr in expressions(part)):
            return ""
        return part

    text = OPTIONAL_PART.sub(_optional, command)
    missing = [e for e in expressions(text) if values.get(e) is None]
    if missing:
        raise ValidationError(
            f"command: no value for {', '.join('${{' + m + '}}' for m in missing)} "
            "(give the input, or wrap the part in $[[ ]] to make it optional)"
        )
    return EXPRESSION.sub(lambda m: str(values[m.group(1)]), text)
