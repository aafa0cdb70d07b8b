"""Read Azure ML ``MLTable`` folders into pandas DataFrames.

An MLTable folder holds a YAML file named ``MLTable`` that lists data ``paths`` and a pipeline of
``transformations`` (a read step such as ``read_delimited`` plus row/column steps). What is accepted
follows the format's JSON schema (``mltable/schema/MLTable.json`` in Microsoft's ``mltable``
package) and what the reference engine (``mltable`` 1.7 on rslex 2.26) accepts on top of it; the
behaviour, quirks included, follows the reference as recorded by the conformance cases in
``tests/fixtures/mltable`` and by the oracle test that compares this reader with the reference.

The pipeline runs over one DataFrame. Before the read step it is the file list (a ``Path``
column, plus any partition columns); the read step expands every file into its rows. A hidden
column keeps the file each row came from (the reference's partitions, for ``select_partitions``).
Columns use pandas' nullable dtypes while the pipeline runs, because the reference decides
``int64`` vs ``float64`` (and ``bool`` vs ``object``) from the final rows only; ``_finalize`` turns
them into the plain dtypes the reference returns.

This module is also loaded as a plain file inside jobs (``backend/runtime/mltable``), where the
``backend`` package does not exist: it imports nothing else from Studio.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import decimal
import glob
import json
import math
import operator
import os
import random
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

try:
    from backend.errors import ValidationError
except ImportError:  # inside a job this file is loaded on its own, without Studio's packages
    ValidationError = ValueError  # type: ignore[misc,assignment]

__all__ = ["MLTable", "MLTableError", "Resolver", "load_mltable", "mltable_from_dict", "read_mltable"]

MLTABLE_FILE = "MLTable"
PATH_COLUMN = "Path"
# Which file (the reference's partition) a row came from; hidden from every column operation.
_PARTITION = "\x00partition"
# A row that stands for a bad record (an invalid JSON line): the reference fails only if such a
# row reaches the result or a filter, so take/skip can leave it out. Hidden like _PARTITION.
_ERROR = "\x00error"
# The reference works on records, each with its own fields: the frame it returns has the fields
# of the rows that are left (in first-seen order), not every column a file ever had. Each row
# keeps the names of the fields its record has here (one shared tuple per file for CSV).
_FIELDS = "\x00fields"

Resolver = Callable[[str], "str | os.PathLike[str]"]  # a non-local URI -> a local path

_TOP_LEVEL_KEYS = ("$schema", "type", "paths", "transformations", "traits", "metadata", "query_source")
_PATH_KINDS = ("file", "folder", "pattern")
_HEADERS = ("no_header", "from_first_file", "all_files_different_headers", "all_files_same_headers")
# Encoding names -> Python codecs. Each reader accepts the names that both the JSON schema and
# rslex accept (they differ per reader). utf8 goes through utf-8-sig: the reference drops a BOM.
_CODECS = {
    "utf8": "utf-8-sig",
    "utf-8": "utf-8-sig",
    "iso88591": "latin-1",
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf-16": "utf-16",
    "windows1252": "cp1252",
    "windows-1252": "cp1252",
}
_DELIMITED_ENCODINGS = tuple(_CODECS)
_JSON_ENCODINGS = ("utf8", "utf-8", "iso88591", "latin1", "ascii", "utf16", "windows1252")
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class MLTableError(ValidationError):
    """An MLTable that cannot be loaded or read.

    ``stage`` is "load" (YAML or schema problems, found by ``load_mltable``) or "read" (data
    access problems, found by ``to_pandas_dataframe``); ``category`` is one of "schema", "yaml",
    "not_found" or "data".
    """

    def __init__(self, message: str, *, stage: str, category: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.category = category


def _load_error(where: str, detail: str, category: str = "schema") -> MLTableError:
    return MLTableError(f"{where}: {detail}", stage="load", category=category)


# --------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class _Step:
    name: str
    raw: Any  # the YAML value as written (None for a bare name)
    options: Any  # already validated; the shape belongs to the step's handler


@dataclass(frozen=True)
class MLTable:
    """A parsed and validated MLTable. Nothing is read until ``to_pandas_dataframe``."""

    path: Path  # the MLTable file itself; relative data paths are relative to its folder
    paths: tuple[dict[str, str], ...]  # each {"file" | "folder" | "pattern": value}, as written
    steps: tuple[_Step, ...]
    # Maps non-local URIs in `paths` (azureml://...) to local paths; without it they are an error.
    resolve: Resolver | None = field(default=None, compare=False, repr=False)
    label: str = ""  # how messages name this table; "MLTable at <path>" by default

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def where(self) -> str:
        return self.label or f"MLTable at {self.path}"

    @property
    def transformations(self) -> list[str]:
        return [step.name for step in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """The table as an MLTable YAML document (paths as written)."""
        doc: dict[str, Any] = {"paths": [dict(entry) for entry in self.paths]}
        if self.steps:
            doc["transformations"] = [
                step.name if step.raw is _BARE else {step.name: step.raw} for step in self.steps
            ]
        return doc

    def with_step(self, name: str, value: Any, index: int | None = None) -> MLTable:
        """A new table with the step ``name: value`` added (at the end, or at ``index``).

        The step is validated as it would be in an MLTable file; bad input raises here.
        """
        step = _validate_step(name, value, self.where)
        steps = list(self.steps)
        steps.insert(len(steps) if index is None else index, step)
        _check_readers(steps, self.where)
        return dataclasses.replace(self, steps=tuple(steps))

    def to_pandas_dataframe(self) -> pd.DataFrame:
        run = _Run(self)
        table = _list_files(self.paths, run)
        for step in self.steps:
            handler = _HANDLERS[step.name]
            run.step = step.name
            table = handler.apply(table, step.options, run)
            if run.data_read and step.name not in _COLUMNAR_STEPS:
                run.records |= set(run.partitions)
            run.data_read = run.data_read or handler.reads_files
        run.step = ""
        return _finalize(table, run)


def load_mltable(folder: str | os.PathLike[str], resolve: Resolver | None = None) -> MLTable:
    """Parse and validate the MLTable in ``folder`` (or at that file path).

    ``resolve(uri) -> local path`` maps non-local URIs in ``paths`` (for example ``azureml://``
    inside a job) to local paths; without it such paths are an error when the data is read.
    """
    file = _locate(folder)
    where = f"MLTable at {file}"
    return mltable_from_dict(_parse_yaml(file, where), file, resolve=resolve, label=where)


def mltable_from_dict(
    doc: Any, file: str | os.PathLike[str], *, resolve: Resolver | None = None, label: str = ""
) -> MLTable:
    """Validate an MLTable document; relative paths are relative to ``file``'s folder.

    ``file`` need not exist: tables built in code (``from_delimited_files``) name a file in the
    folder their paths are relative to.
    """
    file = Path(os.path.abspath(file))
    where = label or f"MLTable at {file}"
    _check_top_level(doc, where)
    steps = tuple(_validate_step(*_step_name_and_value(raw, where), where) for raw in _raw_steps(doc, where))
    _check_readers(steps, where)
    return MLTable(path=file, paths=_validate_paths(doc, where), steps=steps, resolve=resolve, label=label)


def read_mltable(folder: str | os.PathLike[str], resolve: Resolver | None = None) -> pd.DataFrame:
    return load_mltable(folder, resolve).to_pandas_dataframe()


# --------------------------------------------------------------------------------------------
# Loading and validation: the JSON schema's rules, with one message per problem


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


Fail = Callable[[str], MLTableError]


@dataclass(frozen=True)
class _Option:
    default: Any
    expected: str  # how the allowed values read in an error message
    accepts: Callable[[Any], bool]
    required: bool = False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(default: bool) -> _Option:
    return _Option(default, "true or false", lambda value: isinstance(value, bool))


def _choice(default: str, allowed: Iterable[str]) -> _Option:
    allowed = tuple(allowed)
    return _Option(default, f"one of {', '.join(allowed)}", lambda value: value in allowed)


def _text(default: str | None = None, required: bool = False) -> _Option:
    return _Option(default, "a string", lambda value: isinstance(value, str), required)


def _whole(default: int | None = None, required: bool = False) -> _Option:
    return _Option(default, "a whole number", _is_int, required)


def _options(value: Any, spec: dict[str, _Option], fail: Fail) -> dict[str, Any]:
    """Check a step's option mapping against ``spec``; fill in the defaults."""
    if not isinstance(value, dict):
        raise fail(f"options must be a mapping (allowed keys: {', '.join(spec)}), got {value!r}")
    unknown = [key for key in value if key not in spec]
    if unknown:
        raise fail(f"unknown option '{unknown[0]}' (allowed: {', '.join(spec)})")
    result = {}
    for key, option in spec.items():
        if key not in value:
            if option.required:
                raise fail(f"option '{key}' is required ({option.expected})")
            result[key] = option.default
            continue
        result[key] = value[key]
        if not option.accepts(result[key]):
            raise fail(f"option '{key}' must be {option.expected}, got {result[key]!r}")
    return result


# --------------------------------------------------------------------------------------------
# Running: file listing, errors and the final dtypes


