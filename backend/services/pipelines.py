"""Pipeline jobs: a DAG of steps, validated whole before anything runs (SPEC section 10).

Submission turns the YAML into a *plan*: each step's component (snapshotted), its input bindings
(literal, parent input, another step's output, or data), its outputs, its compute and dependencies.
The plan is the pipeline row's spec; the agent's pipeline controller (``backend.agent.pipeline_controller``)
starts each step whose inputs are ready, as a child job, and reuses identical earlier steps.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from backend.db.models import Job
from backend.errors import ValidationError
from backend.services import jobs
from backend.services.inputs import literal, resolve_data_reference
from backend.services.workspaces import get_workspace_row
from backend.specs import parse_spec, read_yaml
from backend.specs.job import CommandJobSpec, InputSpec, LimitsSpec, OutputSpec, check_expressions
from backend.specs.pipeline import PipelineJobSpec, StepSpec, parse_binding
from backend.statuses import JobStatus

DATA_KINDS = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")


def submit_from_file(*, session: Session, workspace: str, data: dict, file: Path) -> jobs.JobPublic:
    spec = parse_spec(PipelineJobSpec, data, source=str(file))
    try:
        return submit_pipeline(
            session=session, workspace=workspace, spec=spec, base_dir=file.parent.resolve(), source=str(file)
        )
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc}") from None


def submit_pipeline(
    *,
    session: Session,
    workspace: str,
    spec: PipelineJobSpec,
    base_dir: Path | None,
    source: str = "",
    parent_id: int | None = None,
    name: str | None = None,
    parent_inputs: dict | None = None,
) -> jobs.JobPublic:
    """Validate the whole graph and queue the pipeline's parent job."""
    ws = get_workspace_row(session=session, name=workspace)
    pipeline_name = jobs.check_new_name(session, ws.id, workspace, name or spec.name or jobs.generate_name())
    plan = build_plan(
        session=session, workspace=workspace, spec=spec, base_dir=base_dir, resolved_inputs=parent_inputs
    )
    plan["source"] = source
    compute = plan["settings"].get("default_compute") or "serverless"
    row = jobs.insert_job(
        session,
        workspace_id=ws.id,
        name=pipeline_name,
        type_="pipeline",
        spec=plan,
        compute=compute,
        display_name=spec.display_name,
        description=spec.description,
        tags=spec.tags,
        parent_id=parent_id,
        experiment_name=spec.experiment_name or (Path(source).parent.name if source else "Default"),
        state={"steps": {}, "skipped": {}, "outputs": {}},
    )
    return jobs._public(row)


# --- planning -----------------------------------------------------------------------------------------------


def build_plan(
    *,
    session: Session,
    workspace: str,
    spec: PipelineJobSpec,
    base_dir: Path | None,
    resolved_inputs: dict | None = None,
) -> dict[str, Any]:
    settings = spec.settings
    default_compute = (
        jobs.check_compute(session, workspace, settings.default_compute or spec.compute)
        if (settings.default_compute or spec.compute)
        else "serverless"
    )
    if settings.default_datastore:
        from backend.services import datastores

        datastores.get_datastore(
            session=session, workspace=workspace, name=settings.default_datastore.removeprefix("azureml:")
        )
    parent_inputs = (
        resolved_inputs
        if resolved_inputs is not None
        else {
            name: _resolve_parent_input(session, workspace, name, value, base_dir)
            for name, value in spec.inputs.items()
        }
    )
    steps: dict[str, Any] = {}
    for step_name, step in spec.jobs.items():
        steps[step_name] = _plan_step(
            session,
            workspace,
            spec,
            step_name,
            step,
            base_dir,
            parent_inputs,
            default_compute,
            settings.default_environment,
        )
    _check_step_bindings(steps, spec)
    order = _topological_order(steps)
    return {
        "inputs": parent_inputs,
        "outputs": {
            k: (v.model_dump(mode="json", exclude={"schema_"}) if v else None)
            for k, v in spec.outputs.items()
        },
        "settings": {
            **settings.model_dump(exclude={"schema_"}),
            "default_compute": default_compute,
            "default_datastore": (settings.default_datastore or "").removeprefix("azureml:") or None,
        },
        "steps": steps,
        "order": order,
    }


