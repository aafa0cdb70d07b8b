"""The pipeline composer: chosen registered components, their wiring and literal values become the cloud's
pipeline-job YAML (``compose_pipeline_yaml``); ``validate_composed`` and ``submit_composed`` run it through
the same planner as ``studio job create``."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from sqlmodel import Session

from backend.errors import ValidationError
from backend.services import jobs

PIPELINE_SCHEMA = "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json"
COMPOSER = "pipeline composer"
PRIMITIVES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_folder", "uri_file", "mltable", "mlflow_model", "custom_model", "triton_model")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ============================================================================================== composer


class ComposedInput(BaseModel):
    """Where one component input gets its value in a composed pipeline."""

    kind: Literal["default", "literal", "data", "pipeline_input", "step_output"] = "default"
    # literal: the typed value; data: a reference (azureml:name:version or a URI); pipeline_input: its
    # name; step_output: "<step>.<output>" of an earlier step.
    value: Any = None
    type: str | None = None  # the data type of a data binding (the component input's type)


class ComposedStep(BaseModel):
    name: str
    component: str  # name:version of a registered component
    display_name: str = ""
    compute: str | None = None  # None: the pipeline's default compute
    inputs: dict[str, ComposedInput] = Field(default_factory=dict)
    promote: dict[str, str] = Field(default_factory=dict)  # step output -> pipeline output name


class PipelineInputField(BaseModel):
    name: str
    type: str = "string"  # a primitive or a data type
    value: Any = None  # the literal, or the data reference / URI


class ComposedPipeline(BaseModel):
    display_name: str = ""
    experiment_name: str = ""
    description: str = ""
    default_compute: str = "serverless"
    continue_on_step_failure: bool = False
    force_rerun: bool = False
    inputs: list[PipelineInputField] = Field(default_factory=list)
    steps: list[ComposedStep] = Field(default_factory=list)


def _reference(component: str) -> str:
    return component if component.startswith("azureml:") else f"azureml:{component}"


def _binding_value(binding: ComposedInput) -> Any:
    if binding.kind == "literal":
        return binding.value
    if binding.kind == "data":
        return {"type": binding.type or "uri_folder", "path": str(binding.value or "").strip()}
    if binding.kind == "pipeline_input":
        return f"${{{{parent.inputs.{binding.value}}}}}"
    step, _, output = str(binding.value or "").partition(".")
    return f"${{{{parent.jobs.{step}.outputs.{output}}}}}"


def compose_pipeline_data(pipeline: ComposedPipeline) -> dict[str, Any]:
    """The cloud's pipeline-job mapping for the composer's choices (inputs left at default are omitted)."""
    data: dict[str, Any] = {"$schema": PIPELINE_SCHEMA, "type": "pipeline"}
    if pipeline.display_name.strip():
        data["display_name"] = pipeline.display_name.strip()
    data["experiment_name"] = pipeline.experiment_name.strip() or "Default"
    if pipeline.description.strip():
        data["description"] = pipeline.description.strip()
    if pipeline.inputs:
        data["inputs"] = {
            item.name: (
                {"type": item.type, "path": str(item.value or "").strip()}
                if item.type in DATA_TYPES
                else item.value
            )
            for item in pipeline.inputs
        }
    outputs = {
        target: {"type": "uri_folder"}
        for step in pipeline.steps
        for target in step.promote.values()
        if target
    }
    if outputs:
        data["outputs"] = outputs
    settings: dict[str, Any] = {"default_compute": f"azureml:{pipeline.default_compute or 'serverless'}"}
    if pipeline.continue_on_step_failure:
        settings["continue_on_step_failure"] = True
    if pipeline.force_rerun:
        settings["force_rerun"] = True
    data["settings"] = settings
    steps: dict[str, Any] = {}
    for step in pipeline.steps:
        body: dict[str, Any] = {"type": "command", "component": _reference(step.component)}
        if step.display_name.strip():
            body["display_name"] = step.display_name.strip()
        if step.compute:
            body["compute"] = f"azureml:{step.compute}"
        inputs = {
            port: _binding_value(binding)
            for port, binding in step.inputs.items()
            if binding.kind != "default"
        }
        if inputs:
            body["inputs"] = inputs
        promoted = {
            out: f"${{{{parent.outputs.{target}}}}}" for out, target in step.promote.items() if target
        }
        if promoted:
            body["outputs"] = promoted
        steps[step.name] = body
    data["jobs"] = steps
    return data


def compose_pipeline_yaml(pipeline: ComposedPipeline) -> str:
    """The composed pipeline as the cloud's pipeline-job YAML (what ``submit_composed`` submits)."""
    return yaml.safe_dump(compose_pipeline_data(pipeline), sort_keys=False, allow_unicode=True)