class _Run:
    """What a running pipeline knows: where it is (for messages) and what has been read."""

    def __init__(self, table: MLTable) -> None:
        self.table = table
        self.folder = str(table.folder)
        self.step = ""
        self.data_read = False
        self.partitions: list[int] = []  # the partitions (files) still in the table, in order
        self.schema_columns: set[str] = set()  # columns read from parquet with the file's own types
        self.data_columns: list[str] = []  # the columns the read step made
        self.raw_columns: set[str] = set()  # JSON values as read: typed at the end, by the rows left
        self.partition_columns: list[str] = []  # text columns extract_columns_... made before the read
        self.records: set[int] = set()  # partitions turned into records (see _COLUMNAR_STEPS)

    def fail(self, detail: str, category: str = "data") -> MLTableError:
        where = f"transformation '{self.step}': " if self.step else ""
        return MLTableError(f"{self.table.where}: {where}{detail}", stage="read", category=category)


def _list_files(specs: tuple[dict[str, str], ...], run: _Run) -> pd.DataFrame:
    files: list[str] = []
    for spec in specs:
        ((kind, value),) = spec.items()
        files.extend(_resolve_path(kind, value, run))
    run.partitions = list(range(len(files)))
    return pd.DataFrame(
        {PATH_COLUMN: pd.Series(files, dtype=object), _PARTITION: np.arange(len(files), dtype="int64")}
    )


def _resolve_path(kind: str, value: str, run: _Run) -> list[str]:
    location = _local_path(value, run)
    if kind == "file":
        if not os.path.isfile(location):
            raise run.fail(f"paths: file '{value}' was not found (looked at {location})", "not_found")
        return [location]
    if kind == "folder":
        if not os.path.isdir(location):
            raise run.fail(f"paths: folder '{value}' was not found (looked at {location})", "not_found")
        found = [os.path.join(root, name) for root, _, names in os.walk(location) for name in names]
    else:
        found = _glob_files(value, location, run)
        if not found:
            raise run.fail(f"paths: pattern '{value}' matched no files (searched {location})", "not_found")
    # The reference returns pattern matches sorted by path components; folders come back in raw
    # directory order, which has no stable meaning, so they are sorted the same way.
    return sorted(found, key=lambda path: Path(path).parts)


def _glob_files(value: str, location: str, run: _Run) -> list[str]:
    segments = location.split("/")
    if any("**" in segment and segment != "**" for segment in segments):
        raise run.fail(f"paths: pattern '{value}': '**' must be a whole path segment, as in 'data/**/*.csv'")
    if value.endswith("/") or segments[-1] == "**":
        return []  # the reference matches directories there, never files
    try:  # hidden files match too, as in the reference
        matches = glob.glob(location, recursive=True, include_hidden=True)
    except TypeError:  # Python < 3.11
        matches = glob.glob(location, recursive=True)
    return [match for match in matches if os.path.isfile(match)]


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _local_path(value: str, run: _Run) -> str:
    if value.startswith("file://"):
        # The reference does not make file:// paths relative to the MLTable: a relative one is
        # relative to the working directory, and the Path column shows it as written.
        return value[len("file://") :]
    if _SCHEME.match(value):
        resolve = run.table.resolve
        if resolve is None:
            raise run.fail(
                f"paths: '{value}' is not a local path; only local files and file:// URIs can be read here"
            )
        try:
            value = os.fspath(resolve(value))
        except (MLTableError, ValueError, LookupError, OSError) as exc:
            raise run.fail(f"paths: {exc}", getattr(exc, "category", "not_found")) from exc
    return os.path.normpath(os.path.join(run.folder, value))


def _visible(table: pd.DataFrame) -> list[str]:
    return [name for name in table.columns if not name.startswith("\x00")]


def _raise_bad_rows(table: pd.DataFrame, run: _Run) -> None:
    if _ERROR in table.columns:
        errors = table[_ERROR].dropna()
        if len(errors):
            raise run.fail(errors.iloc[0])


def _object_series(values: Iterable[Any], index: Any = None) -> pd.Series:
    # pandas 3 would infer its `str` dtype; the reference hands back object columns with None.
    return pd.Series(list(values), index=index, dtype=object)


# After read_parquet, keep_columns, drop_columns and select_partitions leave the files' columns as
# they are (arrow types); take and skip turn the partitions they go through into the reference's
# records (take those it keeps, skip the one it cuts), and every other step turns them all, with
# 64-bit numbers and nanosecond dates.
_COLUMNAR_STEPS = ("keep_columns", "drop_columns", "select_partitions", "take", "skip")


def _finalize(table: pd.DataFrame, run: _Run) -> pd.DataFrame:
    _raise_bad_rows(table, run)
    _check_partitions_have_columns(table, run)
    mixed = _schemas_differ(table, run)
    columnar = not (set(table[_PARTITION]) & run.records) if _PARTITION in table.columns else True
    table = table[_present_columns(table, run)].reset_index(drop=True)
    for name in [name for name in table.columns if name in run.raw_columns]:
        # JSON values get their type from the rows that are left: the first value's type, or,
        # when the files' records disagree, what pandas infers from the values as they are (the
        # reference's "alternate reader").
        table[name] = _infer_objects(list(table[name])) if mixed else _json_column(list(table[name]))
    if not columnar:
        for name in run.schema_columns & set(table.columns):
            table[name] = _record_column(table[name])
    if len(table) == 0:
        # The reference builds the frame from record batches: no rows, no columns either.
        return pd.DataFrame()
    if not len(table.columns):
        raise run.fail(
            f"the {len(table)} rows have no columns (the records are empty, or keep_columns or drop_columns "
            "removed every column)"
        )
    # Parquet columns as the files have them keep their type without values; records do not.
    typed = run.schema_columns if columnar else set()
    return pd.DataFrame(
        {name: _final_column(table[name], name in typed) for name in table.columns}, index=table.index
    )


def _schemas_differ(table: pd.DataFrame, run: _Run) -> bool:
    """Whether the files' remaining JSON records differ in fields or in their values' types."""
    if not run.raw_columns or _FIELDS not in table.columns or len(table) == 0:
        return False
    visible = set(_visible(table))
    schemas = set()
    for _, rows in table.groupby(_PARTITION, sort=False):
        fields = [
            name
            for name in dict.fromkeys(f for t in dict.fromkeys(rows[_FIELDS]) for f in t)
            if name in visible
        ]
        schema = []
        for name in fields:
            first = next((value for value in rows[name] if not _is_null(value)), None)
            schema.append((name, type(first).__name__ if name in run.raw_columns else str(rows[name].dtype)))
        schemas.add(tuple(schema))
    return len(schemas) > 1


def _infer_objects(values: list[Any]) -> pd.Series:
    """What pandas infers from Python values (ints or floats with nulls become floats)."""
    column = _object_series(values).infer_objects()
    return _object_series(values) if isinstance(column.dtype, pd.StringDtype) else column


def _check_partitions_have_columns(table: pd.DataFrame, run: _Run) -> None:
    """The reference fails on a file (partition) whose remaining records have no field at all."""
    if _FIELDS not in table.columns or len(table) == 0:
        return
    visible = set(_visible(table))
    if visible - set(run.data_columns):
        return  # the path or partition columns give every row a field
    has_field = {fields: any(name in visible for name in fields) for fields in dict.fromkeys(table[_FIELDS])}
    by_file = table[_FIELDS].map(has_field).groupby(table[_PARTITION].to_numpy()).any()
    if not by_file.all():
        raise run.fail(
            f"the records of file {int(by_file.index[~by_file.to_numpy()][0])} (counting from 0) have no columns"
        )


def _record_column(column: pd.Series) -> pd.Series:
    """A parquet column as the reference's records give it back: int64, float64, ns dates."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column
    if pd.api.types.is_integer_dtype(dtype):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(dtype):
        values = [None if null else float(value) for value, null in zip(column, column.isna(), strict=True)]
        return _floats(values, column.index)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return column.astype("datetime64[ns]")
    values = column.dropna()
    if len(values) and all(
        isinstance(value, dt.date) and not isinstance(value, dt.datetime) for value in values
    ):
        return pd.to_datetime(column).astype("datetime64[ns]")
    if len(values) and all(isinstance(value, decimal.Decimal) for value in values):
        return _convert(column, float, "Float64")
    return column


def _present_columns(table: pd.DataFrame, run: _Run) -> list[str]:
    """The visible columns, with the read's fields limited to those the remaining rows have."""
    visible = _visible(table)
    if _FIELDS not in table.columns:
        return visible
    present = list(dict.fromkeys(name for fields in dict.fromkeys(table[_FIELDS]) for name in fields))
    present = [name for name in present if name in visible]
    read = set(run.data_columns)
    first = next((index for index, name in enumerate(visible) if name in read), len(visible))
    others = [name for name in visible if name not in read]
    return others[:first] + present + others[first:]


def _final_column(column: pd.Series, typed: bool = False) -> pd.Series:
    dtype = column.dtype
    nulls = column.isna()
    if nulls.all() and not typed and dtype != np.dtype("float64"):
        return _untyped(column.index)  # no value, no type (a numpy float NaN is a value)
    has_nulls = bool(nulls.any())
    if isinstance(dtype, pd.BooleanDtype):
        # A boolean column with a null cannot be numpy bool: the reference gives True/False/None.
        return column.astype(bool) if not has_nulls else _none_for_nulls(column.astype(object))
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
        if has_nulls:
            return pd.Series(column.to_numpy(dtype="float64", na_value=float("nan")), index=column.index)
        return column.astype(dtype.numpy_dtype)
    if isinstance(dtype, pd.Float64Dtype | pd.Float32Dtype):
        return pd.Series(column.to_numpy(dtype=dtype.numpy_dtype, na_value=float("nan")), index=column.index)
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        return _none_for_nulls(column.astype(object))
    return column


def _none_for_nulls(column: pd.Series) -> pd.Series:
    return column.where(column.notna(), None)