def _resolve_parent_input(session, workspace, name, value, base_dir):
    if value is None:
        return None
    if not isinstance(value, InputSpec):
        return literal(value)
    if value.type in ("string", "integer", "number", "boolean"):
        return literal(value.value if value.value is not None else value.default)
    if value.path is None:
        if value.optional:
            return None
        raise ValidationError(f"inputs.{name}.path: a path is required for a {value.type} input")
    resolved = resolve_data_reference(
        session=session,
        workspace=workspace,
        path=value.path,
        kind=value.type,
        base_dir=base_dir,
        field=f"inputs.{name}.path",
    )
    return {"kind": "data", "type": value.type, "mode": value.mode or "ro_mount", **resolved}


def _plan_step(
    session,
    workspace,
    spec: PipelineJobSpec,
    step_name: str,
    step: StepSpec,
    base_dir,
    parent_inputs: dict,
    default_compute: str,
    default_environment: str | None,
) -> dict[str, Any]:
    from backend.services import components

    field = f"jobs.{step_name}"
    compute = jobs.check_compute(session, workspace, step.compute) if step.compute else default_compute
    if step.type == "pipeline":
        return _plan_nested(session, workspace, spec, step_name, step, base_dir, parent_inputs, compute)
    component_ref = step.trial if step.type == "sweep" and step.trial is not None else step.component
    interface: dict[str, dict] | None = None
    if component_ref is not None:
        comp, content_hash = components.load_for_use(
            session=session,
            workspace=workspace,
            reference=component_ref,
            base_dir=base_dir,
            field=f"{field}.component",
        )
        interface = {k: v.model_dump(mode="json") for k, v in comp.inputs.items()}
        out_types = {k: (v.type if v else "uri_folder") for k, v in comp.outputs.items()}
        body = {
            "command": comp.command,
            "code": comp.code,
            "environment": comp.environment,
            "environment_variables": comp.environment_variables,
            "distribution": comp.distribution,
            "limits": comp.limits or LimitsSpec(),
        }
        deterministic, body_dir = comp.is_deterministic, None
        instance_count = comp.resources.instance_count if comp.resources else 1
    else:
        if not step.command:
            raise ValidationError(f"{field}: a step needs a component or a command")
        environment = step.environment or default_environment
        if environment is None:
            raise ValidationError(f"{field}.environment: an inline command step needs an environment")
        out_types = {
            k: (v.get("type", "uri_folder") if isinstance(v, dict) else "uri_folder")
            for k, v in step.outputs.items()
        }
        try:
            check_expressions(
                step.command, inputs=set(step.inputs), outputs=set(step.outputs), field=f"{field}.command"
            )
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        body = {
            "command": step.command,
            "code": step.code,
            "environment": environment,
            "environment_variables": step.environment_variables,
            "distribution": step.distribution,
            "limits": LimitsSpec(**(step.limits or {})),
        }
        content_hash = hashlib.sha256(
            json.dumps({k: v for k, v in body.items() if k != "limits"}, sort_keys=True, default=str).encode()
        ).hexdigest()[:32]
        deterministic, body_dir = True, base_dir
        instance_count = step.resources.instance_count if step.resources else 1
    template_spec = CommandJobSpec.model_construct(
        **{k: v for k, v in body.items() if v is not None}, inputs={}, outputs={}
    )
    template = jobs.resolve_command(
        session=session, workspace=workspace, spec=template_spec, base_dir=body_dir, name=step_name
    )
    if component_ref is None and step.code and body_dir is not None:
        content_hash = hashlib.sha256((content_hash + (template["code"] or "")).encode()).hexdigest()[:32]
    inputs = {
        name: _plan_input(
            session,
            workspace,
            f"{field}.inputs.{name}",
            value,
            base_dir,
            parent_inputs,
            (interface or {}).get(name),
        )
        for name, value in step.inputs.items()
    }
    if interface is not None:
        unknown = [n for n in step.inputs if n not in interface]
        if unknown and step.type != "sweep":
            raise ValidationError(
                f"{field}.inputs.{unknown[0]}: the component has no input {unknown[0]!r} "
                f"(inputs: {', '.join(interface) or 'none'})"
            )
        swept = set((step.search_space or {}).keys())
        for name, port in interface.items():
            if name in inputs or name in swept:
                continue
            if port.get("default") is not None:
                inputs[name] = _default_input(port)
            elif not port.get("optional"):
                raise ValidationError(
                    f"{field}.inputs.{name}: the component needs this input (type {port['type']})"
                )
    outputs = {}
    for name, value in step.outputs.items():
        if interface is not None and name not in out_types:
            raise ValidationError(
                f"{field}.outputs.{name}: the component has no output {name!r} "
                f"(outputs: {', '.join(out_types) or 'none'})"
            )
        outputs[name] = _plan_output(
            f"{field}.outputs.{name}", value, out_types.get(name, "uri_folder"), spec
        )
    for name, kind in out_types.items():
        outputs.setdefault(
            name,
            {
                "type": kind,
                "mode": "rw_mount",
                "parent_output": None,
                "path": None,
                "asset_name": None,
                "asset_version": None,
            },
        )
    planned = {
        "kind": step.type,
        "display_name": step.display_name or step_name,
        "compute": compute,
        "template": template,
        "content_hash": content_hash,
        "deterministic": deterministic,
        "inputs": inputs,
        "outputs": outputs,
        "instance_count": instance_count,
        "deps": sorted({b["step"] for b in inputs.values() if b and b.get("bind") == "step_output"}),
        "tags": step.tags,
        "interface": interface,
    }
    if step.type == "sweep":
        if not step.search_space or not step.objective:
            raise ValidationError(f"{field}: a sweep step needs search_space and objective")
        from backend.sweep.policies import make_policy
        from backend.sweep.space import parse_space

        algorithm = (
            step.sampling_algorithm
            if isinstance(step.sampling_algorithm, str)
            else ((step.sampling_algorithm or {}).get("type", "random"))
        )
        parse_space(step.search_space, algorithm=algorithm, field=f"{field}.search_space")
        make_policy(step.early_termination)
        planned["sweep"] = {
            "sampling_algorithm": step.sampling_algorithm or "random",
            "search_space": step.search_space,
            "objective": step.objective,
            "limits": step.limits or {},
            "early_termination": step.early_termination,
            "trial": component_ref if isinstance(component_ref, str) else None,
        }
        if component_ref is None or not isinstance(component_ref, str):
            raise ValidationError(
                f"{field}.trial: a sweep step names its trial component (a file or name:version)"
            )
        planned["base_dir"] = str(base_dir) if base_dir else None
    return planned


