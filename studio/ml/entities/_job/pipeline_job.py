"""``PipelineJob``: steps bound to each other and to the pipeline's inputs and outputs."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from studio.ml.entities._base import AttrDict, _plain, _validation_error
from studio.ml.entities._inputs_outputs import Input, Output, _port_type
from studio.ml.entities._job._pipeline_builder import PipelineInput, _is_binding, _PipelineBuilder
from studio.ml.entities._job.command_job import Command
from studio.ml.entities._job.job import Job, _KeywordJob
from studio.ml.entities._job.sweep.search_space import SweepDistribution
from studio.ml.entities._job.sweep.sweep_job import SweepJob


class PipelineJob(_KeywordJob, fields="settings jobs identity"):
    """A pipeline: steps (``jobs``) bound to each other and to the pipeline's ``inputs`` and ``outputs``.

    Built by a ``@pipeline`` function (steps are job entities) or read by ``load_job`` (steps as written).
    """

    type = "pipeline"

    _YAML_ENTRIES = ("jobs",)

    _builder: _PipelineBuilder | None = None  # whose parameters are this pipeline's inputs
    _output_sources: Mapping[str, Output] = MappingProxyType({})  # pipeline output -> the step output for it
    _default_experiment: str | None = None

    @staticmethod
    def _with_defaults(fields: dict[str, Any]) -> dict[str, Any]:
        for key in ("inputs", "outputs", "settings", "jobs"):
            fields[key] = AttrDict(fields.get(key) or {})
        return fields

    def to_yaml_dict(self) -> dict[str, Any]:
        """The cloud's pipeline YAML mapping, as ``create_or_update`` submits it."""
        data = {"type": "pipeline", **self._plain_fields(skip=("inputs", "outputs", "settings", "jobs"))}
        for key in ("inputs", "outputs"):
            if self._fields.get(key):
                data[key] = {name: _plain(value) for name, value in self._fields[key].items()}
        settings = {k: _plain(v) for k, v in (self.settings or {}).items() if v is not None}
        if settings:
            data["settings"] = settings
        context = _StepContext(self)
        data["jobs"] = {
            step: context.render(step, node) if isinstance(node, Job) else _plain(node)
            for step, node in (self.jobs or {}).items()
        }
        return data

    _to_dict = to_yaml_dict


