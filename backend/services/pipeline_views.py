"""Read models and forms for the Components and Pipelines pages.

- ``list_pipelines`` / ``get_pipeline_view``: a pipeline job as its steps (status, child job, kind,
  dependencies, reuse, skip reasons, inputs and outputs), built from the plan that
  ``backend.services.pipelines`` stored and the child jobs the pipeline controller started.
- The composer: ``compose_pipeline_yaml`` turns chosen registered components, their wiring and literal
  values into the cloud's pipeline-job YAML; ``validate_composed`` and ``submit_composed`` run it through
  the same planner as ``studio job create``.
- "Use in a job": ``component_job_yaml`` / ``submit_component_job`` make a command job of a component.
- Registering a component from browser uploads or from a YAML file on the ``workspaceworkingdirectory``
  datastore (the page hands over bytes and paths; files are written here, never by the page).
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from backend.db.models import Component, Job
from backend.errors import NotFoundError, ValidationError
from backend.services import jobs
from backend.services.lookup import get_workspace_row
from backend.statuses import ACTIVE, JobStatus

PIPELINE_SCHEMA = "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json"
COMMAND_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
COMPOSER = "pipeline composer"
CODE_DATASTORE = "workspaceworkingdirectory"
YAML_SEARCH_DEPTH = 4  # folder levels searched for component YAML files on the working directory
YAML_SEARCH_LIMIT = 500
SKIPPED = "Skipped"  # a step the controller will not run (shown like a status)
PRIMITIVES = ("string", "integer", "number", "boolean")
DATA_TYPES = ("uri_folder", "uri_file", "mltable", "mlflow_model", "custom_model", "triton_model")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ============================================================================================ read model


class PortView(BaseModel):
    """One input or output of a step or of the pipeline, as a table row."""

    name: str
    type: str | None = None
    binding: str = ""  # where the value comes from, in words
    source_step: str | None = None  # the upstream step, for a step output binding
    value: str = ""  # the literal, the data reference or the URI


class StepView(BaseModel):
    name: str
    display_name: str
    kind: str  # command | sweep | pipeline
    status: str  # the child job's status; NotStarted before it exists; Skipped when it never will
    job: str | None  # the child job's name
    component: str | None  # name:version of a registered component (None for an inline command)
    deps: list[str]
    depth: int  # longest path from a step without dependencies (0 for those)
    reused_from: str | None
    skipped_reason: str | None
    failure_reason: str | None
    compute: str
    start_time: datetime | None
    end_time: datetime | None
    mlflow_run_id: str | None
    mlflow_experiment_id: str | None
    inputs: list[PortView]
    outputs: list[PortView]

    @property
    def duration_s(self) -> float | None:
        if not self.start_time:
            return None
        return ((self.end_time or datetime.now(UTC)) - self.start_time).total_seconds()


class PipelineView(BaseModel):
    job: jobs.JobPublic
    steps: list[StepView]  # in the plan's (topological) order
    edges: list[tuple[str, str]]  # (upstream step, downstream step)
    inputs: list[PortView]
    outputs: list[PortView]
    settings: dict[str, Any]
    steps_done: int
    steps_total: int

    @property
    def is_active(self) -> bool:
        return self.job.status in ACTIVE

    def step(self, name: str) -> StepView:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(f"pipeline {self.job.name!r} has no step {name!r}")


class PipelineSummary(BaseModel):
    name: str
    display_name: str
    experiment_name: str
    status: str
    steps_done: int
    steps_failed: int
    steps_total: int
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    archived: bool

    @property
    def duration_s(self) -> float | None:
        if not self.start_time:
            return None
        return ((self.end_time or datetime.now(UTC)) - self.start_time).total_seconds()


def list_pipelines(
    *, session: Session, workspace: str, include_archived: bool = False
) -> list[PipelineSummary]:
    """Top-level pipeline jobs, newest first, with how many of their steps completed."""
    ws = get_workspace_row(session=session, name=workspace)
    query = select(Job).where(Job.workspace_id == ws.id, Job.type == "pipeline", col(Job.parent_id).is_(None))
    if not include_archived:
        query = query.where(col(Job.archived).is_(False))
    rows = session.exec(query.order_by(col(Job.created_at).desc(), col(Job.id).desc())).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        children = session.exec(
            select(Job.parent_id, Job.status).where(col(Job.parent_id).in_([r.id for r in rows]))
        ).all()
        for parent_id, status in children:
            counts.setdefault(parent_id, {}).setdefault(status, 0)
            counts[parent_id][status] += 1
    out = []
    for row in rows:
        by_status = counts.get(row.id, {})
        out.append(
            PipelineSummary(
                name=row.name,
                display_name=row.display_name or row.name,
                experiment_name=row.experiment_name,
                status=row.status,
                steps_done=by_status.get(JobStatus.COMPLETED, 0),
                steps_failed=by_status.get(JobStatus.FAILED, 0)
                + by_status.get(JobStatus.CANCELED, 0)
                + len((row.state or {}).get("errors") or {}),  # steps that could not start
                steps_total=len((row.spec or {}).get("steps") or {}),
                created_at=row.created_at,
                start_time=row.start_time,
                end_time=row.end_time,
                archived=row.archived,
            )
        )
    return out


def _depths(steps: dict[str, Any]) -> dict[str, int]:
    depth: dict[str, int] = {}

    def visit(name: str, seen: tuple[str, ...]) -> int:
        if name in depth:
            return depth[name]
        deps = [d for d in steps[name].get("deps", []) if d in steps and d not in seen]
        depth[name] = 1 + max((visit(d, (*seen, name)) for d in deps), default=-1)
        return depth[name]

    for name in steps:
        visit(name, ())
    return depth


def _value_text(value: Any) -> str:
    """A resolved input (``{"kind": "literal" | "data", ...}``) as one line."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if value.get("kind") == "literal":
            return literal_text(value.get("value"))
        if value.get("asset"):
            return f"azureml:{value['asset']}"
        if value.get("uri"):
            return str(value["uri"])
    return literal_text(value)


def literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _binding_port(name: str, binding: dict | None, parent_inputs: dict, resolved: Any) -> PortView:
    if binding is None:
        return PortView(name=name, binding="not set", value=_value_text(resolved))
    bind = binding.get("bind")
    if bind == "literal":
        return PortView(
            name=name, binding="value", value=_value_text(resolved) or literal_text(binding["value"])
        )
    if bind == "parent_input":
        given = parent_inputs.get(binding["name"])
        return PortView(
            name=name,
            type=(given or {}).get("type") if isinstance(given, dict) else None,
            binding=f"pipeline input {binding['name']}",
            value=_value_text(resolved) or _value_text(given),
        )
    if bind == "step_output":
        return PortView(
            name=name,
            type=binding.get("expect"),
            binding=f"{binding['step']}.outputs.{binding['output']}",
            source_step=binding["step"],
            value=_value_text(resolved),
        )
    data = binding.get("value") or {}
    return PortView(
        name=name, type=data.get("type"), binding="data", value=_value_text(resolved) or _value_text(data)
    )


def _component_names(session: Session, workspace_id: int, hashes: set[str]) -> dict[str, str]:
    """``content_hash -> name:version`` of the registered versions with that content (versions that differ
    only in their number share it, so all are named), else the anonymous one a local file registered."""
    if not hashes:
        return {}
    rows = session.exec(
        select(Component).where(
            Component.workspace_id == workspace_id, col(Component.content_hash).in_(hashes)
        )
    ).all()
    registered: dict[str, list[str]] = {}
    anonymous: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.id or 0):
        if row.anonymous:
            anonymous[row.content_hash] = f"{row.name} (anonymous {row.version[:8]})"
        else:
            registered.setdefault(row.content_hash, []).append(f"{row.name}:{row.version}")
    return {**anonymous, **{k: " = ".join(v) for k, v in registered.items()}}