def _default_input(port: dict) -> dict:
    if port["type"] in DATA_KINDS:
        return {
            "bind": "data",
            "value": {
                "kind": "data",
                "type": port["type"],
                "mode": "ro_mount",
                "uri": port["default"],
                "asset": None,
            },
        }
    return {"bind": "literal", "value": port["default"]}


def _plan_input(session, workspace, field, value, base_dir, parent_inputs, port: dict | None) -> dict | None:
    from backend.specs.component import ComponentInput, check_value

    port_is_data = port is not None and port["type"] in DATA_KINDS
    if isinstance(value, dict) and "path" in value and parse_binding(value["path"]):
        value = value["path"]  # {type: uri_folder, path: ${{parent.inputs.x}}}
    binding = parse_binding(value)
    if binding:
        if binding[0] == "inputs":
            name = binding[1]
            if name not in parent_inputs:
                raise ValidationError(
                    f"{field}: '{value}' names pipeline input {name!r}, which is not declared "
                    f"(inputs: {', '.join(parent_inputs) or 'none'})"
                )
            given = parent_inputs[name]
            if port is not None and given is not None:
                if port_is_data and given["kind"] == "literal":
                    raise ValidationError(
                        f"{field}: type mismatch: the component input is {port['type']}, "
                        f"but pipeline input {name!r} is a literal value"
                    )
                if not port_is_data and given["kind"] == "data":
                    raise ValidationError(
                        f"{field}: type mismatch: the component input is {port['type']}, "
                        f"but pipeline input {name!r} is {given['type']} data"
                    )
                if not port_is_data:
                    check_value(
                        field.rsplit(".", 1)[-1],
                        ComponentInput.model_validate(port),
                        given["value"],
                        field=field.rsplit(".", 1)[0],
                    )
            return {"bind": "parent_input", "name": name}
        if binding[0] == "jobs":
            _, step, output = binding
            if not output:
                raise ValidationError(
                    f"{field}: '{value}' must name an output: ${{{{parent.jobs.<step>.outputs.<name>}}}}"
                )
            if port is not None and not port_is_data:
                raise ValidationError(
                    f"{field}: type mismatch: the component input is {port['type']}, "
                    f"but step {step!r}'s output {output!r} is data"
                )
            return {
                "bind": "step_output",
                "step": step,
                "output": output,
                "expect": port["type"] if port else None,
            }
        raise ValidationError(
            f"{field}: an input cannot bind to '{value}' (use parent.inputs or parent.jobs)"
        )
    if isinstance(value, dict):
        spec = InputSpec.model_validate(value)
        if spec.type in ("string", "integer", "number", "boolean"):
            return {"bind": "literal", "value": spec.value if spec.value is not None else spec.default}
        if spec.path is None:
            return None
        if port is not None and not port_is_data:
            raise ValidationError(
                f"{field}: type mismatch: the component input is {port['type']}, got {spec.type} data"
            )
        resolved = resolve_data_reference(
            session=session,
            workspace=workspace,
            path=spec.path,
            kind=spec.type,
            base_dir=base_dir,
            field=f"{field}.path",
        )
        return {
            "bind": "data",
            "value": {"kind": "data", "type": spec.type, "mode": spec.mode or "ro_mount", **resolved},
        }
    if value is None:
        return None
    if port_is_data:
        resolved = resolve_data_reference(
            session=session,
            workspace=workspace,
            path=str(value),
            kind=port["type"],
            base_dir=base_dir,
            field=field,
        )
        return {
            "bind": "data",
            "value": {"kind": "data", "type": port["type"], "mode": "ro_mount", **resolved},
        }
    if port is not None:
        value = check_value(
            field.rsplit(".", 1)[-1],
            ComponentInput.model_validate(port),
            value,
            field=field.rsplit(".", 1)[0],
        )
    return {"bind": "literal", "value": value}