def _apply_read(
    table: pd.DataFrame,
    options: dict[str, Any],
    run: _Run,
    read_all: Callable[[list[str]], tuple[pd.DataFrame, list[int]]],
    *,
    partitions_first: bool = False,
) -> pd.DataFrame:
    """Expand the file list into data rows; each file's rows keep its Path/partition columns.

    The path column comes first; the other columns of the file list (partitions) come before the
    data for read_delimited, which also type-infers the text ones, and after it otherwise.
    """
    path_column = options.get("path_column") or PATH_COLUMN
    if path_column not in _visible(table):
        raise run.fail(
            f"the file list has no column '{path_column}' (columns: {', '.join(_visible(table))}); "
            "path_column names the column that holds the file paths"
        )
    paths = list(table[path_column])
    if not all(isinstance(path, str) for path in paths):
        raise run.fail(f"column '{path_column}' does not hold file paths")
    data, counts = read_all(paths)
    run.data_columns = _visible(data)
    carried = table.loc[table.index.repeat(counts)].reset_index(drop=True)
    if not options["include_path_column"]:
        carried = carried.drop(columns=[path_column])
    clash = [name for name in data.columns if name in carried.columns]
    if clash:
        raise run.fail(
            f"the data has a column '{clash[0]}' and so has the file list (path or partition columns); "
            "rename it or set include_path_column: false"
        )
    data = data.reset_index(drop=True)
    if partitions_first:
        for name in run.partition_columns:
            if name in carried.columns:
                carried[name] = _infer_column(carried[name])
        return pd.concat([carried, data], axis=1)
    path = [name for name in carried.columns if name == path_column]
    return pd.concat([carried[path], data, carried.drop(columns=path)], axis=1)


def _read_bytes(path: str, run: _Run) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise run.fail(f"file {path} was not found", "not_found") from exc
    except OSError as exc:
        raise run.fail(f"file {path} could not be read ({exc.strerror})") from exc


def _read_text(path: str, encoding: str, run: _Run) -> str:
    # Bytes that are not valid in the encoding read as U+FFFD, as in the reference.
    return _read_bytes(path, run).decode(_CODECS[encoding], errors="replace")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Values: how the reference reads text as numbers, booleans and dates, and shows values as text

# Booleans it infers from text (after trimming); a 0/1-valued integer such as "01" also makes a
# column boolean, but reads as null.
_TRUE_WORDS = ("true", "True", "TRUE", "t", "T", "Y", "1")
_FALSE_WORDS = ("false", "False", "FALSE", "f", "F", "N", "0")
_BOOL_LIKE_INT = r"\+?0*1|[+-]?0+"
# convert_column_types: boolean without true_values/false_values reads the same words.
_PLAIN_TRUE, _PLAIN_FALSE = _TRUE_WORDS, _FALSE_WORDS
_BOOL_TEXT = "|".join((*map(re.escape, _TRUE_WORDS + _FALSE_WORDS), _BOOL_LIKE_INT))
_INT_TEXT = r"[+-]?[0-9]+"
# Rust's f64 grammar: inf, infinity and nan in any case, "1.", ".5", exponents.
_FLOAT_TEXT = r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))"
_INT_RE = re.compile(_INT_TEXT)
_FLOAT_RE = re.compile(_FLOAT_TEXT)


def _is_null(value: Any) -> bool:
    # A float NaN is a value, not a null: the reference keeps the two apart ("nan" in a CSV is a
    # NaN; an empty field is a null), and pandas shows both as NaN only at the very end.
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, np.datetime64) and np.isnat(value))
    )


def _saturate(number: int) -> int:
    return max(_I64_MIN, min(_I64_MAX, number))


def _parse_float(text: str) -> float | None:
    text = text.strip()
    return float(text) if _FLOAT_RE.fullmatch(text) else None


def _parse_int(text: str) -> int | None:
    """Text to int64 as the reference converts it: via a float, truncated, saturating."""
    text = text.strip()
    if _INT_RE.fullmatch(text):
        return _saturate(int(text))
    number = _parse_float(text)
    return None if number is None else _float_to_int(number)


def _float_to_int(number: float) -> int:
    if math.isnan(number):
        return 0  # Rust's `as i64`
    if math.isinf(number):
        return _I64_MAX if number > 0 else _I64_MIN
    return _saturate(int(number))


