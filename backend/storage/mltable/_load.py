"""Loading an MLTable file: the YAML, and the JSON schema's rules with one message per problem."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._core import MLTABLE_FILE, MLTableError, _load_error
from ._steps import _HANDLERS

_TOP_LEVEL_KEYS = ("$schema", "type", "paths", "transformations", "traits", "metadata", "query_source")
_PATH_KINDS = ("file", "folder", "pattern")


@dataclass(frozen=True)
class _Step:
    name: str
    raw: Any  # the YAML value as written (None for a bare name)
    options: Any  # already validated; the shape belongs to the step's handler


def _locate(folder: str | os.PathLike[str]) -> Path:
    # abspath rather than resolve(): the Path column must show the folder the caller gave,
    # not where its symlinks lead.
    path = Path(os.path.abspath(folder))
    file = path / MLTABLE_FILE if path.is_dir() else path
    if not file.is_file():
        raise _load_error(
            f"MLTable at {file}",
            "file not found (give a folder holding an 'MLTable' file, or the file)",
            "not_found",
        )
    return file


def _parse_yaml(file: Path, where: str) -> Any:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _load_error(where, f"not valid YAML: {_yaml_problem(exc)}", "yaml") from exc
    except UnicodeDecodeError as exc:
        raise _load_error(where, "not valid YAML: the file is not UTF-8 text", "yaml") from exc
    except RecursionError as exc:
        raise _load_error(where, "not valid YAML: too deeply nested", "yaml") from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML messages span several lines; fold the useful parts into one."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [part for part in (exc.context, exc.problem) if part]
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return "; ".join(parts) + where
    return " ".join(str(exc).split())


def _check_top_level(doc: Any, where: str) -> None:
    if not isinstance(doc, dict):
        raise _load_error(where, "expected a YAML mapping with 'paths' and 'transformations'")
    unknown = [key for key in doc if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise _load_error(
            where, f"unknown top-level key '{unknown[0]}' (allowed: {', '.join(_TOP_LEVEL_KEYS)})"
        )
    if "query_source" in doc:
        raise _load_error(
            where, "'query_source' (a query on a SQL datastore) is not supported here; list files in 'paths'"
        )
    if "type" in doc and doc["type"] != "mltable":
        raise _load_error(where, f"'type' must be mltable, got {doc['type']!r}")
    if "$schema" in doc and not isinstance(doc["$schema"], str):
        raise _load_error(where, f"'$schema' must be a string, got {doc['$schema']!r}")
    if "metadata" in doc and not isinstance(doc["metadata"], dict):
        raise _load_error(where, f"'metadata' must be a mapping, got {doc['metadata']!r}")
    if "traits" in doc:
        _check_traits(doc["traits"], where)


def _check_traits(traits: Any, where: str) -> None:
    if not isinstance(traits, dict):
        raise _load_error(where, "'traits' must be a mapping (keys: index_columns, timestamp_column)")
    index_columns = traits.get("index_columns", [])
    if not isinstance(index_columns, list) or not all(isinstance(name, str) for name in index_columns):
        raise _load_error(
            where, f"traits: 'index_columns' must be a list of column names, got {index_columns!r}"
        )
    if not isinstance(traits.get("timestamp_column", ""), str):
        raise _load_error(
            where, f"traits: 'timestamp_column' must be a column name, got {traits['timestamp_column']!r}"
        )


def _validate_paths(doc: dict, where: str) -> tuple[dict[str, str], ...]:
    shape = "a list of entries like '- file: ./data.csv' (keys: file, folder, pattern)"
    if "paths" not in doc:
        raise _load_error(where, f"'paths' is missing; it must be {shape}")
    entries = doc["paths"]
    if not isinstance(entries, list):
        raise _load_error(where, f"'paths' must be {shape}")
    result = []
    for number, entry in enumerate(entries, 1):
        keys = list(entry) if isinstance(entry, dict) else []
        if len(keys) != 1 or keys[0] not in _PATH_KINDS:
            raise _load_error(
                where, f"paths entry {number} is {entry!r}; it needs exactly one key: file, folder or pattern"
            )
        value = entry[keys[0]]
        if not isinstance(value, str) or not value:
            raise _load_error(where, f"paths entry {number}: '{keys[0]}' must be a non-empty string")
        result.append({keys[0]: value})
    return tuple(result)


def _raw_steps(doc: dict, where: str) -> list[Any]:
    if "transformations" not in doc:
        return []
    raw_steps = doc["transformations"]
    if not isinstance(raw_steps, list):
        raise _load_error(where, f"'transformations' must be a list of steps, got {raw_steps!r}")
    return raw_steps


# A step written as a bare name ("- read_delimited") rather than "- read_delimited: {...}".
_BARE: Any = type("_Bare", (), {"__repr__": lambda self: "<bare>"})()
_BARE_ALLOWED = ("read_delimited", "read_parquet", "read_json_lines", "read_delta_lake")


def _step_name_and_value(raw: Any, where: str) -> tuple[str, Any]:
    if isinstance(raw, str):
        return raw, _BARE
    if isinstance(raw, dict) and len(raw) == 1:
        name, value = next(iter(raw.items()))
        return str(name), value
    raise _load_error(where, f"transformation {raw!r} must be a name or a mapping with a single name")


def _validate_step(name: str, value: Any, where: str) -> _Step:
    handler = _HANDLERS.get(name)
    if handler is None:
        supported = ", ".join(_HANDLERS)
        raise _load_error(where, f"transformation '{name}' is not supported (supported: {supported})")

    def fail(detail: str) -> MLTableError:
        return _load_error(where, f"transformation '{name}': {detail}")

    if value is _BARE:
        if name not in _BARE_ALLOWED:
            raise fail(f"needs a value, e.g. '- {name}: ...' (only {', '.join(_BARE_ALLOWED)} stand alone)")
        return _Step(name, _BARE, handler.validate({}, fail))
    return _Step(name, value, handler.validate(value, fail))


def _check_readers(steps: Iterable[_Step], where: str) -> None:
    readers = [step.name for step in steps if _HANDLERS[step.name].reads_files]
    if len(readers) > 1:
        raise _load_error(where, f"only one read transformation is allowed, found {', '.join(readers)}")