def _plan_output(field, value, kind, spec: PipelineJobSpec) -> dict:
    base = {
        "type": kind,
        "mode": "rw_mount",
        "parent_output": None,
        "path": None,
        "asset_name": None,
        "asset_version": None,
    }
    if isinstance(value, dict) and isinstance(value.get("path"), str) and parse_binding(value["path"]):
        value = value["path"]
    binding = parse_binding(value)
    if binding:
        if binding[0] != "outputs":
            raise ValidationError(
                f"{field}: an output can only bind to ${{{{parent.outputs.<name>}}}} (got '{value}')"
            )
        name = binding[1]
        if name not in spec.outputs:
            raise ValidationError(
                f"{field}: '{value}' names pipeline output {name!r}, which is not declared "
                f"(outputs: {', '.join(spec.outputs) or 'none'})"
            )
        parent = spec.outputs[name]
        return {
            **base,
            "parent_output": name,
            "path": parent.path if parent else None,
            "mode": (parent.mode if parent and parent.mode else "rw_mount"),
        }
    if isinstance(value, dict):
        out = OutputSpec.model_validate(value)
        return {
            **base,
            "type": out.type or kind,
            "mode": out.mode or "rw_mount",
            "path": out.path,
            "asset_name": out.name,
            "asset_version": out.version,
        }
    if value is None:
        return base
    raise ValidationError(
        f"{field}: expected an output mapping or ${{{{parent.outputs.<name>}}}} (got {value!r})"
    )


def _plan_nested(
    session, workspace, spec, step_name, step: StepSpec, base_dir, parent_inputs, compute
) -> dict:
    field = f"jobs.{step_name}"
    if not isinstance(step.component, str):
        raise ValidationError(f"{field}.component: a pipeline step names a pipeline component file")
    path = (
        (base_dir / step.component)
        if base_dir and not Path(step.component).is_absolute()
        else Path(step.component)
    )
    data = read_yaml(path)
    sub = parse_spec(PipelineJobSpec, data, source=str(path))
    inputs = {
        name: _plan_input(session, workspace, f"{field}.inputs.{name}", value, base_dir, parent_inputs, None)
        for name, value in step.inputs.items()
    }
    unknown = [n for n in inputs if n not in sub.inputs]
    if unknown:
        raise ValidationError(
            f"{field}.inputs.{unknown[0]}: the pipeline component has no input {unknown[0]!r}"
        )
    # Validate the inner graph now, with placeholder data for inputs bound to other steps.
    placeholder = {n: (v if v is not None else None) for n, v in sub.inputs.items()}
    build_plan(
        session=session,
        workspace=workspace,
        spec=sub.model_copy(update={"inputs": placeholder}),
        base_dir=path.parent.resolve(),
    )
    outputs = {
        name: _plan_output(f"{field}.outputs.{name}", value, "uri_folder", spec)
        for name, value in step.outputs.items()
    }
    for name in sub.outputs:
        outputs.setdefault(
            name,
            {
                "type": "uri_folder",
                "mode": "rw_mount",
                "parent_output": None,
                "path": None,
                "asset_name": None,
                "asset_version": None,
            },
        )
    return {
        "kind": "pipeline",
        "display_name": step.display_name or step_name,
        "compute": compute,
        "component_file": str(path.resolve()),
        "inputs": inputs,
        "outputs": outputs,
        "deps": sorted({b["step"] for b in inputs.values() if b and b.get("bind") == "step_output"}),
        "tags": step.tags,
        "deterministic": False,
    }


