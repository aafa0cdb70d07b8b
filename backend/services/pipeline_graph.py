"""The step graph of a pipeline plan (pure): bindings between steps checked, an order that runs every
step after the steps it depends on, and a step's upstream steps."""

from __future__ import annotations

from typing import Any

from backend.errors import ValidationError


def check_step_bindings(steps: dict[str, Any]) -> None:
    """Every step-output binding names an existing step, one of its outputs, and a type that fits."""
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


def topological_order(steps: dict[str, Any]) -> list[str]:
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


def upstream(steps: dict[str, Any], step: str) -> set[str]:
    found: set[str] = set()
    todo = list(steps[step]["deps"])
    while todo:
        dep = todo.pop()
        if dep not in found and dep in steps:
            found.add(dep)
            todo.extend(steps[dep]["deps"])
    return found