def _rust_float_text(number: float) -> str:
    """A float as the reference prints it: shortest round-trip digits, never an exponent."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return np.format_float_positional(number, trim="-")


def _rfc3339(stamp: pd.Timestamp) -> str:
    stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    nanos = stamp.microsecond * 1000 + stamp.nanosecond
    if nanos:
        digits = f"{nanos:09d}"
        text += "." + (digits[:3] if nanos % 1_000_000 == 0 else digits[:6] if nanos % 1000 == 0 else digits)
    return text + "+00:00"


def _value_text(value: Any) -> str | None:
    """Any value as text, the way the reference converts it to string."""
    if _is_null(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _rust_float_text(float(value))
    if isinstance(value, pd.Timestamp | dt.datetime | np.datetime64):
        return _rfc3339(pd.Timestamp(value))
    return str(value)


# Dates and times the reference recognises in text (untrimmed). Day/month order is settled per
# column: month-first if some value only reads that way, day-first likewise, and text if both.
_ISO_DATE = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
_SLASH_DATE = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[-/])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})"
    r"(?: (?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?: ?(?P<p>[AaPp][Mm]))?)?"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NAMED_DATE = re.compile(r"(?P<d>\d{1,2})-(?P<mon>[A-Za-z]{3})-(?P<y>\d{4})")
# A cheap filter before the per-value parse: every value must look like one of the forms.
_DATE_LIKE = (
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ].*)?|\d{1,2}[-/]\d{1,2}[-/]\d{4}(?: .*)?|\d{1,2}-[A-Za-z]{3}-\d{4}"
)


@dataclass(frozen=True)
class _DateReading:
    stamp: pd.Timestamp | None  # None: a date, but one that comes back null
    order: str = ""  # "mdy" or "dmy" if only that order reads it, "either" if both do
    # Which of the reference's date formats reads it (day/month order aside): a column inferred
    # from a sample only reads the formats the sample had.
    form: str = ""


def _timestamp(year: int, month: int, day: int, hour=0, minute=0, second=0, nanos=0) -> pd.Timestamp | None:
    try:
        dt.datetime(year, month, day, hour, minute, second)  # validates (Feb 30 is not a date)
    except ValueError:
        return None
    try:
        return pd.Timestamp(
            year=year, month=month, day=day, hour=hour, minute=minute, second=second
        ) + pd.Timedelta(nanoseconds=nanos)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None


def _read_date(text: str) -> _DateReading | None:
    """How the reference reads ``text`` as a date, or None if it is no date at all."""
    match = _ISO_DATE.fullmatch(text)
    if match:
        parts = match.groupdict()
        fraction = (parts["f"] or "").ljust(9, "0")
        stamp = _timestamp(
            int(parts["y"]), int(parts["m"]), int(parts["d"]),
            int(parts["H"] or 0), int(parts["M"] or 0), int(parts["S"] or 0), int(fraction or 0),
        )  # fmt: skip
        if stamp is None:
            return None
        zone = parts["tz"]
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            stamp -= sign * pd.Timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        time_sep = text[10:11] if parts["H"] else ""
        zone_kind = "Z" if zone == "Z" else ":" if zone and ":" in zone else "+" if zone else ""
        form = f"ymd{parts['sep']}{time_sep}{'.' if parts['f'] else ''}{zone_kind}"
        return _DateReading(stamp, form=form)
    match = _NAMED_DATE.fullmatch(text)
    if match:
        month = match["mon"].lower()
        if month not in _MONTHS:
            return None
        stamp = _timestamp(int(match["y"]), _MONTHS.index(month) + 1, int(match["d"]))
        return None if stamp is None else _DateReading(stamp, form="d-mon-y")
    match = _SLASH_DATE.fullmatch(text)
    if not match:
        return None
    hour, minute, second = int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0)
    if match["p"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["p"].lower() == "pm" else 0)
    year, first, second_part = int(match["y"]), int(match["a"]), int(match["b"])
    month_first = _timestamp(year, first, second_part, hour, minute, second)
    day_first = _timestamp(year, second_part, first, hour, minute, second)
    time = "" if not match["H"] else ":S" if match["S"] else ":"
    form = "dm" + match["sep"] + time + ("p" if match["p"] else "")
    if month_first is not None and day_first is not None:
        return _DateReading(None, "either", form)
    if month_first is not None:
        return _DateReading(month_first, "mdy", form)
    if day_first is not None:
        return _DateReading(day_first, "dmy", form)
    return None


def _text_array(values: Iterable[Any]) -> pa.Array:
    """The values as an arrow string array, nulls kept; non-strings are shown as text."""
    values = list(values)
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_value_text(value) for value in values], type=pa.string())


def _all_match(text: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(text, f"^(?:{pattern})$")).as_py() is not False)


# --------------------------------------------------------------------------------------------
# Type inference for text data (CSV cells, partition values)


def _infer_column(column: pd.Series, sample_size: int | None = None) -> pd.Series:
    """Give a column of strings (None = null) the first type its values fit.

    The type is decided from the first ``sample_size`` rows (all rows by default); every value is
    then converted to it, and one that does not convert becomes null, as in the reference.
    """
    sample = column if sample_size is None else column.iloc[:sample_size]
    values = sample.dropna()
    if values.empty:
        return column
    stripped = pc.utf8_trim_whitespace(_text_array(values))
    if _all_match(stripped, _BOOL_TEXT):
        return _convert(column, _bool_from_words, "boolean")
    # An integer beyond int64 makes the column float.
    if _all_match(stripped, _INT_TEXT) and all(_I64_MIN <= int(v) <= _I64_MAX for v in stripped.to_pylist()):
        return _convert(column, _int_of, "Int64")
    if _all_match(stripped, _FLOAT_TEXT):
        # "NaN" is a null float in the reference, not a NaN value; pandas shows both alike.
        return _convert(column, _float_of, "Float64")
    forms = _date_order(values)
    if forms is not None:
        return _convert(column, lambda value: _date_of(value, forms), "datetime64[ns]")
    return column


def _date_order(values: pd.Series) -> dict[str, str] | None:
    """None if the values are not all dates; else the column's date formats with their order.

    Each format (say day/month/year with "/" and a time) settles its own day/month order:
    month-first if some value only reads that way, day-first likewise, and the column stays text
    if a format has both. The values that read both ways take their format's order, or none.
    """
    if not _all_match(_text_array(values), _DATE_LIKE):
        return None
    orders: dict[str, set[str]] = {}
    for value in values:
        reading = _read_date(value) if isinstance(value, str) else None
        if reading is None:
            return None
        orders.setdefault(reading.form, set()).add(reading.order)
    if any({"mdy", "dmy"} <= found for found in orders.values()):
        return None
    return {
        form: "dmy" if "dmy" in found else "mdy" if "mdy" in found else "either"
        for form, found in orders.items()
    }


def _date_of(value: Any, forms: dict[str, str]) -> pd.Timestamp | None:
    reading = _read_date(value) if isinstance(value, str) else None
    if reading is None or reading.form not in forms:
        return None  # not in one of the formats the column was inferred with
    order = forms[reading.form]
    match = _SLASH_DATE.fullmatch(value)
    if match and reading.order == "either":
        if order == "either":
            return None  # day and month could be either way round: null, as in the reference
        first, second = int(match["a"]), int(match["b"])
        month, day = (first, second) if order == "mdy" else (second, first)
        hour, minute, sec = int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0)
        if match["p"]:
            hour = hour % 12 + (12 if match["p"].lower() == "pm" else 0)
        return _timestamp(int(match["y"]), month, day, hour, minute, sec)
    if reading.order in ("mdy", "dmy") and reading.order != order:
        return None  # a sample settled the other order
    return reading.stamp


def _convert(column: pd.Series, convert: Callable[[Any], Any], dtype: str) -> pd.Series:
    """Convert value by value (nulls stay null) into a column of ``dtype``; None is null."""
    # isna() is the null mask: NaN counts as null in numpy and object columns, but a nullable
    # float column keeps NaN values apart from its nulls.
    nulls = column.isna().to_numpy()
    values = [None if null else convert(value) for value, null in zip(column, nulls, strict=True)]
    if all(value is None for value in values):
        return _untyped(column.index)
    if dtype == "Float64":
        return _floats(values, column.index)
    if dtype == "datetime64[ns]":
        values = [pd.NaT if value is None else value for value in values]
    return pd.Series(values, index=column.index, dtype=dtype)


def _floats(values: list[float | None], index: Any = None) -> pd.Series:
    """A nullable float column where None is null and NaN stays a NaN value."""
    mask = np.array([value is None for value in values], dtype=bool)
    data = np.array([0.0 if value is None else value for value in values], dtype="float64")
    return pd.Series(pd.arrays.FloatingArray(data, mask), index=index)


def _untyped(index: Any) -> pd.Series:
    # A column without a single value has no type in the reference: it comes back as object.
    return _object_series([None] * len(index), index)


def _or_untyped(column: pd.Series) -> pd.Series:
    return _untyped(column.index) if column.isna().all() else column


def _bool_from_words(value: Any) -> bool | None:
    text = value.strip() if isinstance(value, str) else value
    return True if text in _TRUE_WORDS else False if text in _FALSE_WORDS else None


# --------------------------------------------------------------------------------------------
# Conversions, value by value: what convert_column_types (and type overrides) make of each kind


def _int_of(value: Any) -> int | None:
    if isinstance(value, str):
        return _parse_int(value)
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return _saturate(int(value))
    if isinstance(value, float | np.floating):
        return _float_to_int(float(value))
    return None


def _float_of(value: Any) -> float | None:
    if isinstance(value, str):
        return _parse_float(value)
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer | float | np.floating):
        return float(value)
    return None


def _bool_of(
    value: Any, true_values: tuple[str, ...], false_values: tuple[str, ...], mismatch: bool | None
) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer | float | np.floating):
        return bool(value)  # a number is true unless 0, whatever the lists say
    text = _value_text(value) if not isinstance(value, pd.Timestamp | dt.datetime) else None
    if text is None:
        return None
    text = text.strip()  # the values are trimmed, the lists are not
    if text in true_values:
        return True
    if text in false_values:
        return False
    return mismatch


# --------------------------------------------------------------------------------------------
# read_delimited

_SAMPLE_SIZE = _Option(None, "a whole number of rows >= 1", lambda value: _is_int(value) and value >= 1)


def _validate_infer(value: Any, fail: Fail) -> Any:
    """infer_column_types: true/false, or {sample_size, column_type_overrides: [...]}."""
    if isinstance(value, bool):
        return {"infer": value, "sample_size": None, "overrides": ()}
    spec = {
        "sample_size": _SAMPLE_SIZE,
        "column_type_overrides": _Option(
            [], "a list of {columns, column_type}", lambda v: isinstance(v, list)
        ),
    }
    options = _options(value, spec, lambda detail: fail(f"infer_column_types: {detail}"))
    overrides = _validate_conversion_list(
        options["column_type_overrides"],
        lambda detail: fail(f"infer_column_types: column_type_overrides: {detail}"),
        names_only=True,
    )
    return {"infer": True, "sample_size": options["sample_size"], "overrides": overrides}


_DELIMITED_OPTIONS = {
    # Up to two characters are allowed, but only the first one splits fields, as in the reference.
    "delimiter": _Option(
        ",",
        "one or two characters (the first one splits fields)",
        lambda v: isinstance(v, str) and 1 <= len(v) <= 2,
    ),
    "header": _choice("all_files_same_headers", _HEADERS),
    "encoding": _choice("utf8", _DELIMITED_ENCODINGS),
    "empty_as_string": _flag(False),
    "infer_column_types": _Option(
        True,
        "true, false or a mapping with sample_size and column_type_overrides",
        lambda v: isinstance(v, bool | dict),
    ),
    "include_path_column": _flag(False),
    "support_multi_line": _flag(False),
    "path_column": _text(PATH_COLUMN),
    "partition_size": _whole(),  # how much the reference reads at once; no effect on the result
}


def _validate_delimited(value: Any, fail: Fail) -> dict[str, Any]:
    options = _options(value, _DELIMITED_OPTIONS, fail)
    options["infer_column_types"] = _validate_infer(options["infer_column_types"], fail)
    return options


def _apply_delimited(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        records = [_csv_records(path, options, run) for path in paths]
        frames = _frames_with_headers(records, options["header"])
        data = _text_frame(frames)
        infer = options["infer_column_types"]
        for conversion in infer["overrides"]:
            missing = [name for name in conversion.selector.names if name not in _visible(data)]
            if missing:
                raise run.fail(
                    f"infer_column_types: column_type_overrides names column '{missing[0]}', which the files do "
                    f"not have (columns: {', '.join(_visible(data))})"
                )
        columns = {}
        for name in _visible(data):
            column = data[name]
            overrides = [c for c in infer["overrides"] if name in c.selector.names]
            if overrides:
                for conversion in overrides:
                    column = conversion.convert(column)
            elif infer["infer"]:
                column = _infer_column(column, infer["sample_size"])
            columns[name] = column
        columns[_FIELDS] = data[_FIELDS]
        return pd.DataFrame(columns, index=data.index), [len(rows) for _, rows in frames]

    return _apply_read(table, options, run, read_all, partitions_first=True)


def _csv_records(path: str, options: dict[str, Any], run: _Run) -> list[list[str | None]]:
    """One file's records (header line included), each a list of fields.

    Quoting follows the reference: a field is quoted only when it starts with '"'; '""' inside
    quotes is one quote; text after a closing quote is kept; a quote that is not closed on its
    line (without support_multi_line) is plain text. An unquoted empty field is null unless
    empty_as_string; a quoted "" is always ''.
    """
    text = _read_text(path, options["encoding"], run)
    delimiter = options["delimiter"][0]
    empty = "" if options["empty_as_string"] else None
    # The reference reads a UTF-16 BOM as the start of the first record: that one is never blank.
    bom = _has_utf16_bom(path, options["encoding"], run)
    if options["support_multi_line"]:
        return _split_multi_line(text, delimiter, empty, first_is_record=bom)
    records = []
    # Lines end at "\n" (a "\r" before it goes with it; a lone "\r" is text). A blank line is
    # skipped, but in UTF-8 and ASCII files the reference reads a blank CRLF line as a record of
    # one empty field (it parses those bytes as they are, and transcodes the other encodings).
    crlf_records = _CODECS[options["encoding"]] in ("utf-8-sig", "ascii")
    for number, raw_line in enumerate(text.split("\n")):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if not line:
            if (raw_line and crlf_records) or (bom and number == 0):
                records.append([empty])
            continue
        if '"' not in line:
            records.append([item if item else empty for item in line.split(delimiter)])
        else:
            records.append(_split_line(line, delimiter, empty))
    return records


def _split_line(line: str, delimiter: str, empty: str | None) -> list[str | None]:
    fields: list[str | None] = []
    position, end_of_line = 0, len(line)
    while True:
        if line.startswith('"', position):
            value, after = _quoted(line, position + 1)
            if value is None:  # an unclosed quote: the field is the text as written
                stop = _field_end(line, delimiter, position + 1)
                fields.append(line[position:stop])
            else:
                stop = _field_end(line, delimiter, after)
                fields.append(value + line[after:stop])
        else:
            stop = _field_end(line, delimiter, position)
            fields.append(line[position:stop] or empty)
        if stop >= end_of_line:
            return fields
        position = stop + 1


def _quoted(text: str, start: int) -> tuple[str | None, int]:
    """The value of a quoted field opened just before ``start`` and the position after it.

    None if the quote is never closed.
    """
    parts = []
    position = start
    while True:
        quote = text.find('"', position)
        if quote < 0:
            return None, start
        parts.append(text[position:quote])
        if text.startswith('"', quote + 1):
            parts.append('"')
            position = quote + 2
        else:
            return "".join(parts), quote + 1


def _field_end(text: str, delimiter: str, start: int) -> int:
    """Where the field starting at ``start`` ends: a delimiter, a line end ("\n" or "\r\n") or the end."""
    ends = [found for found in (text.find(delimiter, start), text.find("\n", start)) if found >= 0]
    if not ends:
        return len(text)
    end = min(ends)
    return end - 1 if text[end] == "\n" and end > start and text[end - 1] == "\r" else end


def _has_utf16_bom(path: str, encoding: str, run: _Run) -> bool:
    return _CODECS[encoding] == "utf-16" and _read_bytes(path, run)[:2] in (b"\xff\xfe", b"\xfe\xff")


def _split_multi_line(
    text: str, delimiter: str, empty: str | None, first_is_record: bool = False
) -> list[list[str | None]]:
    """Records of a whole text where quoted fields may hold line breaks."""
    records: list[list[str | None]] = []
    fields: list[str | None] = []
    position, size = 0, len(text)
    if first_is_record and (not text or text[0] in "\r\n"):
        records.append([empty])
        position = 2 if text.startswith("\r\n") else 1
    while position < size:
        lead = 0
        if not fields:
            if text.startswith("\r\n", position):
                position += 2  # a blank CRLF line is skipped ...
                continue
            # ... but the reference keeps a blank LF line's "\n" as the start of the next field.
            lead = 1 if text[position] == "\n" else 0
        if not lead and text.startswith('"', position):
            value, after = _quoted(text, position + 1)
            if value is None:  # never closed: the text as written
                stop = _field_end(text, delimiter, position + 1)
                fields.append(text[position:stop])
            else:
                stop = _field_end(text, delimiter, after)
                fields.append(value + text[after:stop])
        else:
            stop = _field_end(text, delimiter, position + lead)
            fields.append(text[position:stop] or empty)
        if stop < size and text[stop] == delimiter:
            position = stop + 1
            if position == size:
                fields.append(empty)
            continue
        records.append(fields)
        fields = []
        position = stop + (2 if text.startswith("\r\n", stop) else 1)
    if fields:
        records.append(fields)
    return records


def _frames_with_headers(
    records: list[list[list[str | None]]], header: str
) -> list[tuple[list[str], list[list[str | None]]]]:
    """Name each file's columns as the header mode says and drop the header lines."""
    frames = []
    names: list[str] = []
    for number, rows in enumerate(records):
        if header == "no_header":
            names = []
        elif header == "all_files_different_headers" or number == 0:
            names, rows = _header_names(rows[0] if rows else []), rows[1:]
        elif header == "all_files_same_headers":
            rows = rows[1:]  # the first line is a header again
        # from_first_file: every line of later files is data
        width = max([len(names), *map(len, rows)])
        # Columns past the header (or all of them without one) are named Column1..N.
        frames.append(([*names, *(f"Column{i + 1}" for i in range(len(names), width))], rows))
    return frames