def get_pipeline_view(*, session: Session, workspace: str, name: str) -> PipelineView:
    """A pipeline job as steps with status, child job, reuse and skip reasons, and its inputs/outputs."""
    row = jobs.get_job_row(session=session, workspace=workspace, name=name)
    if row.type != "pipeline":
        raise ValidationError(f"job {name!r} is a {row.type} job, not a pipeline (open it on the Jobs page)")
    job = jobs.get_job(session=session, workspace=workspace, name=name)
    plan = dict(row.spec or {})
    state = dict(row.state or {})
    planned: dict[str, Any] = plan.get("steps") or {}
    order = [s for s in plan.get("order") or planned if s in planned]
    children = {c.name: c for c in session.exec(select(Job).where(Job.parent_id == row.id)).all()}
    step_jobs: dict[str, str] = state.get("steps") or {}
    skipped: dict[str, str] = state.get("skipped") or {}
    errors: dict[str, str] = state.get("errors") or {}
    parent_inputs = plan.get("inputs") or {}
    depths = _depths(planned)
    components = _component_names(
        session, row.workspace_id, {p["content_hash"] for p in planned.values() if p.get("content_hash")}
    )
    steps = []
    for step_name in order:
        step_plan = planned[step_name]
        child = children.get(step_jobs.get(step_name, ""))
        child_spec = (child.spec or {}) if child else {}
        resolved_inputs = child_spec.get("inputs") or {}
        inputs = [
            _binding_port(port, binding, parent_inputs, resolved_inputs.get(port))
            for port, binding in (step_plan.get("inputs") or {}).items()
        ]
        interface = step_plan.get("interface") or {}
        for port in inputs:
            port.type = port.type or (interface.get(port.name) or {}).get("type")
        produced = child_spec.get("outputs") or {} if child and child.type == "command" else {}
        if child and child.type != "command" and child.status == JobStatus.COMPLETED:
            from backend.services.pipelines import step_outputs

            produced = step_outputs(session, child)
        outputs = []
        for out_name, out in (step_plan.get("outputs") or {}).items():
            target = out.get("parent_output")
            outputs.append(
                PortView(
                    name=out_name,
                    type=out.get("type"),
                    binding=f"pipeline output {target}" if target else "",
                    value=str((produced.get(out_name) or {}).get("uri") or ""),
                )
            )
        if child is not None:
            status = child.status
        elif step_name in errors:  # it could not start (an input path missing, ...): a failed step
            status = JobStatus.FAILED
        elif step_name in skipped:
            status = SKIPPED
        else:
            status = JobStatus.NOT_STARTED
        steps.append(
            StepView(
                name=step_name,
                display_name=step_plan.get("display_name") or step_name,
                kind=step_plan.get("kind", "command"),
                status=status,
                job=child.name if child else None,
                component=components.get(step_plan.get("content_hash", "")),
                deps=list(step_plan.get("deps") or []),
                depth=depths.get(step_name, 0),
                reused_from=((child.state or {}).get("reused_from") if child else None),
                skipped_reason=None if step_name in errors else skipped.get(step_name),
                failure_reason=child.failure_reason if child else errors.get(step_name),
                compute=step_plan.get("compute") or "",
                start_time=child.start_time if child else None,
                end_time=child.end_time if child else None,
                mlflow_run_id=child.mlflow_run_id if child else None,
                mlflow_experiment_id=child.mlflow_experiment_id if child else None,
                inputs=inputs,
                outputs=outputs,
            )
        )
    edges = [(dep, s.name) for s in steps for dep in s.deps]
    pipeline_inputs = [
        PortView(
            name=key,
            type=(value or {}).get("type")
            if isinstance(value, dict) and value.get("kind") == "data"
            else None,
            binding="data" if isinstance(value, dict) and value.get("kind") == "data" else "value",
            value=_value_text(value),
        )
        for key, value in parent_inputs.items()
    ]
    published = state.get("outputs") or {}
    feeders = {
        out.get("parent_output"): f"{step_name}.outputs.{out_name}"
        for step_name, step_plan in planned.items()
        for out_name, out in (step_plan.get("outputs") or {}).items()
        if out.get("parent_output")
    }
    pipeline_outputs = [
        PortView(
            name=key,
            type=(published.get(key) or declared or {}).get("type") or "uri_folder",
            binding=feeders.get(key, ""),
            source_step=feeders.get(key, "").split(".")[0] or None,
            value=str((published.get(key) or {}).get("uri") or ""),
        )
        for key, declared in (plan.get("outputs") or {}).items()
    ]
    return PipelineView(
        job=job,
        steps=steps,
        edges=edges,
        inputs=pipeline_inputs,
        outputs=pipeline_outputs,
        settings=dict(plan.get("settings") or {}),
        steps_done=sum(1 for s in steps if s.status == JobStatus.COMPLETED),
        steps_total=len(steps),
    )


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
    from backend.services import pipelines

    spec = _parse_composed(pipeline)
    try:
        return pipelines.build_plan(session=session, workspace=workspace, spec=spec, base_dir=None)
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


