"""The ``@pipeline`` functions running now, the steps they make, and their parameters (``PipelineInput``)."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from studio.ml.entities._inputs_outputs import Input, Output

if TYPE_CHECKING:
    from studio.ml.entities._job.job import Job


class _PipelineBuilder:
    """The steps made while a ``@pipeline`` function runs, in the order they were made."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[Job] = []

    def add(self, node: Job) -> None:
        self.nodes.append(node)

    def replace(self, old: Job, new: Job) -> None:
        for index, node in enumerate(self.nodes):
            if node is old:
                self.nodes[index] = new
                return
        self.nodes.append(new)

    def __deepcopy__(self, memo: dict) -> _PipelineBuilder:
        return self


# The @pipeline functions running now (innermost last); a step made meanwhile joins the innermost one.
_PIPELINE_BUILDERS: contextvars.ContextVar[tuple[_PipelineBuilder, ...]] = contextvars.ContextVar(
    "studio_ml_pipeline_builders", default=()
)


def _register_node(node: Job) -> None:
    stack = _PIPELINE_BUILDERS.get()
    if stack:
        stack[-1].add(node)


def _replace_node(old: Job, new: Job) -> None:
    stack = _PIPELINE_BUILDERS.get()
    if stack:
        stack[-1].replace(old, new)


class PipelineInput:
    """A ``@pipeline`` function's parameter while it runs: given to a step, it binds
    ``${{parent.inputs.<name>}}``; ``value`` is what the pipeline was called with."""

    def __init__(self, name: str, value: Any, owner: _PipelineBuilder):
        self.name = name
        self.value = value
        self._owner = owner

    @property
    def type(self) -> str | None:
        value = self.value
        if isinstance(value, Input):
            return value.type
        for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
            if isinstance(value, kind):
                return name
        return None

    def result(self) -> Any:
        return self.value

    def __str__(self) -> str:
        return f"${{{{parent.inputs.{self.name}}}}}"

    def __repr__(self) -> str:
        return f"PipelineInput(name={self.name!r}, value={self.value!r})"

    def __deepcopy__(self, memo: dict) -> PipelineInput:
        return self  # it names the pipeline's input: copies of a step keep the same binding


def _is_binding(value: Any) -> bool:
    """A value that names where data comes from in a pipeline: a pipeline input, or a step's output."""
    return isinstance(value, PipelineInput | Output)


__all__ = ["PipelineInput"]