def _header_names(fields: list[str | None]) -> list[str]:
    names: list[str] = []
    suffix = 1  # one count for all repeats, as in the reference: a, b, a, b -> a, b, a_1, b_2
    for position, name in enumerate(fields, 1):
        name = (name or "").strip() or f"Column{position}"  # the reference trims header names
        while name in names:
            name, suffix = f"{name}_{suffix}", suffix + 1  # a, a_1, a -> a, a_1, a_1_2
        names.append(name)
    return names


def _text_frame(frames: list[tuple[list[str], list[list[str | None]]]]) -> pd.DataFrame:
    # The union of the files' columns in first-seen order (what all_files_different_headers
    # gives); a file without a column, or a short row, has nulls there.
    # A file without data rows adds no columns, even with a header line.
    order = list(dict.fromkeys(name for names, rows in frames if rows for name in names))
    columns: dict[str, list[Any]] = {name: [] for name in order}
    fields: list[tuple[str, ...]] = []
    for names, rows in frames:
        # A short row has only the fields it has values for (its record lacks the rest).
        prefixes = {width: tuple(names[:width]) for width in {len(row) for row in rows}}
        fields.extend(prefixes[len(row)] for row in rows)
        positions = {name: index for index, name in enumerate(names)}
        for name in order:
            index = positions.get(name)
            if index is None:
                columns[name].extend([None] * len(rows))
            else:
                columns[name].extend(row[index] if index < len(row) else None for row in rows)
    frame = pd.DataFrame({name: _object_series(values) for name, values in columns.items()})
    frame[_FIELDS] = _object_series(fields)
    return frame


# --------------------------------------------------------------------------------------------
# read_parquet

# Nullable dtypes keep integers and booleans exact through the pipeline; _finalize then applies
# pyarrow's default conversion (int + null -> float64, bool + null -> object) to the final rows.
_NULLABLE_ARROW_TYPES = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _validate_parquet(value: Any, fail: Fail) -> dict[str, Any]:
    return _options(value, {"include_path_column": _flag(False), "path_column": _text(PATH_COLUMN)}, fail)


