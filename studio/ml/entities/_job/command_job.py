"""``Command``: a command job, and a component's step (what calling a component makes)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from studio.ml.entities._base import AttrDict, _plain, _validation_error
from studio.ml.entities._inputs_outputs import DATA_TYPES, _check_input_names, _port_get, _port_type
from studio.ml.entities._job._pipeline_builder import _is_binding, _register_node, _replace_node
from studio.ml.entities._job.job import Job
from studio.ml.entities._job.sweep.sweep_job import TRIAL_FIELDS, make_sweep, swept_command


class Command(
    Job,
    fields=(
        "command code environment environment_variables resources limits distribution identity queue_settings"
    ),
):
    """A command job (what ``command(...)`` builds and ``load_job`` reads from a ``type: command`` file)."""

    type = "command"

    _YAML_SECTIONS = ("resources", "limits")

    # The ``CommandComponent`` (entities._component) when the command is a component's step
    # (``component(inputs...)``): it runs that component.
    _component: Any = None

    def __call__(self, *args: Any, **inputs: Any) -> Command:
        """A new command with these input values (literals, ``Input``, search-space distributions, or in a
        pipeline another step's ``.outputs.<name>``); the other inputs, outputs and settings are copied."""
        if args:
            raise _validation_error(f"{self._source}: give input values by name (input=value)")
        declared = self._component.inputs if self._component is not None else self.inputs
        _check_input_names(self._source, inputs, declared or {})
        node = self._copy()
        node.name = None  # as in the cloud: a copy is a new job (or step), not the same one
        node.inputs.update(inputs)
        _register_node(node)
        return node

    def _copy(self) -> Command:
        fields: dict[str, Any] = {}
        for key, value in self._fields.items():
            if key == "inputs":
                # Bindings (pipeline inputs, other steps' outputs) stay the same objects: they name their source.
                fields[key] = AttrDict(
                    {k: v if _is_binding(v) else copy.deepcopy(v) for k, v in (value or {}).items()}
                )
            else:
                fields[key] = copy.deepcopy(value)
        node = type(self)(fields, base_path=self._base_path, source=self._source)
        node._component = self._component
        return node

    def sweep(
        self,
        *,
        primary_metric: str,
        goal: str,
        sampling_algorithm: Any = "random",
        compute: str | None = None,
        max_concurrent_trials: int | None = None,
        max_total_trials: int | None = None,
        timeout: int | None = None,
        trial_timeout: int | None = None,
        early_termination_policy: Any = None,
        search_space: Mapping[str, Any] | None = None,
        identity: Any = None,
        queue_settings: Any = None,
        job_tier: str | None = None,  # the cloud's; no tiers here
        priority: str | None = None,  # the cloud's; no priorities here
    ) -> Any:
        """A ``SweepJob`` over this command: inputs whose value is a distribution are the search space.

        ``sampling_algorithm``: ``"random"``, ``"grid"``, ``"bayesian"`` or a ``*SamplingAlgorithm``;
        ``goal``: ``"maximize"`` / ``"minimize"`` (any case). In a pipeline the sweep replaces this step.
        """
        job = make_sweep(
            self,
            primary_metric=primary_metric,
            goal=goal,
            sampling_algorithm=sampling_algorithm,
            compute=compute,
            max_concurrent_trials=max_concurrent_trials,
            max_total_trials=max_total_trials,
            timeout=timeout,
            trial_timeout=trial_timeout,
            early_termination_policy=early_termination_policy,
            search_space=search_space,
            identity=identity,
            queue_settings=queue_settings,
        )
        _replace_node(self, job)
        return job

    def to_yaml_dict(self) -> dict[str, Any]:
        if self._component is None:
            return super().to_yaml_dict()
        return self._component_job_dict()

    _to_dict = to_yaml_dict

    def _as_trial(self, swept: set[str]) -> Any:
        if self._component is not None:
            return self._component._reference()
        body = self.to_yaml_dict()
        out = {key: body[key] for key in TRIAL_FIELDS if key in body}
        if isinstance(out.get("command"), str):
            out["command"] = swept_command(out["command"], swept)
        return out

    def _timeout_as_trial(self) -> int | None:
        return (self.limits or {}).get("timeout") if self._component is None else None

    def _component_job_dict(self) -> dict[str, Any]:
        """A component's step submitted as a job on its own: the component's command with these inputs."""
        component = self._component
        assert component is not None
        body = component._to_dict()
        if body.get("additional_includes"):
            raise _validation_error(
                f"{self._source}: a component with additional_includes runs as a pipeline step; "
                "register it (ml_client.components.create_or_update) or use it in a @pipeline"
            )
        data: dict[str, Any] = {"type": "command"}
        for key in ("name", "display_name", "experiment_name", "description", "tags", "properties"):
            value = self._fields.get(key)
            if value not in (None, {}):
                data[key] = _plain(value)
        data["command"] = body.get("command")
        code = component._code_reference()
        if code:
            data["code"] = code
        data["environment"] = body.get("environment")
        variables = {**body.get("environment_variables", {}), **_plain(self.environment_variables or {})}
        if variables:
            data["environment_variables"] = variables
        inputs: dict[str, Any] = {}
        for name, port in (component.inputs or {}).items():
            kind = _port_type(port)
            value = self.inputs.get(name)
            if value is None:
                value = _port_get(port, "default")
                if value is None:
                    if _port_get(port, "optional"):
                        continue
                    raise _validation_error(
                        f"{self._source}: inputs.{name}: the component needs this input (type {kind})"
                    )
            if kind in DATA_TYPES and isinstance(value, str | PurePath):
                value = {"type": kind, "path": str(value)}
            inputs[name] = _plain(value)
        data["inputs"] = inputs
        data["outputs"] = {name: _plain(out) for name, out in (self.outputs or {}).items()}
        if self.compute:
            data["compute"] = self.compute
        for key in ("resources", "limits", "distribution"):
            value = _plain(self._fields.get(key)) or body.get(key)
            if value:
                data[key] = value
        for key in ("identity", "queue_settings", "services"):
            if self._fields.get(key):
                data[key] = _plain(self._fields[key])
        return data


__all__ = ["Command"]
