"""Pipeline plans: a pipeline job's YAML turned into the plan its controller runs, checked whole before
anything runs (SPEC section 10): each step's component (snapshotted), its input bindings (literal, parent
input, another step's output, or data), its outputs, compute and dependencies; cycles, dangling bindings,
inputs against their components, components, registered assets, the form of every URI and the datastores
it names. Whether data on a datastore path is *there* is left to the step's start
(``pipelines.check_step_inputs``): such values carry ``"check_at_start": True``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError
from backend.services import jobs
from backend.services.inputs import literal, resolve_data_reference
from backend.services.pipeline_graph import check_step_bindings, topological_order
from backend.specs import parse_spec, read_yaml
from backend.specs.job import (
    CommandJobSpec,
    InputSpec,
    LimitsSpec,
    OutputSpec,
    ResourcesSpec,
    check_expressions,
)
from backend.specs.pipeline import PipelineJobSpec, StepSpec, parse_binding
from backend.specs.sweep import SweepJobSpec
from backend.storage import uris

DATA_KINDS = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")


def build_plan(
    *,
    session: Session,
    workspace: str,
    spec: PipelineJobSpec,
    base_dir: Path | None,
    resolved_inputs: dict | None = None,
    inherited_compute: str | None = None,
    _components: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The pipeline's plan (its row's spec); raises ``ValidationError`` for anything wrong with the graph.

    ``resolved_inputs`` replaces the spec's own inputs (a nested pipeline's, bound by its parent step);
    ``inherited_compute`` is the parent step's compute, used when the spec names none."""
    settings = spec.settings
    named_compute = settings.default_compute or spec.compute
    default_compute = (
        jobs.check_compute(session, workspace, named_compute)
        if named_compute
        else (inherited_compute or "serverless")
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
            _components,
        )
    check_step_bindings(steps)
    order = topological_order(steps)
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


def _data_value(session, workspace, path: str, kind: str, mode: str | None, base_dir, field: str) -> dict:
    """A data input as submission resolves it: the reference parsed, a registered asset looked up, local
    data uploaded, the datastore known; whether the data is there is asked when the step starts."""
    resolved = resolve_data_reference(
        session=session,
        workspace=workspace,
        path=path,
        kind=kind,
        base_dir=base_dir,
        field=field,
        check_exists=False,
    )
    return {"kind": "data", "type": kind, "mode": mode or "ro_mount", **resolved, "check_at_start": True}


def _has_value(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, InputSpec):
        return True
    if value.type in ("string", "integer", "number", "boolean"):
        return value.value is not None or value.default is not None
    return value.path is not None


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
    return _data_value(
        session, workspace, value.path, value.type, value.mode, base_dir, f"inputs.{name}.path"
    )


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
    components_seen: tuple[str, ...] = (),
) -> dict[str, Any]:
    from backend.services import components

    field = f"jobs.{step_name}"
    compute = jobs.check_compute(session, workspace, step.compute) if step.compute else default_compute
    if step.type == "pipeline":
        return _plan_nested(
            session, workspace, spec, step_name, step, base_dir, parent_inputs, compute, components_seen
        )
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
        # As in the cloud, what the step itself sets overrides the component's own settings.
        if step.environment_variables:
            body["environment_variables"] = {
                **(comp.environment_variables or {}),
                **step.environment_variables,
            }
        if step.limits and step.type != "sweep":  # a sweep step's limits are the sweep's own
            body["limits"] = LimitsSpec(**{**body["limits"].model_dump(exclude_none=True), **step.limits})
        deterministic, body_dir = comp.is_deterministic, None
        instance_count = (step.resources or comp.resources or ResourcesSpec()).instance_count
        pinned = f"azureml:{comp.name}:{comp.version}" if comp.name and comp.version else None
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
        pinned = None
    jobs.check_compute(session, workspace, compute, instance_count, field=f"{field}.resources.instance_count")
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
                inputs[name] = _default_input(session, workspace, port, f"{field}.inputs.{name}")
            elif not port.get("optional"):
                raise ValidationError(
                    f"{field}.inputs.{name}: the component needs this input (type {port['type']})"
                )
    if interface is not None:
        for name in step.outputs:
            if name not in out_types:
                raise ValidationError(
                    f"{field}.outputs.{name}: the component has no output {name!r} "
                    f"(outputs: {', '.join(out_types) or 'none'})"
                )
    outputs = _plan_outputs(session, workspace, field, step, out_types, spec)
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
        if component_ref is None or not isinstance(component_ref, str):
            raise ValidationError(
                f"{field}.trial: a sweep step names its trial component (a file or name:version)"
            )
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
            # The version registered now, so the sweep that starts later runs what was validated.
            "trial": pinned or component_ref,
        }
        planned["base_dir"] = str(base_dir) if base_dir else None
        sweep_spec(planned, {}, experiment_name=None, field=field)  # limits, objective, ... checked now
    return planned