def _apply_parquet(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        frames = [_parquet_frame(path, run) for path in paths]
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        run.schema_columns = set(data.columns)
        return data, [len(frame) for frame in frames]

    return _apply_read(table, options, run, read_all)


def _parquet_frame(path: str, run: _Run) -> pd.DataFrame:
    try:
        arrow_table = pq.read_table(path)
    except FileNotFoundError as exc:
        raise run.fail(f"file {path} was not found", "not_found") from exc
    except (pa.ArrowException, OSError) as exc:
        raise run.fail(f"file {path} is not a readable parquet file: {_one_line(str(exc))}") from exc
    frame = arrow_table.to_pandas(types_mapper=_NULLABLE_ARROW_TYPES.get)
    # pandas 3 would give its `str` dtype to strings; the pipeline keeps object columns.
    return pd.DataFrame(
        {
            name: frame[name].astype(object) if isinstance(frame[name].dtype, pd.StringDtype) else frame[name]
            for name in frame.columns
        }
    )


# --------------------------------------------------------------------------------------------
# read_delta_lake: the parquet files of a Delta table's version, from its _delta_log.
# As in the reference, the data files are read in path order and partition values are not
# added as columns.

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


def _validate_delta(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "version_as_of": _whole(),
        "timestamp_as_of": _Option(
            None,
            "an RFC-3339 time such as 2022-10-01T00:00:00Z",
            lambda v: isinstance(v, str) and bool(_RFC3339.fullmatch(v)),
        ),
        "include_path_column": _flag(False),
    }
    options = _options(value, spec, fail)
    if options["version_as_of"] is not None and options["timestamp_as_of"] is not None:
        raise fail("give version_as_of or timestamp_as_of, not both")
    return options


def _apply_delta(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    roots = [_local_path(value, run) for entry in run.table.paths for value in entry.values()]
    files = [path for root in roots for path in _delta_files(root, options, run)]
    file_list = pd.DataFrame(
        {PATH_COLUMN: pd.Series(files, dtype=object), _PARTITION: np.arange(len(files), dtype="int64")}
    )
    run.partitions = list(range(len(files)))

    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        frames = [_parquet_frame(path, run) for path in paths]
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        run.schema_columns = set(data.columns)
        return data, [len(frame) for frame in frames]

    return _apply_read(file_list, options, run, read_all)


def _delta_files(root: str, options: dict[str, Any], run: _Run) -> list[str]:
    """The data files of the Delta table at ``root`` in the version asked for."""
    commits = sorted((Path(root) / "_delta_log").glob("[0-9]" * 20 + ".json"))
    if not commits:
        raise run.fail(f"{root} is no Delta table: it has no _delta_log commits", "not_found")
    logs = [
        [json.loads(line) for line in commit.read_text(encoding="utf-8").splitlines() if line.strip()]
        for commit in commits
    ]
    latest = int(commits[-1].stem)
    version = options["version_as_of"]
    if options["timestamp_as_of"] is not None:
        limit = pd.Timestamp(options["timestamp_as_of"])
        limit = limit.tz_convert("UTC") if limit.tzinfo else limit.tz_localize("UTC")
        eligible = [
            int(commit.stem)
            for commit, log in zip(commits, logs, strict=True)
            if _commit_time(commit, log) <= limit
        ]
        if not eligible:
            raise run.fail(f"the Delta table at {root} has no version as old as {options['timestamp_as_of']}")
        version = max(eligible)
    if version is not None and version > latest:
        raise run.fail(f"the Delta table at {root} has no version {version} (the latest is {latest})")
    active: set[str] = set()
    for commit, log in zip(commits, logs, strict=True):
        if version is not None and int(commit.stem) > version:
            break
        for action in log:
            if "add" in action:
                active.add(action["add"]["path"])
            elif "remove" in action:
                active.discard(action["remove"]["path"])
    return sorted(os.path.normpath(os.path.join(root, urllib.parse.unquote(path))) for path in active)


def _commit_time(commit: Path, log: list[dict]) -> pd.Timestamp:
    """When a version was written: its files' modification time, else its commitInfo, else the file's."""
    added = [action["add"].get("modificationTime") for action in log if "add" in action]
    added = [stamp for stamp in added if isinstance(stamp, int)]
    if added:
        return pd.Timestamp(max(added), unit="ms", tz="UTC")
    info = next((action["commitInfo"] for action in log if "commitInfo" in action), {})
    if isinstance(info.get("timestamp"), int):
        return pd.Timestamp(info["timestamp"], unit="ms", tz="UTC")
    return pd.Timestamp(commit.stat().st_mtime, unit="s", tz="UTC")


# --------------------------------------------------------------------------------------------
# read_json_lines


def _validate_json_lines(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "encoding": _choice("utf8", _JSON_ENCODINGS),
        "include_path_column": _flag(False),
        "invalid_lines": _choice("error", ("error", "drop")),
        "path_column": _text(PATH_COLUMN),
        "partition_size": _whole(),
    }
    return _options(value, spec, fail)


def _apply_json_lines(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        per_file = [_json_records(path, options, run) for path in paths]
        records = [record for records in per_file for record in records]
        names = list(dict.fromkeys(key for record in records if isinstance(record, dict) for key in record))
        data = pd.DataFrame(
            {name: _object_series(_json_get(record, name) for record in records) for name in names},
            index=pd.RangeIndex(len(records)),
        )
        interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        keys = (tuple(record) if isinstance(record, dict) else () for record in records)
        data[_FIELDS] = _object_series(interned.setdefault(fields, fields) for fields in keys)
        run.raw_columns = set(names)
        if any(isinstance(record, str) for record in records):
            data[_ERROR] = _object_series(record if isinstance(record, str) else None for record in records)
        return data, [len(records) for records in per_file]

    return _apply_read(table, options, run, read_all)


def _json_get(record: dict | str, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else None


def _json_records(path: str, options: dict[str, Any], run: _Run) -> list[dict | str]:
    """The file's records; a bad line (with invalid_lines: error) is its error message."""
    records: list[dict | str] = []
    text = _read_text(path, options["encoding"], run)
    if _has_utf16_bom(path, options["encoding"], run):
        text = "\ufeff" + text  # the reference keeps a UTF-16 BOM: on a line of its own it is invalid
    # split("\n") rather than splitlines(): JSON strings may hold a raw U+2028, which is no line end.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.rstrip("\r"):
            continue  # an empty line is skipped; one of spaces is an invalid line, as in the reference
        if number == 1 and line.startswith("\ufeff") and line[1:].strip():
            line = line[1:]
        try:
            record = json.loads(line)
            problem = "" if isinstance(record, dict) else "a JSON value that is not an object"
        except json.JSONDecodeError as exc:
            record, problem = None, exc.msg
        if not problem and any(_too_big(value) for value in record.values()):
            problem = "a number out of the 64-bit range"
        if problem:
            if options["invalid_lines"] == "drop":
                continue
            record = (
                f"transformation 'read_json_lines': line {number} of {path} is not a JSON object ({problem}); "
                "fix it or set invalid_lines: drop to skip such lines"
            )
        records.append(record)
    return records


def _too_big(value: Any) -> bool:
    return (_is_int(value) and not _I64_MIN <= value <= _I64_MAX) or (
        isinstance(value, float) and math.isinf(value)
    )


def _json_column(values: list[Any]) -> pd.Series:
    # The reference fixes a column's type from its first value and nulls every value of another
    # JSON type (even an int in a float column).
    first = next((value for value in values if value is not None), None)
    kind = type(first)
    kept = [value if type(value) is kind else None for value in values]
    if kind is bool:
        return pd.Series(kept, dtype="boolean")
    if kind is int:
        return pd.Series(kept, dtype="Int64")
    if kind is float:
        return _floats(kept)
    if kind is list:
        try:  # arrow turns JSON arrays into numpy arrays, as the reference returns them
            return pa.array(kept).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _object_series(kept)
    return _object_series(kept)


# --------------------------------------------------------------------------------------------
# Row steps: take, skip, take_random_sample, sample, select_partitions


def _validate_count(value: Any, fail: Fail) -> int:
    if not _is_int(value) or value < 0:
        raise fail(f"expects a whole number of rows >= 0, got {value!r}")
    return value


# Partitions (one per file for small files) outlive take and skip in the reference: take keeps
# the partitions up to the one it ends in, skip those from the one it ends in (even if it ends
# exactly at that partition's last row); select_partitions counts in what is left.


def _partition_ends(table: pd.DataFrame, run: _Run) -> list[int]:
    """The number of rows up to and including each current partition, in order."""
    sizes = table[_PARTITION].value_counts()
    ends, total = [], 0
    for partition in run.partitions:
        total += int(sizes.get(partition, 0))
        ends.append(total)
    return ends


def _apply_take(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    ends = _partition_ends(table, run)
    last = next((index for index, end in enumerate(ends) if end >= count), len(ends) - 1)
    run.partitions = run.partitions[: last + 1]
    if run.data_read:
        run.records |= set(run.partitions)
    return table.iloc[:count]


def _apply_skip(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    if count:
        ends = _partition_ends(table, run)
        first = next((index for index, end in enumerate(ends) if end >= count), len(ends))
        run.partitions = run.partitions[first:]
        if run.data_read and run.partitions:
            run.records.add(run.partitions[0])
    return table.iloc[count:]


def _probability() -> _Option:
    # YAML must say 1.0, not 1: the reference wants a float here.
    return _Option(
        None,
        "a decimal number between 0.0 and 1.0",
        lambda v: isinstance(v, float) and 0 <= v <= 1,
        required=True,
    )


def _validate_sample(value: Any, fail: Fail) -> dict[str, Any]:
    options = _options(value, {"probability": _probability(), "seed": _whole(required=True)}, fail)
    return {"low": 0.0, "high": options["probability"], "seed": options["seed"]}


def _validate_sampler(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "sampler": _choice(None, ("random_percent", "randomPercent")),
        "sampler_arguments": _Option(None, "a mapping", lambda v: isinstance(v, dict)),
    }
    options = _options(value, {k: dataclasses.replace(o, required=True) for k, o in spec.items()}, fail)
    arguments = _options(
        options["sampler_arguments"],
        {
            "probability": _probability(),
            "probability_lower_bound": _probability(),
            "seed": _whole(required=True),
        },
        lambda detail: fail(f"sampler_arguments: {detail}"),
    )
    return {
        "low": arguments["probability_lower_bound"],
        "high": arguments["probability"],
        "seed": arguments["seed"],
    }


def _apply_sample(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    # Each row draws one number in [0, 1) and is kept if it falls in [low, high); a seed makes it
    # repeatable. The reference's random generator is its own, so the rows differ from its rows.
    rng = random.Random(options["seed"])
    draws = [rng.random() for _ in range(len(table))]
    return table[np.array([options["low"] <= draw < options["high"] for draw in draws], dtype=bool)]


def _validate_partitions(value: Any, fail: Fail) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(_is_int(item) and item >= 0 for item in value):
        raise fail(f"expects a list of partition numbers (0 is the first file), got {value!r}")
    return tuple(value)


def _apply_partitions(table: pd.DataFrame, indices: tuple[int, ...], run: _Run) -> pd.DataFrame:
    # Small files are one partition each, so a partition is a file, in listing order.
    for index in indices:
        if index >= len(run.partitions):
            raise run.fail(
                f"partition {index} does not exist: there are {len(run.partitions)} (one per file, counting from 0)"
            )
    run.partitions = [run.partitions[index] for index in sorted(set(indices))]
    return table[table[_PARTITION].isin(run.partitions)]


# --------------------------------------------------------------------------------------------
# Column steps: drop_columns, keep_columns and column selectors


@dataclass(frozen=True)
class _Selector:
    """Columns by name (missing names are ignored, as the reference does) or by regex."""

    names: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    invert: bool = False

    def pick(self, columns: Iterable[str]) -> list[str]:
        if self.pattern is None:
            return [name for name in columns if name in self.names]
        # A search, not a full match; ignore_case is accepted but the reference ignores it.
        return [name for name in columns if bool(self.pattern.search(name)) != self.invert]


def _validate_selector(value: Any, fail: Fail, *, names_only: bool = False) -> _Selector:
    if isinstance(value, str):
        return _Selector(names=(value,))
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return _Selector(names=tuple(value))
    if isinstance(value, dict) and not names_only:
        spec = {"pattern": _text(required=True), "ignore_case": _flag(False), "invert": _flag(False)}
        options = _options(value, spec, lambda detail: fail(f"columns: {detail}"))
        try:
            pattern = re.compile(options["pattern"])
        except re.error as exc:
            raise fail(
                f"columns: pattern {options['pattern']!r} is not a valid regular expression ({exc})"
            ) from exc
        return _Selector(pattern=pattern, invert=options["invert"])
    allowed = "a column name or a list of names" + (
        "" if names_only else ", or {pattern, ignore_case, invert}"
    )
    raise fail(f"columns must be {allowed}, got {value!r}")


def _apply_drop_columns(table: pd.DataFrame, selector: _Selector, run: _Run) -> pd.DataFrame:
    return table.drop(columns=selector.pick(_visible(table)))


def _apply_keep_columns(table: pd.DataFrame, selector: _Selector, run: _Run) -> pd.DataFrame:
    kept = set(selector.pick(_visible(table)))
    return table[
        [name for name in table.columns if name in kept or name not in _visible(table)]
    ]  # table order


# --------------------------------------------------------------------------------------------
# convert_column_types


@dataclass(frozen=True)
class _Conversion:
    selector: _Selector
    convert: Callable[[pd.Series], pd.Series]


def _validate_conversions(value: Any, fail: Fail) -> tuple[_Conversion, ...]:
    if not isinstance(value, list):
        raise fail(f"expects a list of {{columns, column_type}} entries, got {value!r}")
    return _validate_conversion_list(value, fail)


def _validate_conversion_list(
    entries: list[Any], fail: Fail, *, names_only: bool = False
) -> tuple[_Conversion, ...]:
    conversions = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"columns", "column_type"}:
            raise fail(f"entry {number} must be a mapping with 'columns' and 'column_type', got {entry!r}")

        def entry_fail(detail: str, number: int = number) -> MLTableError:
            return fail(f"entry {number}: {detail}")

        selector = _validate_selector(entry["columns"], entry_fail, names_only=names_only)
        conversions.append(_Conversion(selector, _converter(entry["column_type"], entry_fail)))
    return tuple(conversions)


_COLUMN_TYPES = (
    "int, float, string, boolean, stream_info, {boolean: {true_values, false_values, mismatch_as}}, "
    "{datetime: {formats, date_constant}}, {stream_info: {...}}"
)


def _converter(column_type: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    simple = {
        "int": lambda column: _convert(column, _int_of, "Int64"),
        "float": lambda column: _convert(column, _float_of, "Float64"),
        "string": _to_string,
        "boolean": lambda column: _convert(
            column, lambda v: _bool_of(v, _PLAIN_TRUE, _PLAIN_FALSE, None), "boolean"
        ),
        "stream_info": _to_stream_info,
    }
    if isinstance(column_type, str) and column_type in simple:
        return simple[column_type]
    if isinstance(column_type, dict) and len(column_type) == 1:
        ((kind, settings),) = column_type.items()
        kind_fail = lambda detail: fail(f"column_type {kind}: {detail}")  # noqa: E731
        if kind == "boolean":
            return _boolean_converter(settings, kind_fail)
        if kind == "datetime":
            return _datetime_converter(settings, kind_fail)
        if kind == "stream_info":
            spec = {
                "subscription": _text(),
                "resource_group": _text(),
                "workspace_name": _text(),
                "escaped": _flag(False),
            }
            _options(settings, spec, kind_fail)
            return _to_stream_info
    raise fail(f"column_type {column_type!r} is not supported (allowed: {_COLUMN_TYPES})")


def _to_string(column: pd.Series) -> pd.Series:
    # The null mask, not the values: a NaN in an object column stands for a missing value there.
    nulls = column.isna().to_numpy()
    values = (None if null else _value_text(value) for value, null in zip(column, nulls, strict=True))
    return _object_series(values, column.index)


def _to_stream_info(column: pd.Series) -> pd.Series:
    # Streams of local files come back as None from the reference's to_pandas_dataframe.
    return _object_series([None] * len(column), column.index)


def _boolean_converter(settings: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    def texts(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)

    spec = {
        "true_values": _Option(None, "a non-empty list of strings", texts),
        "false_values": _Option(None, "a non-empty list of strings", texts),
        # A quoted string: YAML reads a bare true/false as a boolean, which the schema refuses.
        "mismatch_as": _choice("error", ("true", "false", "error")),
    }
    options = _options(settings, spec, fail)
    if (options["true_values"] is None) != (options["false_values"] is None):
        raise fail("true_values and false_values go together: give both or neither")
    true_values = tuple(options["true_values"] or _PLAIN_TRUE)
    false_values = tuple(options["false_values"] or _PLAIN_FALSE)
    # Values that match neither become null, not an error, even with mismatch_as: error.
    mismatch = {"true": True, "false": False, "error": None}[options["mismatch_as"]]
    return lambda column: _convert(
        column, lambda v: _bool_of(v, true_values, false_values, mismatch), "boolean"
    )


_DATE_DIRECTIVES = re.compile(r"%[YymdbBjUWaAGVuwDFcxeh]")


def _datetime_converter(settings: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    def strings(value: Any) -> bool:
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))

    spec = {
        "formats": _Option(
            None, "a strftime format or a list of them (e.g. '%Y-%m-%d')", strings, required=True
        ),
        "date_constant": _text(),
    }
    options = _options(settings, spec, fail)
    formats = options["formats"]
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    constant = options["date_constant"]
    return lambda column: _to_datetime(column, formats, constant)


def _to_datetime(column: pd.Series, formats: tuple[str, ...], date_constant: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column
    text = pd.Series(
        [value if isinstance(value, str) else None for value in column], index=column.index, dtype=object
    )
    if date_constant is None:
        return _or_untyped(_parse_datetimes(text, formats))
    # With date_constant, the formats read times of day on that date; the reference reads the
    # constant only as YYYY-MM-DD and a format with a date part then reads nothing.
    try:
        day = dt.datetime.strptime(date_constant, "%Y-%m-%d")
    except ValueError:
        return _untyped(column.index)
    times = _parse_datetimes(text, [fmt for fmt in formats if not _DATE_DIRECTIVES.search(fmt)])
    offset = pd.Timestamp(day) - pd.Timestamp(1900, 1, 1)
    return _or_untyped(times + offset)


def _parse_datetimes(values: pd.Series, formats: Iterable[str]) -> pd.Series:
    """Parse each value with the first strptime format that fits; NaT where none does."""
    text = pd.Series([v if isinstance(v, str) else None for v in values], index=values.index, dtype=object)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & text.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        result[todo] = parsed.astype("datetime64[ns]")
    return result


def _apply_conversions(table: pd.DataFrame, conversions: tuple[_Conversion, ...], run: _Run) -> pd.DataFrame:
    table = table.copy()
    for conversion in conversions:
        for name in conversion.selector.pick(_visible(table)):
            column = table[name]
            if name in run.schema_columns:  # a conversion works on the reference's records
                column = _record_column(column)
                run.schema_columns.discard(name)
            table[name] = conversion.convert(column)
            run.raw_columns.discard(name)
    return table


# --------------------------------------------------------------------------------------------
# extract_columns_from_partition_format

# .NET-style tokens in {name:format} placeholders -> (strptime code, regex)
_DATE_TOKENS = {"yyyy": ("%Y", r"\d{4}"), "MM": ("%m", r"\d{2}"), "dd": ("%d", r"\d{2}"),
                "HH": ("%H", r"\d{2}"), "mm": ("%M", r"\d{2}"), "ss": ("%S", r"\d{2}")}  # fmt: skip
_DATE_TOKEN = re.compile("|".join(_DATE_TOKENS))
_PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class _PartitionFormat:
    source: str
    pattern: re.Pattern[str]
    columns: tuple[tuple[str, str | None], ...]  # (column name, strptime format or None)


def _validate_partition_format(value: Any, fail: Fail) -> _PartitionFormat:
    value = _options(value, {"partition_format": _text(required=True)}, fail)["partition_format"]
    regex, columns, position = [], [], 0
    for match in _PLACEHOLDER.finditer(value):
        name, date_format = match.group(1).strip(), match.group(2)
        if not name:
            raise fail(f"partition_format {value!r} has a placeholder without a column name")
        regex.append(re.escape(value[position : match.start()]))
        if date_format is None:
            regex.append(f"(?P<g{len(columns)}>[^/]+)")
            columns.append((name, None))
        else:
            token_regex = _DATE_TOKEN.sub(lambda m: _DATE_TOKENS[m.group()][1], re.escape(date_format))
            regex.append(f"(?P<g{len(columns)}>{token_regex})")
            columns.append((name, _DATE_TOKEN.sub(lambda m: _DATE_TOKENS[m.group()][0], date_format)))
        position = match.end()
    rest = value[position:]
    if not columns or "{" in rest or "}" in rest:
        raise fail(
            f"partition_format {value!r} needs {{column}} placeholders, e.g. 'year={{year}}/month={{month}}/'"
        )
    # The format is looked for from the start of a path segment; like the reference, it need not
    # reach the end of the path ("{name}.par" finds "a" in "a.parquet").
    body = "".join(regex).lstrip("/") + re.escape(rest)
    return _PartitionFormat(value, re.compile(r"(?:^|/)" + body), tuple(columns))


def _apply_partition_format(table: pd.DataFrame, partition: _PartitionFormat, run: _Run) -> pd.DataFrame:
    # After the read the values come from the data's Path column, so without
    # include_path_column every value is null: the reference behaves the same, silently.
    paths = table[PATH_COLUMN] if PATH_COLUMN in table.columns else [None] * len(table)
    matches = [partition.pattern.search(path) if isinstance(path, str) else None for path in paths]
    if not run.data_read:
        for path, match in zip(paths, matches, strict=True):
            if match is None:
                raise run.fail(f"file {path} does not match partition_format {partition.source!r}")
    table = table.copy()
    # Date columns come after the others, as in the reference.
    ordered = sorted(enumerate(partition.columns), key=lambda item: item[1][1] is not None)
    for number, (name, date_format) in ordered:
        values = _object_series(
            (match.group(f"g{number}") if match else None for match in matches), table.index
        )
        if name in table.columns:
            table = table.drop(columns=[name])
        if date_format:
            table[name] = _or_untyped(_parse_datetimes(values, [date_format]))
        else:
            # Text; placed before a read_delimited, they get its type inference (month=01 -> 1).
            table[name] = values
            if not run.data_read:
                run.partition_columns.append(name)
    return table


# --------------------------------------------------------------------------------------------
# filter: a small expression language, parsed with ast and evaluated over pandas columns.
# Only whitelisted node types are ever evaluated; nothing goes through eval().

_COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
    ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Attribute, *_COMPARISONS, *_ARITHMETIC,
)  # fmt: skip
_FILTER_CALLS = 'col("name"), datetime(y, m, d[, H, M, S]), .startswith("text")'


@dataclass(frozen=True)
class _Filter:
    source: str
    tree: ast.Expression


def _validate_filter(value: Any, fail: Fail) -> _Filter:
    if not isinstance(value, str) or not value.strip():
        raise fail(f"expects an expression string such as 'age > 30 and city == \"Oslo\"', got {value!r}")
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except SyntaxError as exc:
        raise fail(f"expression {value!r} is not valid: {exc.msg} at column {exc.offset}") from exc
    # The reference's parser wants a space after not/and/or and has no empty string literal.
    keyword = re.search(r"\b(not|and|or)\(", value)
    if keyword:
        raise fail(f"expression {value!r}: put a space between '{keyword.group(1)}' and '('")
    # An attribute is only ever the method of a call: `name.startswith("x")`.
    methods = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise fail(f"expression {value!r} uses {type(node).__name__}, which filters do not support")
        if isinstance(node, ast.Constant) and node.value == "":
            raise fail(f"expression {value!r} compares with an empty string, which filters cannot express")
        if isinstance(node, ast.Call):
            _check_call(node, value, fail)
        if isinstance(node, ast.Attribute) and (node.attr != "startswith" or id(node) not in methods):
            raise fail(f"expression {value!r} uses '.{node.attr}' (allowed: {_FILTER_CALLS})")
    return _Filter(value, tree)


def _check_call(node: ast.Call, source: str, fail: Fail) -> None:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "startswith":
        if len(node.args) != 1:
            raise fail(f"expression {source!r}: .startswith() takes one argument")
    elif isinstance(func, ast.Name) and func.id == "col":
        if (
            len(node.args) != 1
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            raise fail(f"expression {source!r}: col() takes one quoted column name")
    elif not (isinstance(func, ast.Name) and func.id == "datetime"):
        raise fail(f"expression {source!r} calls {ast.unparse(func)!r} (allowed: {_FILTER_CALLS})")
    if node.keywords:
        raise fail(f"expression {source!r} passes keyword arguments, which filters do not support")


def _apply_filter(table: pd.DataFrame, expression: _Filter, run: _Run) -> pd.DataFrame:
    _raise_bad_rows(table, run)
    try:
        result = _FilterEvaluator(table, run).logic(expression.tree.body)
    except (TypeError, ValueError, AttributeError, OverflowError, ZeroDivisionError) as exc:
        raise run.fail(
            f"expression {expression.source!r} could not be evaluated: {_one_line(str(exc))}"
        ) from exc
    # A null never matches, even under `not` or `!=`: null propagates and counts as false.
    return table[result.fillna(False).astype(bool).to_numpy()]


# How the reference orders values of different kinds (they are never equal).
_KIND_ORDER = ("bool", "number", "text", "datetime")


def _value_kind(value: Any) -> str:
    """bool, number, text, or another kind, of a column or a literal."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return "bool"
        if pd.api.types.is_numeric_dtype(dtype):
            return "number"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        kinds = {_value_kind(item) for item in value.dropna()}
        return kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "other"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, dt.datetime | np.datetime64):
        return "datetime"
    return "text" if isinstance(value, str) else "other"


def _and(left: pd.Series, right: pd.Series) -> pd.Series:
    """The reference's ``and``: false if the left side is, null if the left side is null (even
    when the right side is false; ``or`` is the usual three-valued one), else the right side."""
    return right.mask(left.isna(), None).mask(left.fillna(True).eq(False), False).astype("boolean")


class _FilterEvaluator:
    """Evaluates a validated expression tree; columns are Series, literals stay scalars.

    Comparisons return nullable booleans that are null wherever an operand is null, and
    and/or/not use Kleene logic over them. A name that is no column is null, as in the reference.
    """

    def __init__(self, table: pd.DataFrame, run: _Run) -> None:
        self.table = table
        self.run = run

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.column(node.id)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](
                self.number(self.value(node.left)), self.number(self.value(node.right))
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.number(self.value(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return +self.number(self.value(node.operand))
        return self.logic(node)

    def number(self, value: Any) -> Any:
        if isinstance(value, pd.Series) and isinstance(value.dtype, pd.BooleanDtype):
            return value.astype("Int64")
        return value

    def logic(self, node: ast.AST) -> pd.Series:
        if isinstance(node, ast.BoolOp):
            combine = _and if isinstance(node.op, ast.And) else operator.or_
            result = self.logic(node.values[0])
            for operand in node.values[1:]:
                result = combine(result, self.logic(operand))
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.logic(node.operand)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        return self.as_logic(self.value(node))

    def compare(self, node: ast.Compare) -> pd.Series:
        # a < b < c means (a < b) < c here, not Python's a < b and b < c: the reference reads
        # comparisons left to right.
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            compare = _COMPARISONS[type(op)]
            left_kind, right_kind = _value_kind(left), _value_kind(right)
            if "mixed" in (left_kind, right_kind):
                outcome = self.compare_values(compare, left, right)
            elif left_kind != right_kind and {left_kind, right_kind} <= set(_KIND_ORDER):
                # Values of different kinds are never equal and order by kind, as in the reference.
                outcome = compare(_KIND_ORDER.index(left_kind), _KIND_ORDER.index(right_kind))
            else:
                outcome = compare(left, right)
            left = self.as_logic(outcome).mask(self.nulls(left) | self.nulls(right))
        return left

    def compare_values(self, compare: Callable[[Any, Any], Any], left: Any, right: Any) -> pd.Series:
        """Value by value, for columns whose rows hold values of different kinds (JSON)."""
        lefts, rights = self.series(left), self.series(right)
        outcome = []
        for a, b in zip(lefts, rights, strict=True):
            if _is_null(a) or _is_null(b):
                outcome.append(None)
                continue
            kinds = (_value_kind(a), _value_kind(b))
            if kinds[0] != kinds[1] and set(kinds) <= set(_KIND_ORDER):
                outcome.append(compare(_KIND_ORDER.index(kinds[0]), _KIND_ORDER.index(kinds[1])))
            else:
                outcome.append(bool(compare(a, b)))
        return pd.Series(outcome, index=self.table.index, dtype="boolean")

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            text = self.series(self.value(func.value))
            if text.isna().any():
                raise self.run.fail(
                    f"{ast.unparse(func.value)}.startswith(...) met a null value; filter the nulls out first"
                )
            argument = self.value(node.args[0])
            return self.as_logic(text.str.startswith(argument))
        if func.id == "col":
            return self.column(node.args[0].value)
        return pd.Timestamp(dt.datetime(*[self.value(arg) for arg in node.args]))

    def column(self, name: str) -> pd.Series:
        if name not in _visible(self.table):
            return pd.Series(None, index=self.table.index, dtype=object)
        return self.table[name]

    def series(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value
        return pd.Series([value] * len(self.table), index=self.table.index, dtype=object)

    def nulls(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.isna()
        return pd.Series(value is None, index=self.table.index)

    def as_logic(self, value: Any) -> pd.Series:
        if isinstance(value, pd.Series):
            return value.astype(object).where(value.notna(), None).astype("boolean")
        return pd.Series(bool(value), index=self.table.index, dtype="boolean")


# --------------------------------------------------------------------------------------------
# The table of transformations


@dataclass(frozen=True)
class _Handler:
    validate: Callable[[Any, Fail], Any]  # raw YAML value -> options (raises at load)
    apply: Callable[[pd.DataFrame, Any, _Run], pd.DataFrame]
    reads_files: bool = False  # turns the file list into data rows


_HANDLERS: dict[str, _Handler] = {
    "read_delimited": _Handler(_validate_delimited, _apply_delimited, reads_files=True),
    "read_parquet": _Handler(_validate_parquet, _apply_parquet, reads_files=True),
    "read_json_lines": _Handler(_validate_json_lines, _apply_json_lines, reads_files=True),
    "read_delta_lake": _Handler(_validate_delta, _apply_delta, reads_files=True),
    "take": _Handler(_validate_count, _apply_take),
    "skip": _Handler(_validate_count, _apply_skip),
    "take_random_sample": _Handler(_validate_sample, _apply_sample),
    "sample": _Handler(_validate_sampler, _apply_sample),
    "select_partitions": _Handler(_validate_partitions, _apply_partitions),
    "drop_columns": _Handler(_validate_selector, _apply_drop_columns),
    "keep_columns": _Handler(_validate_selector, _apply_keep_columns),
    "convert_column_types": _Handler(_validate_conversions, _apply_conversions),
    "extract_columns_from_partition_format": _Handler(_validate_partition_format, _apply_partition_format),
    "filter": _Handler(_validate_filter, _apply_filter),
}
