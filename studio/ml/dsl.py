"""Pipelines written in Python, like ``azure.ai.ml.dsl``::

    from studio.ml import Input, load_component
    from studio.ml.dsl import pipeline

    prep, train = load_component(source="./prep.yml"), load_component(source="./train.yml")

    @pipeline(default_compute="serverless", description="prep then train")
    def prep_and_train(raw: Input, epochs: int = 5):
        cleaned = prep(raw=raw)
        trained = train(data=cleaned.outputs.clean, epochs=epochs)
        return {"model": trained.outputs.model}

    job = prep_and_train(raw=Input(type="uri_folder", path="./data"))
    ml_client.jobs.create_or_update(job)

Calling the decorated function runs it once: each component call (or ``command(...)``) inside makes a
step, and its parameters stand for the pipeline's inputs. A step is named after the variable that holds
it (``cleaned``, ``trained``), else after its component (deduplicated with ``_1``, ``_2``, ...).
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from studio.ml.entities import AttrDict, Job, Output, PipelineInput, PipelineJob
from studio.ml.entities._base import _validation_error
from studio.ml.entities._job._pipeline_builder import _PIPELINE_BUILDERS, _PipelineBuilder

# ``@pipeline`` keywords that go to the pipeline's ``settings`` (``compute`` is the cloud's alias).
SETTINGS = (
    "default_compute",
    "default_datastore",
    "default_environment",
    "continue_on_step_failure",
    "force_rerun",
    "on_init",
    "on_finalize",
)
IGNORED = ("is_deterministic", "version")  # describe a pipeline component; a pipeline job has no use for them


def pipeline(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    version: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    experiment_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """Decorate a function that calls components; calling it returns a ``PipelineJob``.

    ``compute`` / ``default_compute``, ``default_datastore``, ``continue_on_step_failure`` and
    ``force_rerun`` become the pipeline's ``settings``. ``display_name`` defaults to ``name``, else the
    function's name; ``description`` to its docstring.
    """
    settings: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in ("compute", "default_compute_target"):
            settings["default_compute"] = value
        elif key in SETTINGS:
            settings[key] = value
        elif key not in IGNORED:
            raise _validation_error(
                f"@pipeline: {key!r} is not a pipeline setting "
                f"(use compute, {', '.join(SETTINGS)}, name, display_name, description, experiment_name, tags)"
            )

    def decorate(function: Callable[..., Any]) -> Callable[..., PipelineJob]:
        signature = inspect.signature(function)
        label = f"@pipeline {function.__name__}"
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise _validation_error(
                    f"{label}: *{parameter.name} is not allowed; name each pipeline input as a parameter"
                )

        @functools.wraps(function)
        def build(*args: Any, **values: Any) -> PipelineJob:
            if _PIPELINE_BUILDERS.get():
                raise _validation_error(
                    f"{label}: a @pipeline called inside another @pipeline is not supported; "
                    "call its components in the outer pipeline"
                )
            try:
                bound = signature.bind_partial(*args, **values)
            except TypeError as exc:
                raise _validation_error(f"{label}: {exc}") from None
            given: dict[str, Any] = {}
            for pname, parameter in signature.parameters.items():
                if pname in bound.arguments:
                    given[pname] = bound.arguments[pname]
                elif parameter.default is not parameter.empty:
                    given[pname] = parameter.default
                else:
                    given[pname] = None  # an input without a value; set it later on job.inputs
            builder = _PipelineBuilder(function.__name__)
            placeholders = {pname: PipelineInput(pname, value, builder) for pname, value in given.items()}
            token = _PIPELINE_BUILDERS.set((*_PIPELINE_BUILDERS.get(), builder))
            try:
                result, local_names = _run(function, signature, placeholders)
            finally:
                _PIPELINE_BUILDERS.reset(token)
            return _pipeline_job(
                function,
                label,
                builder,
                given,
                result,
                local_names,
                display_name=display_name or name or function.__name__,
                description=description if description is not None else inspect.getdoc(function),
                experiment_name=experiment_name,
                tags=dict(tags or {}),
                settings=settings,
            )

        return build

    return decorate(func) if callable(func) else decorate


def _run(
    function: Callable[..., Any], signature: inspect.Signature, placeholders: dict[str, PipelineInput]
) -> tuple[Any, dict[str, Any]]:
    """Call the function with its placeholders; also return its local variables as it returned (the
    steps' names), caught by a profile hook on its own frame. With another profiler active, no names."""
    args = [placeholders[p.name] for p in signature.parameters.values() if p.kind == p.POSITIONAL_ONLY]
    kwargs = {
        p.name: placeholders[p.name] for p in signature.parameters.values() if p.kind != p.POSITIONAL_ONLY
    }
    if sys.getprofile() is not None:
        return function(*args, **kwargs), {}
    code = inspect.unwrap(function).__code__
    captured: dict[str, Any] = {}

    def profile(frame: Any, event: str, arg: Any) -> None:
        # The outermost call returns last, so a recursive function leaves its own first call's locals.
        if event == "return" and frame.f_code is code:
            captured.clear()
            captured.update(frame.f_locals)

    sys.setprofile(profile)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return result, captured


def _base_name(node: Job) -> str:
    component = getattr(node, "_component", None) or getattr(getattr(node, "trial", None), "_component", None)
    if component is not None and component.name:
        base = str(component.name)
    else:
        base = "sweep" if node.type == "sweep" else "command"
    return re.sub(r"[^\w-]", "_", base)


def _unique(base: str, used: set[str]) -> str:
    name, index = base, 0
    while name in used:
        index += 1
        name = f"{base}_{index}"
    used.add(name)
    return name


def step_names(nodes: list[Job], local_names: Mapping[str, Any], label: str) -> list[str]:
    """Each step's name: one set on it (``step.name = ...``), else the variable that holds it, else its
    component's name, deduplicated with ``_1``, ``_2``, ..."""
    variable: dict[int, str] = {}
    for var, value in local_names.items():
        if isinstance(value, Job) and not var.startswith("_"):
            variable.setdefault(id(value), var)
    names: list[str | None] = [None] * len(nodes)
    used: set[str] = set()
    for index, node in enumerate(nodes):
        if node.name:
            if node.name in used:
                raise _validation_error(f"{label}: two steps are named {node.name!r}; names must be unique")
            names[index] = node.name
            used.add(node.name)
    for index, node in enumerate(nodes):
        if names[index] is None and id(node) in variable:
            names[index] = _unique(variable[id(node)], used)
    for index, node in enumerate(nodes):
        if names[index] is None:
            names[index] = _unique(_base_name(node), used)
    return [n for n in names if n is not None]


def _pipeline_job(
    function: Callable[..., Any],
    label: str,
    builder: _PipelineBuilder,
    given: dict[str, Any],
    result: Any,
    local_names: dict[str, Any],
    **fields: Any,
) -> PipelineJob:
    if result is None:
        result = {}
    if not isinstance(result, Mapping):
        raise _validation_error(
            f"{label}: return a dict of pipeline outputs ({{'name': step.outputs.<output>}}), "
            f"not {type(result).__name__}"
        )
    nodes = builder.nodes
    if not nodes:
        raise _validation_error(
            f"{label}: the function made no steps (call a component or command inside it)"
        )
    names = step_names(nodes, local_names, label)
    owner = {
        id(out): node for node in nodes for out in (node.outputs or {}).values() if isinstance(out, Output)
    }
    outputs, sources = AttrDict(), {}
    for out_name, value in result.items():
        if not isinstance(value, Output) or id(value) not in owner:
            raise _validation_error(
                f"{label}: output {out_name!r}: return a step's output (step.outputs.<name>), got {value!r}"
            )
        outputs[out_name] = Output(
            type=value.type or "uri_folder",
            path=value.path,
            mode=value.mode,
            name=value.name,
            version=value.version,
            description=value.description,
        )
        sources[out_name] = value
    job = PipelineJob(
        {
            "name": None,
            "display_name": fields["display_name"],
            "experiment_name": fields["experiment_name"],
            "description": fields["description"],
            "tags": fields["tags"],
            "properties": {},
            "inputs": AttrDict(given),
            "outputs": outputs,
            "settings": AttrDict(fields["settings"]),
            "compute": None,
            "jobs": AttrDict(zip(names, nodes, strict=True)),
        },
        base_path=Path.cwd(),
        source=label,
    )
    job._builder = builder
    job._output_sources = sources
    job._default_experiment = Path.cwd().name or None
    return job


__all__ = ["pipeline"]