def check_composed(pipeline: ComposedPipeline) -> list[str]:
    """Problems the composer can name without the database: names, missing values, wiring order."""
    problems: list[str] = []
    if not pipeline.steps:
        problems.append("add at least one step (pick a registered component)")
    declared: set[str] = set()
    for item in pipeline.inputs:
        if not NAME.match(item.name or ""):
            problems.append(
                f"pipeline input {item.name!r}: use letters, digits and '_' (not starting with a digit)"
            )
        elif item.name in declared:
            problems.append(f"two pipeline inputs are named {item.name!r}")
        declared.add(item.name)
        empty = item.value is None or (isinstance(item.value, str) and not item.value.strip())
        if empty and item.type != "string":
            problems.append(f"pipeline input {item.name!r}: give a value")
    seen: dict[str, int] = {}
    promoted: set[str] = set()
    for index, step in enumerate(pipeline.steps):
        where = f"step {step.name!r}"
        if not NAME.match(step.name or ""):
            problems.append(f"{where}: a step name uses letters, digits and '_' (not starting with a digit)")
        elif step.name in seen:
            problems.append(f"two steps are named {step.name!r}")
        seen.setdefault(step.name, index)
        for port, binding in step.inputs.items():
            if binding.kind == "data" and not str(binding.value or "").strip():
                problems.append(f"{where}, input {port!r}: pick the data to read")
            elif binding.kind == "pipeline_input" and binding.value not in declared:
                problems.append(f"{where}, input {port!r}: pipeline input {binding.value!r} is not declared")
            elif binding.kind == "step_output":
                source = str(binding.value or "").partition(".")[0]
                if seen.get(source, index) >= index:
                    problems.append(f"{where}, input {port!r}: it can only read an output of an earlier step")
            elif binding.kind == "literal" and binding.value is None:
                problems.append(f"{where}, input {port!r}: give a value")
        for out, target in step.promote.items():
            if not target:
                continue
            if not NAME.match(target):
                problems.append(f"{where}, output {out!r}: pipeline output name {target!r} is not valid")
            elif target in promoted:
                problems.append(f"two step outputs are published as pipeline output {target!r}")
            promoted.add(target)
    return problems


def _parse_composed(pipeline: ComposedPipeline):
    from backend.specs import parse_spec
    from backend.specs.pipeline import PipelineJobSpec

    problems = check_composed(pipeline)
    if problems:
        raise ValidationError(f"{COMPOSER}: {problems[0]}")
    return parse_spec(PipelineJobSpec, compose_pipeline_data(pipeline), source=COMPOSER)


def validate_composed(*, session: Session, workspace: str, pipeline: ComposedPipeline) -> dict[str, Any]:
    """Plan the composed pipeline exactly as a submission would (nothing is created); returns the plan."""
    from backend.services import pipeline_plans

    spec = _parse_composed(pipeline)
    try:
        return pipeline_plans.build_plan(session=session, workspace=workspace, spec=spec, base_dir=None)
    except ValidationError as exc:
        raise ValidationError(f"{COMPOSER}: {exc}") from None


def submit_composed(
    *, session: Session, workspace: str, pipeline: ComposedPipeline, name: str | None = None
) -> jobs.JobPublic:
    """Write the composed YAML to a temporary folder and submit that file, as ``studio job create`` would."""
    from backend.services import pipelines
    from backend.specs import parse_spec, read_yaml
    from backend.specs.pipeline import PipelineJobSpec

    _parse_composed(pipeline)
    with tempfile.TemporaryDirectory(prefix="studio-composer-") as tmp:
        file = Path(tmp) / "pipeline.yml"
        file.write_text(compose_pipeline_yaml(pipeline))
        spec = parse_spec(PipelineJobSpec, read_yaml(file), source=COMPOSER)
        try:
            return pipelines.submit_pipeline(
                session=session,
                workspace=workspace,
                spec=spec,
                base_dir=Path(tmp),
                source=COMPOSER,
                name=name,
            )
        except ValidationError as exc:
            raise ValidationError(f"{COMPOSER}: {exc}") from None
