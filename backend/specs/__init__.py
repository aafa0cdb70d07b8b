"""Pydantic models of the cloud's YAML formats, and loading with one clear message per mistake.

A message names the file, the field and what was wrong: ``data.yml: field 'type': must be one of
'uri_file', 'uri_folder', 'mltable' (got 'table')``.

What the cloud's own loader (``azure-ai-ml``) accepts loads here too:

- keys where the cloud's schema lets any extra key through (pipeline ``settings``, pipeline steps, the top
  level of a component, a component's ``resources``) are kept as given, with a warning naming the key;
- read-only keys of a file exported from the cloud (``status``, ``id``, ``creation_context``, ...) are
  ignored, with a warning;
- any other unknown key is an error, as it is there.

Before a file is validated its shape is checked: at most ``MAX_YAML_BYTES``, ``MAX_DEPTH`` levels of
nesting and ``MAX_YAML_VALUES`` values once YAML aliases are expanded (no "billion laughs"), and no NUL
character in any text (no process argument, environment variable or PostgreSQL text can carry one).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from backend.errors import ValidationError

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("studio.specs")

MAX_YAML_BYTES = 10 * 2**20  # a spec file is kilobytes; this refuses `--file data.csv` before reading it
MAX_DEPTH = 64  # levels of mappings and lists; the deepest cloud file (a pipeline step's inline component's
# inline conda file) has about ten
MAX_YAML_VALUES = 1_000_000  # values once aliases are expanded

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_UNSET = object()


class FieldProblem(ValueError):
    """A problem inside a field's value: ``path`` (dotted, under the field) names the part that is wrong."""

    def __init__(self, path: str, message: str, value: Any = _UNSET):
        super().__init__(message)
        self.path, self.message, self.value = path, message, value


def note(info: ValidationInfo | None, message: str) -> None:
    """Record a warning for ``parse_spec`` to log once the whole spec is valid."""
    context = info.context if info is not None else None
    if isinstance(context, dict) and isinstance(context.get("notes"), list):
        context["notes"].append(message)