def component_references(*, session: Session, workspace: str) -> list[str]:
    """Every registered component version that is not archived, as ``name:version`` (newest first per name)."""
    from backend.services import components

    found = []
    for summary in components.list_components(session=session, workspace=workspace):
        versions = components.list_component_versions(session=session, workspace=workspace, name=summary.name)
        found += [f"{v.name}:{v.version}" for v in versions if not v.archived]
    return found


def get_component_ref(*, session: Session, workspace: str, reference: str):
    """The component a ``name:version`` (or ``azureml:name:version``, ``name@latest``, ``name``) names."""
    from backend.services import components

    text = reference.removeprefix("azureml:")
    if "@" in text:
        name, version = text.split("@", 1)[0], None
    else:
        name, _, version = text.partition(":")
    return components.get_component(session=session, workspace=workspace, name=name, version=version or None)


# ================================================================================= a component as a job


def component_job_data(
    component,
    *,
    inputs: dict[str, ComposedInput] | None = None,
    compute: str = "serverless",
    display_name: str = "",
    experiment_name: str = "",
) -> dict[str, Any]:
    """The cloud's command-job mapping that runs a registered component (its code snapshot, command and
    environment) with the given input values; an input left at ``default`` takes the component's default."""
    spec = component.spec
    data: dict[str, Any] = {"$schema": COMMAND_SCHEMA, "type": "command"}
    data["display_name"] = display_name.strip() or component.display_name or component.name
    if experiment_name.strip():
        data["experiment_name"] = experiment_name.strip()
    if spec.get("code"):
        data["code"] = spec["code"]
    data["command"] = spec["command"]
    data["environment"] = spec["environment"]
    if spec.get("environment_variables"):
        data["environment_variables"] = dict(spec["environment_variables"])
    if compute and compute != "serverless":
        data["compute"] = f"azureml:{compute}"
    given = inputs or {}
    job_inputs: dict[str, Any] = {}
    for port_name, port in (spec.get("inputs") or {}).items():
        binding = given.get(port_name) or ComposedInput()
        kind = port.get("type", "string")
        if binding.kind == "literal":
            job_inputs[port_name] = binding.value
        elif binding.kind == "data":
            job_inputs[port_name] = {"type": kind, "path": str(binding.value or "").strip()}
        elif port.get("default") is not None:
            job_inputs[port_name] = (
                {"type": kind, "path": port["default"]} if kind in DATA_TYPES else port["default"]
            )
        else:  # declared, so the command's $[[...]] parts can name it; optional, so it may stay empty
            job_inputs[port_name] = {"type": kind, "optional": True}
    if job_inputs:
        data["inputs"] = job_inputs
    outputs = {
        out: {"type": (port or {}).get("type", "uri_folder")}
        for out, port in (spec.get("outputs") or {}).items()
    }
    if outputs:
        data["outputs"] = outputs
    for key in ("resources", "limits", "distribution"):
        if spec.get(key):
            data[key] = spec[key]
    data["tags"] = {"component": f"{component.name}:{component.version}"}
    return data