def _check_step_bindings(steps: dict[str, Any], spec: PipelineJobSpec) -> None:
    for step_name, plan in steps.items():
        for input_name, binding in plan["inputs"].items():
            if not binding or binding.get("bind") != "step_output":
                continue
            field = f"jobs.{step_name}.inputs.{input_name}"
            source = binding["step"]
            if source not in steps:
                raise ValidationError(
                    f"{field}: names step {source!r}, which does not exist (steps: {', '.join(steps)})"
                )
            outputs = steps[source]["outputs"]
            if binding["output"] not in outputs:
                raise ValidationError(
                    f"{field}: step {source!r} has no output {binding['output']!r} "
                    f"(outputs: {', '.join(outputs) or 'none'})"
                )
            expect, got = binding.get("expect"), outputs[binding["output"]]["type"]
            if expect and (expect == "uri_file") != (got == "uri_file"):
                raise ValidationError(
                    f"{field}: type mismatch: the input is {expect}, but step {source!r}'s "
                    f"output {binding['output']!r} is {got}"
                )


def _topological_order(steps: dict[str, Any]) -> list[str]:
    order, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = [*path[path.index(name) :], name]
            raise ValidationError(f"jobs: the steps form a cycle: {' -> '.join(cycle)}")
        state[name] = "visiting"
        for dep in steps[name]["deps"]:
            visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in steps:
        visit(name, [])
    return order


# --- running (called by the controller) ------------------------------------------------------------------------


def step_outputs(session: Session, child: Job) -> dict[str, dict[str, Any]]:
    """What a finished step produced: {output: {type, uri}} (a sweep's are its best trial's)."""
    if child.type == "command":
        return {k: {"type": v["type"], "uri": v["uri"]} for k, v in (child.spec.get("outputs") or {}).items()}
    if child.type == "sweep":
        best = (child.state or {}).get("best_trial")
        if not best:
            return {}
        trial = session.exec(
            select(Job).where(Job.workspace_id == child.workspace_id, Job.name == best)
        ).first()
        return step_outputs(session, trial) if trial else {}
    return dict((child.state or {}).get("outputs") or {})


def bind_inputs(session: Session, pipeline: Job, plan: dict, children: dict[str, Job]) -> dict[str, Any]:
    out = {}
    for name, binding in plan["inputs"].items():
        if binding is None:
            out[name] = None
        elif binding["bind"] == "literal":
            out[name] = literal(binding["value"])
        elif binding["bind"] == "data":
            out[name] = binding["value"]
        elif binding["bind"] == "parent_input":
            out[name] = pipeline.spec["inputs"].get(binding["name"])
        else:
            produced = step_outputs(session, children[binding["step"]]).get(binding["output"])
            if produced is None:
                raise ValidationError(
                    f"step {binding['step']!r} did not produce output {binding['output']!r}"
                )
            out[name] = {
                "kind": "data",
                "type": binding.get("expect") or produced["type"],
                "mode": "ro_mount",
                "uri": produced["uri"],
                "asset": None,
            }
    return out


def reuse_key(plan: dict, inputs: dict[str, Any], workspace: str, session: Session) -> str:
    """Equal keys mean equal component content, input data content and literal values."""
    from backend.services.data_assets import content_hash, local_copy

    described = {}
    for name, value in sorted(inputs.items()):
        if value is None:
            described[name] = None
        elif value["kind"] == "literal":
            described[name] = ["literal", value["value"]]
        else:
            try:
                described[name] = [
                    "data",
                    content_hash(local_copy(session=session, workspace=workspace, uri=value["uri"])),
                ]
            except Exception:
                described[name] = ["data", value["uri"]]
    outputs = {k: [v["type"], v["mode"], v.get("path")] for k, v in sorted(plan["outputs"].items())}
    text = json.dumps(
        {
            "component": plan["content_hash"],
            "env": plan["template"]["environment"]["reference"],
            "inputs": described,
            "outputs": outputs,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def find_reusable(session: Session, workspace_id: int, key: str) -> Job | None:
    rows = session.exec(
        select(Job)
        .where(Job.workspace_id == workspace_id, Job.status == JobStatus.COMPLETED, Job.type == "command")
        .order_by(col(Job.id).desc())
    ).all()
    for row in rows:
        if (row.state or {}).get("reuse_key") == key and not (row.state or {}).get("reused_from"):
            return row
    return None