def _default_input(session, workspace, port: dict, field: str) -> dict:
    if port["type"] in DATA_KINDS:
        value = _data_value(
            session,
            workspace,
            str(port["default"]),
            port["type"],
            None,
            None,
            f"{field} (the component's default)",
        )
        return {"bind": "data", "value": value}
    return {"bind": "literal", "value": port["default"]}


def _check_output_path(session, workspace, path: str, field: str) -> None:
    """An output's ``path`` is a location on a datastore of this workspace (written when the step runs)."""
    from backend.services import datastores

    ref = uris.parse_reference(path, field=field)
    if not isinstance(ref, uris.DatastorePath):
        raise ValidationError(
            f"{field}: {path!r} must be an azureml://datastores/<datastore>/paths/<path> location"
        )
    try:
        datastores.get_datastore(session=session, workspace=workspace, name=ref.datastore)
    except NotFoundError as exc:
        raise ValidationError(f"{field}: {path!r}: {exc}") from None


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
        return {
            "bind": "data",
            "value": _data_value(
                session, workspace, spec.path, spec.type, spec.mode, base_dir, f"{field}.path"
            ),
        }
    if value is None:
        return None
    if port_is_data:
        return {
            "bind": "data",
            "value": _data_value(session, workspace, str(value), port["type"], None, base_dir, field),
        }
    if port is not None:
        value = check_value(
            field.rsplit(".", 1)[-1],
            ComponentInput.model_validate(port),
            value,
            field=field.rsplit(".", 1)[0],
        )
    return {"bind": "literal", "value": value}