class _StepContext:
    """Renders a pipeline's step entities as YAML steps, turning object references into bindings."""

    def __init__(self, pipeline: PipelineJob):
        self.pipeline = pipeline
        self.source = pipeline._source
        self.owner: dict[int, tuple[str, str]] = {}  # id(step output) -> (step, output name)
        for step, node in (pipeline.jobs or {}).items():
            if isinstance(node, Job):
                for port, out in (node.outputs or {}).items():
                    if isinstance(out, Output):
                        self.owner.setdefault(id(out), (step, port))
        self.bound: dict[int, str] = {}  # id(step output) -> the pipeline output it fills
        for name, out in pipeline._output_sources.items():
            if name not in (pipeline.outputs or {}):
                continue
            if id(out) not in self.owner:
                raise _validation_error(
                    f"{self.source}: outputs.{name}: the step output returned for it is not part of this pipeline"
                )
            if id(out) in self.bound:
                raise _validation_error(
                    f"{self.source}: outputs.{self.bound[id(out)]} and outputs.{name} are the same step output; "
                    "return each step output once"
                )
            self.bound[id(out)] = name

    def bind(self, value: Any, where: str) -> Any:

        if isinstance(value, PipelineInput):
            if value._owner is not self.pipeline._builder:
                raise _validation_error(
                    f"{self.source}: {where}: {value} is a parameter of another @pipeline function"
                )
            return str(value)
        if isinstance(value, Output):
            if id(value) not in self.owner:
                raise _validation_error(
                    f"{self.source}: {where}: takes the output of a step that is not part of this pipeline "
                    "(make that step inside the @pipeline function)"
                )
            step, port = self.owner[id(value)]
            return f"${{{{parent.jobs.{step}.outputs.{port}}}}}"
        if isinstance(value, Input) and _is_binding(value.path):
            return {**value._to_dict(), "path": self.bind(value.path, where)}
        if isinstance(value, SweepDistribution):
            raise _validation_error(
                f"{self.source}: {where}: a search-space value ({value.type}) needs a sweep step: "
                "call .sweep(...) on the step"
            )
        return _plain(value)

    def outputs(self, node: Job, step: str, *, every: bool) -> dict[str, Any]:
        """A step's outputs: bindings to pipeline outputs, and those given settings (``every``: all)."""
        declared = {}
        component = getattr(node, "_component", None)
        trial = getattr(node, "trial", None)
        component = component or getattr(trial, "_component", None)
        if component is not None:
            declared = {name: _port_type(port) for name, port in (component.outputs or {}).items()}
        rendered: dict[str, Any] = {}
        for port, out in (node.outputs or {}).items():
            if isinstance(out, Output) and id(out) in self.bound:
                rendered[port] = f"${{{{parent.outputs.{self.bound[id(out)]}}}}}"
            elif isinstance(out, Output):
                body = out._to_dict()
                if every or set(body) - {"type"} or body.get("type") != declared.get(port, "uri_folder"):
                    rendered[port] = body
            elif out is not None or every:
                rendered[port] = _plain(out)
        return rendered

    def render(self, step: str, node: Job) -> dict[str, Any]:

        where = f"jobs.{step}"
        out: dict[str, Any] = {}
        if isinstance(node, SweepJob):
            trial = node.trial
            reference = trial._component._reference() if getattr(trial, "_component", None) else None
            if not isinstance(reference, str):
                raise _validation_error(
                    f"{self.source}: {where}: a sweep step's trial is a component "
                    "(load_component(...)(...).sweep(...)) loaded from an unchanged file or registered"
                )
            fixed, space = node._split_inputs()
            out.update(type="sweep", trial=reference)
            self._common(node, out)
            out["inputs"] = {
                k: self.bind(v, f"{where}.inputs.{k}") for k, v in fixed.items() if v is not None
            }
            out["outputs"] = self.outputs(node, step, every=False)
            out["sampling_algorithm"] = _plain(node.sampling_algorithm)
            out["search_space"] = {k: _plain(v) for k, v in space.items()}
            for key in ("objective", "limits", "early_termination"):
                if node._fields.get(key) is not None:
                    out[key] = _plain(node._fields[key])
        elif isinstance(node, Command) and node._component is not None:
            out.update(type="command", component=node._component._reference())
            self._common(node, out)
            out["inputs"] = {
                k: self.bind(v, f"{where}.inputs.{k}")
                for k, v in (node.inputs or {}).items()
                if v is not None
            }
            out["outputs"] = self.outputs(node, step, every=False)
            self._settings(node, out)
        elif isinstance(node, Command):
            body = node.to_yaml_dict()
            out.update(type="command", command=body.get("command"))
            if node.code:
                code = str(node.code)
                local = not (code.startswith("azureml") or "://" in code)
                out["code"] = str((node._base_path / code).resolve()) if local else code
            out["environment"] = body.get("environment")
            self._common(node, out)
            out["inputs"] = {k: self.bind(v, f"{where}.inputs.{k}") for k, v in (node.inputs or {}).items()}
            out["outputs"] = self.outputs(node, step, every=True)
            self._settings(node, out)
        else:
            raise _validation_error(f"{self.source}: {where}: a {node.type} job cannot be a pipeline step")
        return {k: v for k, v in out.items() if v not in (None, {}) or k == "type"}

    @staticmethod
    def _common(node: Job, out: dict[str, Any]) -> None:
        for key in ("display_name", "description", "experiment_name", "tags", "compute"):
            value = node._fields.get(key)
            if value not in (None, {}, ""):
                out[key] = _plain(value)

    @staticmethod
    def _settings(node: Job, out: dict[str, Any]) -> None:
        for key in ("environment_variables", "resources", "limits", "distribution"):
            value = _plain(node._fields.get(key))
            if value:
                out[key] = value


__all__ = ["PipelineJob"]