def component_job_yaml(component, **kwargs: Any) -> str:
    return yaml.safe_dump(component_job_data(component, **kwargs), sort_keys=False, allow_unicode=True)


def submit_component_job(
    *,
    session: Session,
    workspace: str,
    component: str,
    inputs: dict[str, ComposedInput] | None = None,
    compute: str = "serverless",
    display_name: str = "",
    experiment_name: str = "",
) -> jobs.JobPublic:
    """Run a registered component (``name:version``) once as a command job."""
    from backend.specs import parse_spec
    from backend.specs.component import ComponentInput, check_value
    from backend.specs.job import CommandJobSpec

    inputs = {k: v.model_copy() for k, v in (inputs or {}).items()}  # values are converted below
    found = get_component_ref(session=session, workspace=workspace, reference=component)
    source = f"component {found.name}:{found.version}"
    ports = found.spec.get("inputs") or {}
    for port_name, binding in (inputs or {}).items():
        if port_name not in ports:
            raise ValidationError(f"{source}: inputs.{port_name}: the component has no such input")
        if binding.kind == "literal":
            binding.value = check_value(
                port_name,
                ComponentInput.model_validate(ports[port_name]),
                binding.value,
                field=f"{source}: inputs",
            )
        elif binding.kind == "data" and not str(binding.value or "").strip():
            raise ValidationError(f"{source}: inputs.{port_name}: pick the data to read")
    missing = [
        n
        for n, p in ports.items()
        if (inputs or {}).get(n, ComposedInput()).kind == "default"
        and p.get("default") is None
        and not p.get("optional")
    ]
    if missing:
        raise ValidationError(
            f"{source}: inputs.{missing[0]}: the component needs this input "
            f"(type {ports[missing[0]].get('type')})"
        )
    data = component_job_data(
        found, inputs=inputs, compute=compute, display_name=display_name, experiment_name=experiment_name
    )
    spec = parse_spec(CommandJobSpec, data, source=source)
    try:
        return jobs.submit_command_job(
            session=session, workspace=workspace, spec=spec, base_dir=None, source=source
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


# ======================================================================== registering from the browser


def _clean(name: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/").lstrip("/"))
    if not path.parts or any(p in ("..", ".") for p in path.parts):
        raise ValidationError(f"uploaded file name {name!r} is not a plain relative path")
    return path


def _local_folders(data: dict, label: str, *, allow_parent: bool) -> list[tuple[str, str]]:
    """The YAML's local folders (``code`` and ``additional_includes``), relative to the YAML file.

    A YAML that arrives through the browser may not name server paths: absolute paths are refused, and
    so are paths above the YAML's folder unless the caller keeps them inside a datastore.
    """
    found = []
    for field, value in [("code", data.get("code"))] + [
        ("additional_includes", v) for v in data.get("additional_includes") or []
    ]:
        if not isinstance(value, str) or not value.strip() or re.match(r"^[a-z][a-z0-9+.-]*:", value.strip()):
            continue
        folder = posixpath.normpath(value.strip().replace("\\", "/"))
        if folder.startswith("/") or (not allow_parent and folder.split("/")[0] == ".."):
            raise ValidationError(
                f"{label}: field '{field}': {value!r} must be a folder beside the YAML "
                "(a YAML given through the browser cannot name other places on the server)"
            )
        found.append((field, folder))
    return found


def register_uploaded_component(
    *,
    session: Session,
    workspace: str,
    yaml_name: str,
    yaml_bytes: bytes,
    files: list[tuple[str, bytes]] | None = None,
):
    """Register a component from an uploaded YAML and its code files.

    Files are laid out next to the YAML: a file whose path starts with the YAML's ``code`` folder (a folder
    upload) keeps its path; loose files go into the ``code`` folder.
    """
    from backend.services import components

    files = list(files or [])
    label = PurePosixPath(yaml_name.replace("\\", "/")).name or "component.yml"
    try:
        data = yaml.safe_load(yaml_bytes.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(f"{label}: not a readable YAML file ({first})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{label}: expected a mapping of fields (a component YAML)")
    local = _local_folders(data, label, allow_parent=False)
    folders = [folder for _, folder in local]
    code = next((folder for field, folder in local if field == "code"), None)
    if files and code is None:
        raise ValidationError(
            f"{label}: field 'code': the YAML names no local code folder, so the uploaded files would be unused "
            "(add e.g. 'code: ./src', or upload only the YAML)"
        )
    if code is not None and code != "." and not files:
        raise ValidationError(
            f"{label}: field 'code': {data['code']!r} is a local folder: upload its files too"
        )
    with tempfile.TemporaryDirectory(prefix="studio-component-upload-") as tmp:
        root = Path(tmp)
        for name, content in files:
            path = _clean(name)
            kept = any(str(path).startswith(f"{folder}/") for folder in folders if folder != ".")
            target = root / path if kept or code in (None, ".") else root / code / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (root / code if code else root).mkdir(parents=True, exist_ok=True)
        file = root / label
        file.write_bytes(yaml_bytes)
        try:
            return components.create_component_from_file(session=session, workspace=workspace, file=file)
        except ValidationError as exc:
            raise ValidationError(str(exc).replace(str(file), label).replace(tmp, ".")) from None


def component_yaml_files(*, session: Session, workspace: str) -> list[str]:
    """YAML files on the ``workspaceworkingdirectory`` datastore (a few folder levels deep)."""
    from backend.services import datastores

    store = datastores.get_filesystem(session=session, workspace=workspace, name=CODE_DATASTORE)
    found: list[str] = []
    level = [""]
    for _depth in range(YAML_SEARCH_DEPTH):
        deeper = []
        for folder in level:
            for entry in store.ls(folder):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir:
                    deeper.append(entry.path)
                elif entry.name.lower().endswith((".yml", ".yaml")):
                    found.append(entry.path)
                    if len(found) >= YAML_SEARCH_LIMIT:
                        return sorted(found)
        level = deeper
    return sorted(found)


def register_component_from_datastore(*, session: Session, workspace: str, path: str):
    """Register a component from a YAML file on ``workspaceworkingdirectory`` (its code folder comes along)."""
    from backend.services import components, datastores
    from backend.storage.filesystems import clean_relative

    store = datastores.get_filesystem(session=session, workspace=workspace, name=CODE_DATASTORE)
    rel = clean_relative(path)
    label = f"azureml://datastores/{CODE_DATASTORE}/paths/{rel}"
    if not rel or not store.exists(rel) or store.is_dir(rel):
        raise NotFoundError(f"{label}: no such file on datastore {CODE_DATASTORE!r}")
    with tempfile.TemporaryDirectory(prefix="studio-component-ds-") as tmp:
        root = Path(tmp)
        file = root / rel
        store.get(rel, file)
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ValidationError(f"{label}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
        folder = posixpath.dirname(rel)
        for _field, local in _local_folders(data if isinstance(data, dict) else {}, label, allow_parent=True):
            source = clean_relative(posixpath.join(folder, local))
            if store.exists(source):  # "code: ." brings the YAML's whole folder
                store.get(source, root / source)
        try:
            return components.create_component_from_file(session=session, workspace=workspace, file=file)
        except ValidationError as exc:
            prefix = f"azureml://datastores/{CODE_DATASTORE}/paths/"
            raise ValidationError(str(exc).replace(str(file), label).replace(f"{tmp}/", prefix)) from None


__all__ = [
    "ComposedInput",
    "ComposedPipeline",
    "ComposedStep",
    "PipelineInputField",
    "PipelineSummary",
    "PipelineView",
    "PortView",
    "StepView",
    "check_composed",
    "component_job_data",
    "component_job_yaml",
    "component_references",
    "component_yaml_files",
    "compose_pipeline_data",
    "compose_pipeline_yaml",
    "get_component_ref",
    "get_pipeline_view",
    "list_pipelines",
    "register_component_from_datastore",
    "register_uploaded_component",
    "submit_component_job",
    "submit_composed",
    "validate_composed",
]