def _plan_outputs(session, workspace, field: str, step: StepSpec, out_types: dict, spec) -> dict[str, dict]:
    """The step's outputs: those it sets (an output ``path`` checked now), then the others by default."""
    outputs = {
        name: _plan_output(f"{field}.outputs.{name}", value, out_types.get(name, "uri_folder"), spec)
        for name, value in step.outputs.items()
    }
    for name, out in outputs.items():
        if out["path"]:
            _check_output_path(session, workspace, out["path"], f"{field}.outputs.{name}.path")
    default = {
        "mode": "rw_mount",
        "parent_output": None,
        "path": None,
        "asset_name": None,
        "asset_version": None,
    }
    for name, kind in out_types.items():
        outputs.setdefault(name, {"type": kind, **default})
    return outputs


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
    session, workspace, spec, step_name, step: StepSpec, base_dir, parent_inputs, compute, seen
) -> dict:
    """A pipeline step: the pipeline component's own plan is made (and checked) now, and kept, so the
    nested pipeline that starts later runs what was validated; its inputs are bound when it starts."""
    field = f"jobs.{step_name}"
    if not isinstance(step.component, str):
        raise ValidationError(f"{field}.component: a pipeline step names a pipeline component file")
    path = (
        (base_dir / step.component)
        if base_dir and not Path(step.component).is_absolute()
        else Path(step.component)
    )
    if not path.is_file():
        raise ValidationError(f"{field}.component: pipeline component file {str(path)!r} does not exist")
    path = path.resolve()
    if str(path) in seen:
        chain = " -> ".join([*seen[seen.index(str(path)) :], str(path)])
        raise ValidationError(f"{field}.component: the pipeline components include each other: {chain}")
    sub = parse_spec(PipelineJobSpec, read_yaml(path), source=str(path))
    inputs = {
        name: _plan_input(session, workspace, f"{field}.inputs.{name}", value, base_dir, parent_inputs, None)
        for name, value in step.inputs.items()
    }
    unknown = [n for n in inputs if n not in sub.inputs]
    if unknown:
        raise ValidationError(
            f"{field}.inputs.{unknown[0]}: the pipeline component has no input {unknown[0]!r} "
            f"(inputs: {', '.join(sub.inputs) or 'none'})"
        )
    unknown = [n for n in step.outputs if n not in sub.outputs]
    if unknown:
        raise ValidationError(
            f"{field}.outputs.{unknown[0]}: the pipeline component has no output {unknown[0]!r} "
            f"(outputs: {', '.join(sub.outputs) or 'none'})"
        )
    # What the inner steps see as their parent's inputs, as far as submission knows: the kind of what
    # the step binds (for type checks), or the component's own value for an input it leaves unbound.
    known: dict[str, Any] = {}
    for name, declared in sub.inputs.items():
        binding = inputs.get(name)
        if binding is None and _has_value(declared):
            try:
                value = _resolve_parent_input(session, workspace, name, declared, path.parent)
            except ValidationError as exc:
                raise ValidationError(f"{field}.component ({path}): {exc}") from None
            inputs[name] = (
                {"bind": "data", "value": value}
                if value["kind"] == "data"
                else {"bind": "literal", "value": value["value"]}
            )
            binding = inputs[name]
        elif binding is None and not (isinstance(declared, InputSpec) and declared.optional):
            kind = declared.type if isinstance(declared, InputSpec) else "a value"
            raise ValidationError(f"{field}.inputs.{name}: the pipeline component needs this input ({kind})")
        known[name] = _known_value(binding, parent_inputs, declared)
    try:
        plan = build_plan(
            session=session,
            workspace=workspace,
            spec=sub,
            base_dir=path.parent,
            resolved_inputs=known,
            inherited_compute=compute,
            _components=(*seen, str(path)),
        )
    except ValidationError as exc:
        raise ValidationError(f"{field}.component ({path}): {exc}") from None
    plan["source"] = str(path)
    out_types = {k: (v.type if v and v.type else "uri_folder") for k, v in sub.outputs.items()}
    outputs = _plan_outputs(session, workspace, field, step, out_types, spec)
    return {
        "kind": "pipeline",
        "display_name": step.display_name or step_name,
        "compute": plan["settings"]["default_compute"],
        "component_file": str(path),
        "inputs": inputs,
        "outputs": outputs,
        "deps": sorted({b["step"] for b in inputs.values() if b and b.get("bind") == "step_output"}),
        "tags": step.tags,
        "deterministic": False,
        "pipeline": {
            "plan": plan,
            "description": sub.description,
            "tags": dict(sub.tags),
        },
    }


def _known_value(binding: dict | None, parent_inputs: dict, declared: Any) -> dict | None:
    if binding is None:
        return None
    if binding["bind"] == "literal":
        return literal(binding["value"])
    if binding["bind"] == "data":
        return binding["value"]
    if binding["bind"] == "parent_input":
        return parent_inputs.get(binding["name"])
    kind = declared.type if isinstance(declared, InputSpec) and declared.type in DATA_KINDS else "uri_folder"
    return {"kind": "data", "type": kind, "mode": "ro_mount", "uri": None, "asset": None}


def sweep_spec(
    plan: dict, inputs: dict[str, Any], *, experiment_name: str | None, field: str = "", tags=None
) -> SweepJobSpec:
    """The sweep job a sweep step submits (validated at submission with no inputs, then at its start)."""
    from backend.specs.job import InputSpec as Input

    sweep = plan["sweep"]
    outputs = {
        k: ({"type": v["type"], "path": v["path"]} if v.get("path") else {"type": v["type"]})
        for k, v in plan["outputs"].items()
    }
    spec = parse_spec(
        SweepJobSpec,
        {
            "type": "sweep",
            "trial": sweep["trial"],
            "inputs": {},
            "outputs": outputs,
            "compute": plan["compute"],
            "sampling_algorithm": sweep["sampling_algorithm"],
            "search_space": sweep["search_space"],
            "objective": sweep["objective"],
            "limits": sweep["limits"],
            "early_termination": sweep["early_termination"],
            "display_name": plan["display_name"],
            "experiment_name": experiment_name,
            "tags": dict(tags or {}),
        },
        source=field or "sweep step",
    )
    spec.inputs = {
        key: (
            value["value"]
            if value["kind"] == "literal"
            else Input(type=value["type"], path=value["uri"], mode=value.get("mode"))
        )
        for key, value in inputs.items()
        if value is not None
    }
    return spec