class SpecModel(BaseModel):
    """Base of every YAML model: unknown fields are errors; ``$schema`` is accepted and kept.

    ``READ_ONLY_FIELDS`` are the keys the cloud's loader drops from a file exported from the cloud (its
    ``dump_only`` fields): ignored here, with a warning.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    READ_ONLY_FIELDS: ClassVar[tuple[str, ...]] = ()

    schema_: str | None = Field(default=None, alias="$schema")

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and cls.READ_ONLY_FIELDS and any(k in data for k in cls.READ_ONLY_FIELDS):
            data = dict(data)
            for key in cls.READ_ONLY_FIELDS:
                if key in data:
                    data.pop(key)
                    note(info, f"field {key!r} is read-only (the cloud sets it); ignored")
        return data


# --- reading YAML ------------------------------------------------------------------------------------------


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file's mapping; a missing, unreadable, oversized or non-mapping file is a ValidationError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ValidationError(
                f"{path}: the file is {size / 2**20:.1f} MiB; a spec file is at most "
                f"{MAX_YAML_BYTES // 2**20} MiB (is it the right file?)"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read the file ({exc})") from None
    return parse_yaml_text(text, source=str(path))


def parse_yaml_text(text: str, *, source: str) -> dict[str, Any]:
    if len(text) > MAX_YAML_BYTES:
        raise ValidationError(f"{source}: the text is longer than {MAX_YAML_BYTES // 2**20} MiB")
    try:
        _check_yaml_shape(text, source)
        data = yaml.load(text, Loader=_LOADER)  # a safe loader (C or Python): plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:  # libyaml stops at its own limit before the shape check sees it
            raise ValidationError(
                f"{source}: too deeply nested{where}: more than {MAX_DEPTH} levels of mappings and lists"
            ) from None
        raise ValidationError(f"{source}: not valid YAML{where}: {problem}") from None
    except RecursionError:  # the shape check makes this unreachable; a clean line if it is not
        raise ValidationError(f"{source}: too deeply nested (more than {MAX_DEPTH} levels)") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    return data


def _check_yaml_shape(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and alias expansion beyond MAX_YAML_VALUES, from the parser's
    events (which need no recursion), before the recursive composer builds anything."""
    open_nodes: list[list[Any]] = []  # [anchor, values before it, height of its deepest child]
    heights: dict[str, int] = {}
    sizes: dict[str, int] = {}
    values = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.CollectionStartEvent):
            values += 1
            open_nodes.append([event.anchor, values, 0])
            if len(open_nodes) > MAX_DEPTH:
                raise ValidationError(
                    f"{source}: too deeply nested at line {line}: more than {MAX_DEPTH} levels of "
                    "mappings and lists"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before, height = open_nodes.pop()
            if open_nodes:
                open_nodes[-1][2] = max(open_nodes[-1][2], height + 1)
            if anchor is not None:
                heights[anchor], sizes[anchor] = height + 1, values - before + 1
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                heights[event.anchor], sizes[event.anchor] = 0, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            if anchor not in sizes:
                if any(node[0] == anchor for node in open_nodes):
                    raise ValidationError(
                        f"{source}: the alias *{anchor} at line {line} is inside the node it names "
                        "(a value cannot contain itself)"
                    )
                continue  # an undefined alias: the loader reports it
            values += sizes[anchor]
            if len(open_nodes) + heights[anchor] > MAX_DEPTH:
                raise ValidationError(
                    f"{source}: too deeply nested at line {line}: the alias *{anchor} makes more than "
                    f"{MAX_DEPTH} levels of mappings and lists"
                )
            if open_nodes:
                open_nodes[-1][2] = max(open_nodes[-1][2], heights[anchor])
        if values > MAX_YAML_VALUES:
            raise ValidationError(
                f"{source}: too large at line {line}: more than {MAX_YAML_VALUES:,} values once YAML "
                "aliases (*name) are expanded"
            )


def apply_overrides(data: dict[str, Any], overrides: list[str] | None, *, source: str) -> dict[str, Any]:
    """Apply ``--set field.sub=value`` overrides (values parsed as YAML scalars) to a spec mapping."""
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--set expects field=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except (yaml.YAMLError, RecursionError):
            value = raw
        target = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            nxt = target.get(part)
            if nxt is None:
                nxt = target[part] = {}
            if not isinstance(nxt, dict):
                raise ValidationError(f"{source}: --set {key}: field {part!r} is not a mapping")
            target = nxt
        target[parts[-1]] = value
    return data


# --- validating --------------------------------------------------------------------------------------------


def _walk(data: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every key and value, without recursion; a path deeper than MAX_DEPTH ends it."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if len(path) > MAX_DEPTH:
            continue
        if isinstance(value, dict):
            for key, child in value.items():
                yield (*path, key), key
                stack.append(((*path, key), child))
        elif isinstance(value, list | tuple):
            stack.extend(((*path, i), child) for i, child in enumerate(value))


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


def check_plain_values(data: Any, *, source: str) -> None:
    """No nesting deeper than MAX_DEPTH and no NUL character in any key or text (SDK objects and forms
    come here without passing the YAML checks)."""
    for path, value in _walk(data):
        if len(path) > MAX_DEPTH:
            raise ValidationError(
                f"{source}: field {_dotted(path[:3])!r}: too deeply nested (more than {MAX_DEPTH} levels)"
            )
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(
                f"{source}: field {_dotted(path)!r}: contains a NUL character (\\x00), which no command, "
                "argument or environment variable can carry; remove it"
            )


def _is_union_tag(part: Any) -> bool:
    """pydantic puts the member of a union it tried into the location (``InputSpec``, ``str``, ...)."""
    if not isinstance(part, str):
        return False
    return (
        part.startswith(("function-", "literal[", "list[", "dict["))
        or part in ("str", "int", "float", "bool", "none")
        or part in _model_names()
    )


def _model_names() -> set[str]:
    names, todo = set(), [SpecModel]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _pick(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The error to show: the most specific one (a union's members each add errors of their own)."""
    first = errors[0]["loc"][:1]
    group = [e for e in errors if e["loc"][:1] == first]
    return max(group, key=lambda e: len([p for p in e["loc"] if not _is_union_tag(p)]))


def _explain(error: dict[str, Any]) -> tuple[str, str]:
    """(dotted location, what was wrong and the value given) of one pydantic error."""
    parts = [str(p) for p in error["loc"] if not _is_union_tag(p)]
    kind = error["type"]
    given = error.get("input")
    problem = (error.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        parts += [p for p in problem.path.split(".") if p]
        shown = "" if problem.value is _UNSET else f" (got {problem.value!r})"
        return ".".join(parts), f"{problem.message}{shown}"
    if kind == "extra_forbidden":
        return ".".join(parts), "is not allowed here"
    if kind == "missing":
        return ".".join(parts), "is required"
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    shown = given if not isinstance(given, dict | list) else type(given).__name__
    return ".".join(parts), f"{message} (got {shown!r})"


def _describe(error: dict[str, Any]) -> str:
    loc, message = _explain(error)
    if not loc:
        return message
    joiner = " " if message in ("is not allowed here", "is required") else ": "
    return f"field {loc!r}{joiner}{message}"


def validate_part(model: type[M], value: Any, info: ValidationInfo | None = None) -> M:
    """Validate a nested mapping inside a validator; its first error becomes a FieldProblem with its path."""
    try:
        return model.model_validate(value, context=info.context if info is not None else None)
    except pydantic.ValidationError as exc:
        path, message = _explain(_pick(exc.errors(include_url=False)))
        raise FieldProblem(path, message) from None


def extra_fields(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of the keys that models allowing extra keys kept as given."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from extra_fields(getattr(value, name), f"{prefix}{name}.")
        for key in value.model_extra or {}:
            yield f"{prefix}{key}"
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from extra_fields(child, f"{prefix}{key}.")
    elif isinstance(value, list | tuple):
        for i, child in enumerate(value):
            yield from extra_fields(child, f"{prefix}{i}.")


def parse_spec(model: type[M], data: dict[str, Any], *, source: str, context: dict | None = None) -> M:
    """Validate a mapping against a spec model; the first error becomes one clear message.

    Keys kept as given or ignored are logged as warnings (one line each, naming the file and the key)
    once the whole spec is valid.
    """
    check_plain_values(data, source=source)
    notes: list[str] = []
    try:
        spec = model.model_validate(data, context={**(context or {}), "notes": notes})
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A union's members each report the same mistake: count places, not errors.
        places = {tuple(p for p in e["loc"] if not _is_union_tag(p))[:2] for e in errors}
        more = (
            f" (and {len(places) - 1} more problem{'s' if len(places) > 2 else ''})"
            if len(places) > 1
            else ""
        )
        raise ValidationError(f"{source}: {_describe(_pick(errors))}{more}") from None
    notes += [f"field {path!r} is not used by Studio; kept as given" for path in extra_fields(spec)]
    for line in dict.fromkeys(notes):
        log.warning("%s: %s", source, line)
    return spec


def load_spec(model: type[M], path: str | Path, overrides: list[str] | None = None) -> M:
    source = str(path)
    return parse_spec(model, apply_overrides(read_yaml(path), overrides, source=source), source=source)
