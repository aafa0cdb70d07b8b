"""Read Azure ML ``MLTable`` folders into pandas DataFrames.

An MLTable folder holds a YAML file named ``MLTable`` that lists data ``paths`` and a pipeline of
``transformations`` (a read step such as ``read_delimited`` plus row/column steps). The behaviour,
quirks included, follows Microsoft's reference implementation (``mltable`` 1.7 on rslex) as
recorded by the conformance cases in ``tests/fixtures/mltable``.

The pipeline runs over one DataFrame. Before the read step it is the file list (a ``Path``
column, plus any partition columns); the read step expands every file into its rows. Columns use
pandas' nullable dtypes while the pipeline runs, because the reference decides ``int64`` vs
``float64`` (and ``bool`` vs ``object``) from the final rows only; ``_finalize`` turns them into
the plain dtypes the reference returns.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import glob
import io
import json
import math
import operator
import os
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml

from backend.services.errors import ValidationError

__all__ = ["MLTable", "MLTableError", "load_mltable", "read_mltable"]

MLTABLE_FILE = "MLTable"
PATH_COLUMN = "Path"

_TOP_LEVEL_KEYS = ("$schema", "type", "paths", "transformations", "traits", "metadata")
_PATH_KINDS = ("file", "folder", "pattern")
_HEADERS = ("no_header", "from_first_file", "all_files_same_headers", "all_files_different_headers")
# MLTable encoding names -> Python codecs. utf8 goes through utf-8-sig so a BOM never ends up in
# the first column's name.
_ENCODINGS = {
    "utf8": "utf-8-sig",
    "utf8bom": "utf-8-sig",
    "iso88591": "latin-1",
    "latin1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf32": "utf-32",
    "windows1252": "cp1252",
}


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


def _load_error(file: Path, detail: str, category: str = "schema") -> MLTableError:
    return MLTableError(f"MLTable at {file}: {detail}", stage="load", category=category)


# --------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class _Step:
    name: str
    options: Any  # already validated; the shape belongs to the step's handler


@dataclass(frozen=True)
class MLTable:
    """A parsed and validated MLTable. Nothing is read until ``to_pandas_dataframe``."""

    path: Path  # the MLTable file itself
    paths: tuple[dict[str, str], ...]  # each {"file" | "folder" | "pattern": value}
    steps: tuple[_Step, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def transformations(self) -> list[str]:
        return [step.name for step in self.steps]

    def to_pandas_dataframe(self) -> pd.DataFrame:
        run = _Run(self.path)
        table = _list_files(self.paths, run)
        for step in self.steps:
            handler = _HANDLERS[step.name]
            run.step = step.name
            table = handler.apply(table, step.options, run)
            run.data_read = run.data_read or handler.reads_files
        return _finalize(table)


def load_mltable(folder: str | Path) -> MLTable:
    """Parse and validate the MLTable in ``folder`` (or at that file path)."""
    file = _locate(folder)
    doc = _parse_yaml(file)
    return MLTable(path=file, paths=_validate_paths(doc, file), steps=_validate_steps(doc, file))


def read_mltable(folder: str | Path) -> pd.DataFrame:
    return load_mltable(folder).to_pandas_dataframe()


# --------------------------------------------------------------------------------------------
# Loading and validation


def _locate(folder: str | Path) -> Path:
    # abspath rather than resolve(): the Path column must show the folder the caller gave,
    # not where its symlinks lead.
    path = Path(os.path.abspath(folder))
    file = path / MLTABLE_FILE if path.is_dir() else path
    if not file.is_file():
        raise _load_error(
            file, "file not found (give a folder holding an 'MLTable' file, or the file)", "not_found"
        )
    return file


def _parse_yaml(file: Path) -> dict:
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _load_error(file, f"not valid YAML: {_yaml_problem(exc)}", "yaml") from exc
    except UnicodeDecodeError as exc:
        raise _load_error(file, "not valid YAML: the file is not UTF-8 text", "yaml") from exc
    if not isinstance(doc, dict):
        raise _load_error(file, "expected a YAML mapping with 'paths' and 'transformations'")
    unknown = [key for key in doc if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise _load_error(
            file, f"unknown top-level key '{unknown[0]}' (allowed: {', '.join(_TOP_LEVEL_KEYS)})"
        )
    return doc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML messages span several lines; fold the useful parts into one."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [part for part in (exc.context, exc.problem) if part]
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return "; ".join(parts) + where
    return " ".join(str(exc).split())


def _validate_paths(doc: dict, file: Path) -> tuple[dict[str, str], ...]:
    shape = "a list of entries like '- file: ./data.csv' (keys: file, folder, pattern)"
    if "paths" not in doc:
        raise _load_error(file, f"'paths' is missing; it must be {shape}")
    entries = doc["paths"]
    if not isinstance(entries, list) or not entries:
        raise _load_error(file, f"'paths' must be {shape}")
    result = []
    for number, entry in enumerate(entries, 1):
        keys = list(entry) if isinstance(entry, dict) else []
        if len(keys) != 1 or keys[0] not in _PATH_KINDS:
            raise _load_error(
                file, f"paths entry {number} is {entry!r}; it needs exactly one key: file, folder or pattern"
            )
        value = entry[keys[0]]
        if not isinstance(value, str) or not value:
            raise _load_error(file, f"paths entry {number}: '{keys[0]}' must be a non-empty string")
        result.append({keys[0]: value})
    return tuple(result)


def _validate_steps(doc: dict, file: Path) -> tuple[_Step, ...]:
    raw_steps = doc.get("transformations") or []
    if not isinstance(raw_steps, list):
        raise _load_error(file, "'transformations' must be a list")
    steps = []
    for raw in raw_steps:
        name, value = _step_name_and_value(raw, file)
        handler = _HANDLERS.get(name)
        if handler is None:
            supported = ", ".join(_HANDLERS)
            raise _load_error(file, f"transformation '{name}' is not supported (supported: {supported})")

        def fail(detail: str, name: str = name) -> MLTableError:
            return _load_error(file, f"transformation '{name}': {detail}")

        steps.append(_Step(name, handler.validate(value, fail)))
    readers = [step.name for step in steps if _HANDLERS[step.name].reads_files]
    if len(readers) > 1:
        raise _load_error(file, f"only one read transformation is allowed, found {', '.join(readers)}")
    return tuple(steps)


def _step_name_and_value(raw: Any, file: Path) -> tuple[str, Any]:
    # A step is either a bare name ("- read_delimited") or a one-key mapping to its options.
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict) and len(raw) == 1:
        name, value = next(iter(raw.items()))
        return str(name), value
    raise _load_error(file, f"transformation {raw!r} must be a name or a mapping with a single name")


Fail = Callable[[str], MLTableError]


@dataclass(frozen=True)
class _Option:
    default: Any
    expected: str  # how the allowed values read in an error message
    accepts: Callable[[Any], bool]


def _flag(default: bool) -> _Option:
    return _Option(default, "true or false", lambda value: isinstance(value, bool))


def _choice(default: str, allowed: Iterable[str]) -> _Option:
    allowed = tuple(allowed)
    return _Option(default, f"one of {', '.join(allowed)}", lambda value: value in allowed)


def _options(value: Any, spec: dict[str, _Option], fail: Fail) -> dict[str, Any]:
    """Check a step's option mapping against ``spec``; fill in the defaults."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise fail(f"options must be a mapping (allowed keys: {', '.join(spec)})")
    unknown = [key for key in value if key not in spec]
    if unknown:
        raise fail(f"unknown option '{unknown[0]}' (allowed: {', '.join(spec)})")
    result = {}
    for key, option in spec.items():
        result[key] = value.get(key, option.default)
        if not option.accepts(result[key]):
            raise fail(f"option '{key}' must be {option.expected}, got {result[key]!r}")
    return result


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _column_names(value: Any, fail: Fail) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise fail(f"columns must be a column name or a list of names, got {value!r}")
    return tuple(names)


# --------------------------------------------------------------------------------------------
# Running: file listing, errors and the final dtypes


class _Run:
    """What a running pipeline knows: where it is (for messages) and whether data was read."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.folder = str(file.parent)
        self.step = ""
        self.data_read = False

    def fail(self, detail: str, category: str = "data") -> MLTableError:
        where = f"transformation '{self.step}': " if self.step else ""
        return MLTableError(f"MLTable at {self.file}: {where}{detail}", stage="read", category=category)


def _list_files(specs: tuple[dict[str, str], ...], run: _Run) -> pd.DataFrame:
    files: list[str] = []
    for spec in specs:
        ((kind, value),) = spec.items()
        files.extend(_resolve_path(kind, value, run))
    return pd.DataFrame({PATH_COLUMN: pd.Series(files, dtype=object)})


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
        found = [match for match in glob.glob(location, recursive=True) if os.path.isfile(match)]
        if not found:
            raise run.fail(f"paths: pattern '{value}' matched no files (searched {location})", "not_found")
    # The reference returns pattern matches sorted by path components; folders come back in raw
    # directory order, which has no stable meaning, so they are sorted the same way.
    return sorted(found, key=lambda path: Path(path).parts)


def _local_path(value: str, run: _Run) -> str:
    if value.startswith("file://"):
        value = value[len("file://") :]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        raise run.fail(
            f"paths: '{value}' is not a local path; only local files and file:// URIs can be read here"
        )
    return os.path.normpath(os.path.join(run.folder, value))


def _object_series(values: Iterable[Any], index: Any = None) -> pd.Series:
    # pandas 3 would infer its `str` dtype; the reference hands back object columns with None.
    return pd.Series(list(values), index=index, dtype=object)


def _finalize(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reset_index(drop=True)
    return pd.DataFrame({name: _final_column(table[name]) for name in table.columns}, index=table.index)


def _final_column(column: pd.Series) -> pd.Series:
    dtype = column.dtype
    has_nulls = bool(column.isna().any())
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
    run: _Run,
    include_path: bool,
    read_all: Callable[[list[str]], tuple[pd.DataFrame, list[int]]],
) -> pd.DataFrame:
    """Expand the file list into data rows; each file's row keeps its Path/partition columns."""
    if PATH_COLUMN not in table.columns:
        raise run.fail(f"the file list has no '{PATH_COLUMN}' column; a step before the read removed it")
    data, counts = read_all(list(table[PATH_COLUMN]))
    carried = table.loc[table.index.repeat(counts)].reset_index(drop=True)
    if not include_path:
        carried = carried.drop(columns=[PATH_COLUMN])
    data = data.reset_index(drop=True).drop(columns=[c for c in carried.columns if c in data.columns])
    return pd.concat([carried, data], axis=1)


def _read_bytes(path: str, run: _Run) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise run.fail(f"file {path} was not found", "not_found") from exc
    except OSError as exc:
        raise run.fail(f"file {path} could not be read ({exc.strerror})") from exc


def _read_text(path: str, encoding: str, run: _Run) -> str:
    try:
        return _read_bytes(path, run).decode(_ENCODINGS[encoding])
    except UnicodeDecodeError as exc:
        allowed = ", ".join(_ENCODINGS)
        raise run.fail(
            f"file {path} is not valid {encoding} text (byte {exc.start}); set 'encoding' to one of {allowed}"
        ) from exc


# --------------------------------------------------------------------------------------------
# Type inference for text data (CSV cells, partition values). Matching and casting go through
# pyarrow compute so a large file is not parsed value by value in Python.

_TRUE_WORDS = ("true", "t", "y", "1")
_FALSE_WORDS = ("false", "f", "n", "0")
_INT_TEXT = r"[+-]?\d+"
_FLOAT_TEXT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Nn]a[Nn]"
_ISO_DATETIME_TEXT = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_SLASH_DATE_TEXT = r"\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


def _infer_column(column: pd.Series) -> pd.Series:
    """Give a column of strings (None = null) the first type every non-null value fits."""
    values = column.dropna()
    if values.empty:
        return column
    text = _text_array(values)
    for parse in (_infer_bools, _infer_ints, _infer_floats, _infer_datetimes):
        parsed = parse(values, text)
        if parsed is not None:
            return parsed.reindex(column.index)
    return column


def _infer_bools(values: pd.Series, text: pa.Array) -> pd.Series | None:
    # Bool is tried first, so a column of only 1/0 is bool: the reference does the same.
    lowered = pc.utf8_lower(text)
    if not pc.all(pc.is_in(lowered, value_set=pa.array(_TRUE_WORDS + _FALSE_WORDS))).as_py():
        return None
    return _series(pc.is_in(lowered, value_set=pa.array(_TRUE_WORDS)), values.index)


def _infer_ints(values: pd.Series, text: pa.Array) -> pd.Series | None:
    if not _all_match(text, _INT_TEXT):
        return None
    ints = _cast_text(text, pa.int64())  # drops leading zeros, as the reference does ("02134")
    return None if ints.null_count else _series(ints, values.index)  # a null here is an overflow


def _infer_floats(values: pd.Series, text: pa.Array) -> pd.Series | None:
    if not _all_match(text, _FLOAT_TEXT):
        return None
    return _series(_cast_text(text, pa.float64()), values.index)  # "NaN" becomes a null float


def _infer_datetimes(values: pd.Series, text: pa.Array) -> pd.Series | None:
    if _all_match(text, _ISO_DATETIME_TEXT):
        parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
        return None if parsed.isna().any() else parsed.astype("datetime64[ns]")
    if _all_match(text, _SLASH_DATE_TEXT):
        month_first = _parse_datetimes(values, _MONTH_FIRST)
        day_first = _parse_datetimes(values, _DAY_FIRST)
        fits_month_first = not month_first.isna().any()
        fits_day_first = not day_first.isna().any()
        # A column that reads both ways (only 01/02/2024-like dates) is ambiguous: it stays text.
        if fits_month_first != fits_day_first:
            return month_first if fits_month_first else day_first
    return None


def _text_array(values: pd.Series) -> pa.Array:
    """The values as an arrow string array, nulls kept; non-strings are shown with str()."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([None if _is_null(value) else str(value) for value in values], type=pa.string())


def _is_null(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def _matches(text: pa.Array, pattern: str) -> pa.Array:
    """Whether each value matches all of ``pattern`` (null for nulls)."""
    return pc.match_substring_regex(text, f"^(?:{pattern})$")


def _all_match(text: pa.Array, pattern: str) -> bool:
    return pc.all(_matches(text, pattern)).as_py()  # nulls are skipped


def _cast_text(text: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """Cast checked text to a number type; a value that still fails (an overflow) becomes null."""
    text = pc.replace_substring_regex(text, r"^\+", "")  # arrow's parser rejects a leading '+'
    try:
        return pc.cast(text, arrow_type)
    except pa.ArrowInvalid:
        return pa.array([_cast_one(value, arrow_type) for value in text.to_pylist()], type=arrow_type)


def _cast_one(value: str | None, arrow_type: pa.DataType) -> Any:
    try:
        return pc.cast(pa.scalar(value, pa.string()), arrow_type).as_py()
    except pa.ArrowInvalid:
        return None


def _series(array: pa.Array, index: pd.Index) -> pd.Series:
    return array.to_pandas(types_mapper=_NULLABLE_ARROW_TYPES.get).set_axis(index)


def _flags(array: pa.Array) -> Any:
    """A null-free arrow boolean array as a numpy mask."""
    return array.to_numpy(zero_copy_only=False)


def _parse_datetimes(values: pd.Series, formats: Iterable[str]) -> pd.Series:
    """Parse each value with the first strptime format that fits; NaT where none does."""
    text = pd.Series(_text_array(values).to_pylist(), index=values.index, dtype=object)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & text.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        result[todo] = parsed.astype("datetime64[ns]")
    return result


# --------------------------------------------------------------------------------------------
# read_delimited

_DELIMITED_OPTIONS = {
    "delimiter": _Option(",", "a single character", lambda value: isinstance(value, str) and len(value) == 1),
    "header": _choice("all_files_same_headers", _HEADERS),
    "encoding": _choice("utf8", _ENCODINGS),
    "empty_as_string": _flag(False),
    "infer_column_types": _flag(True),
    "include_path_column": _flag(False),
    "support_multi_line": _flag(False),
}


def _validate_delimited(value: Any, fail: Fail) -> dict[str, Any]:
    return _options(value, _DELIMITED_OPTIONS, fail)


def _apply_delimited(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        records = [_csv_records(path, options, run) for path in paths]
        frames = _frames_with_headers(records, options["header"])
        data = _concat_text_frames(frames)
        if options["infer_column_types"]:
            data = pd.DataFrame({name: _infer_column(data[name]) for name in data.columns}, index=data.index)
        return data, [len(frame) for frame in frames]

    return _apply_read(table, run, options["include_path_column"], read_all)


def _csv_records(path: str, options: dict[str, Any], run: _Run) -> list[pd.Series]:
    """One file's records, header line included, as positional object columns.

    pyarrow does the parsing because it can tell an unquoted empty field (null, unless
    empty_as_string) from a quoted "" (always ''), which is what the reference does and what
    Python's csv module cannot report before 3.12.
    """
    text = _read_text(path, options["encoding"], run)
    # Name every column as text up front, or pyarrow would infer types ("007" -> 7) on its own.
    # Blank lines are skipped, as pyarrow skips them too.
    records = csv.reader(io.StringIO(text), delimiter=options["delimiter"])
    first_record = next((record for record in records if record), None)
    if first_record is None:
        return []
    every_column_as_text = {f"f{i}": pa.string() for i in range(len(first_record))}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(
                delimiter=options["delimiter"], newlines_in_values=options["support_multi_line"]
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=every_column_as_text,
                null_values=[""],
                strings_can_be_null=not options["empty_as_string"],
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise run.fail(f"file {path} could not be parsed: {_one_line(str(exc))}") from exc
    return [_object_series(column.to_pylist()) for column in table.columns]


def _frames_with_headers(records: list[list[pd.Series]], header: str) -> list[pd.DataFrame]:
    """Name each file's columns as the header mode says and drop the header lines."""
    frames = []
    names: list[str] = []
    for number, columns in enumerate(records):
        if header == "no_header":
            names, rows = [], columns
        elif header == "all_files_different_headers" or number == 0:
            names, rows = _header_names(columns), [column.iloc[1:] for column in columns]
        elif header == "all_files_same_headers":
            rows = [column.iloc[1:] for column in columns]  # the first line is a header again
        else:  # from_first_file: every line of later files is data
            rows = columns
        frames.append(_named_frame(names, rows))
    return frames


def _header_names(columns: list[pd.Series]) -> list[str]:
    names: list[str] = []
    for position, column in enumerate(columns, 1):
        name = column.iloc[0] if len(column) else None
        name = name if name else f"Column{position}"
        # Duplicate names would make columns unaddressable; number the repeats.
        unique, suffix = name, 1
        while unique in names:
            unique, suffix = f"{name}_{suffix}", suffix + 1
        names.append(unique)
    return names


def _named_frame(names: list[str], rows: list[pd.Series]) -> pd.DataFrame:
    # Columns past the header (or all of them without one) are named Column1..N.
    labels = [names[i] if i < len(names) else f"Column{i + 1}" for i in range(len(rows))]
    return pd.DataFrame({label: row.reset_index(drop=True) for label, row in zip(labels, rows, strict=True)})


def _concat_text_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    # Outer concat keeps first-seen column order, which is the union the reference builds for
    # all_files_different_headers; cells missing from a file come back as NaN, made None here.
    if not frames:
        return pd.DataFrame()
    data = pd.concat(frames, ignore_index=True)
    return pd.DataFrame({name: _none_for_nulls(data[name].astype(object)) for name in data.columns})


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
    return _options(value, {"include_path_column": _flag(False)}, fail)


def _apply_parquet(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        frames = [_parquet_frame(path, run) for path in paths]
        data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return data, [len(frame) for frame in frames]

    return _apply_read(table, run, options["include_path_column"], read_all)


def _parquet_frame(path: str, run: _Run) -> pd.DataFrame:
    try:
        arrow_table = pq.read_table(path)
    except FileNotFoundError as exc:
        raise run.fail(f"file {path} was not found", "not_found") from exc
    except (pa.ArrowException, OSError) as exc:
        raise run.fail(f"file {path} is not a readable parquet file: {_one_line(str(exc))}") from exc
    return arrow_table.to_pandas(types_mapper=_NULLABLE_ARROW_TYPES.get)


# --------------------------------------------------------------------------------------------
# read_json_lines


def _validate_json_lines(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "encoding": _choice("utf8", _ENCODINGS),
        "include_path_column": _flag(False),
        "invalid_lines": _choice("error", ("error", "drop")),
    }
    return _options(value, spec, fail)


def _apply_json_lines(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        per_file = [_json_records(path, options, run) for path in paths]
        records = [record for records in per_file for record in records]
        names = list(dict.fromkeys(key for record in records for key in record))
        data = pd.DataFrame({name: _json_column([record.get(name) for record in records]) for name in names})
        return data, [len(records) for records in per_file]

    return _apply_read(table, run, options["include_path_column"], read_all)


def _json_records(path: str, options: dict[str, Any], run: _Run) -> list[dict]:
    records = []
    # split("\n") rather than splitlines(): JSON strings may hold a raw U+2028, which is no line end.
    for number, line in enumerate(_read_text(path, options["encoding"], run).split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            problem = "" if isinstance(record, dict) else "a JSON value that is not an object"
        except json.JSONDecodeError as exc:
            record, problem = None, exc.msg
        if problem:
            if options["invalid_lines"] == "drop":
                continue
            raise run.fail(
                f"line {number} of {path} is not a JSON object ({problem}); "
                "fix it or set invalid_lines: drop to skip such lines"
            )
        records.append(record)
    return records


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
        return pd.Series(kept, dtype="float64")
    if kind is list:
        try:  # arrow turns JSON arrays into numpy arrays, as the reference returns them
            return pa.array(kept).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return _object_series(kept)
    return _object_series(kept)


# --------------------------------------------------------------------------------------------
# Row and column steps: take, skip, take_random_sample, drop_columns, keep_columns


def _validate_count(value: Any, fail: Fail) -> int:
    if not _is_count(value):
        raise fail(f"expects a whole number of rows >= 0, got {value!r}")
    return value


def _apply_take(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    return table.iloc[:count]


def _apply_skip(table: pd.DataFrame, count: int, run: _Run) -> pd.DataFrame:
    return table.iloc[count:]


def _validate_sample(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "probability": _Option(
            None,
            "a number between 0 and 1",
            lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1,
        ),
        "seed": _Option(
            None, "a whole number", lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))
        ),
    }
    return _options(value, spec, fail)


def _apply_sample(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    # Each row is kept independently with the given probability; a seed makes it repeatable.
    rng = random.Random(options["seed"])
    keep = [rng.random() < options["probability"] for _ in range(len(table))]
    return table[keep]


def _validate_columns(value: Any, fail: Fail) -> tuple[str, ...]:
    return _column_names(value, fail)


def _check_columns_exist(table: pd.DataFrame, names: Iterable[str], run: _Run) -> None:
    for name in names:
        if name not in table.columns:
            raise run.fail(f"column '{name}' not found (columns: {', '.join(map(str, table.columns))})")


def _apply_drop_columns(table: pd.DataFrame, names: tuple[str, ...], run: _Run) -> pd.DataFrame:
    _check_columns_exist(table, names, run)
    return table.drop(columns=list(names))


def _apply_keep_columns(table: pd.DataFrame, names: tuple[str, ...], run: _Run) -> pd.DataFrame:
    _check_columns_exist(table, names, run)
    return table[[name for name in table.columns if name in names]]  # the table's order, not the list's


# --------------------------------------------------------------------------------------------
# convert_column_types

_PLAIN_TRUE = ("true", "True", "TRUE", "1")
_PLAIN_FALSE = ("false", "False", "FALSE", "0")


@dataclass(frozen=True)
class _Conversion:
    columns: tuple[str, ...]
    convert: Callable[[pd.Series], pd.Series]


def _validate_conversions(value: Any, fail: Fail) -> tuple[_Conversion, ...]:
    entries = value if isinstance(value, list) else [value]
    conversions = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"columns", "column_type"}:
            raise fail(f"entry {number} must be a mapping with 'columns' and 'column_type', got {entry!r}")

        def entry_fail(detail: str, number: int = number) -> MLTableError:
            return fail(f"entry {number}: {detail}")

        columns = _column_names(entry["columns"], entry_fail)
        conversions.append(_Conversion(columns, _converter(entry["column_type"], entry_fail)))
    return tuple(conversions)


def _converter(column_type: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    allowed = "int, float, string, boolean, {boolean: {true_values, false_values, mismatch_as}}, {datetime: {formats}}"
    if column_type == "int":
        return _to_int
    if column_type == "float":
        return _to_float
    if column_type == "string":
        return _to_string
    if column_type == "boolean":
        return lambda column: _to_bool(column, _PLAIN_TRUE, _PLAIN_FALSE, None)
    if isinstance(column_type, dict) and len(column_type) == 1:
        ((kind, settings),) = column_type.items()
        if kind == "boolean":
            return _boolean_converter(settings, fail)
        if kind == "datetime":
            return _datetime_converter(settings, fail)
    raise fail(f"column_type {column_type!r} is not supported (allowed: {allowed})")


def _boolean_converter(settings: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    def texts(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    spec = {
        "true_values": _Option(list(_PLAIN_TRUE), "a list of strings", texts),
        "false_values": _Option(list(_PLAIN_FALSE), "a list of strings", texts),
        # YAML reads an unquoted true/false as a bool, so accept both spellings.
        "mismatch_as": _Option(
            "error", "one of true, false, error", lambda v: str(v).lower() in ("true", "false", "error")
        ),
    }
    options = _options(settings, spec, fail)
    mismatch = {"true": True, "false": False, "error": None}[str(options["mismatch_as"]).lower()]
    return lambda column: _to_bool(column, options["true_values"], options["false_values"], mismatch)


def _datetime_converter(settings: Any, fail: Fail) -> Callable[[pd.Series], pd.Series]:
    def strings(value: Any) -> bool:
        return isinstance(value, str) or (
            isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        )

    spec = {"formats": _Option(None, "a strftime format or a list of them (e.g. '%Y-%m-%d')", strings)}
    formats = _options(settings, spec, fail)["formats"]
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    return lambda column: _to_datetime(column, formats)


# Values that cannot be converted become null: the reference raises no error here, not even
# with mismatch_as: error.


def _to_int(column: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        return column.astype("Int64")
    if pd.api.types.is_float_dtype(column.dtype):
        whole = column.notna() & (column % 1 == 0)
        return column.where(whole).astype("Float64").astype("Int64")
    text = _text_array(column)
    checked = pc.if_else(_matches(text, _INT_TEXT), text, pa.scalar(None, pa.string()))
    return _series(_cast_text(checked, pa.int64()), column.index)


def _to_float(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column.dtype):
        return pd.Series(column.to_numpy(dtype="float64", na_value=float("nan")), index=column.index)
    text = _text_array(column)
    checked = pc.if_else(_matches(text, _FLOAT_TEXT), text, pa.scalar(None, pa.string()))
    return _series(_cast_text(checked, pa.float64()), column.index)


def _to_string(column: pd.Series) -> pd.Series:
    return _object_series((None if _is_null(value) else str(value) for value in column), column.index)


def _to_bool(
    column: pd.Series, true_values: Iterable[str], false_values: Iterable[str], mismatch: bool | None
) -> pd.Series:
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("boolean")
    text = _text_array(column)
    result = pd.Series(mismatch, index=column.index, dtype="boolean")
    result[_flags(pc.is_in(text, value_set=pa.array(list(true_values), pa.string())))] = True
    result[_flags(pc.is_in(text, value_set=pa.array(list(false_values), pa.string())))] = False
    result[_flags(pc.is_null(text))] = pd.NA  # a null stays null whatever mismatch_as says
    return result


def _to_datetime(column: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column
    return _parse_datetimes(column, formats)


def _apply_conversions(table: pd.DataFrame, conversions: tuple[_Conversion, ...], run: _Run) -> pd.DataFrame:
    table = table.copy()
    for conversion in conversions:
        _check_columns_exist(table, conversion.columns, run)
        for name in conversion.columns:
            table[name] = conversion.convert(table[name])
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
    pattern: re.Pattern[str]
    columns: tuple[tuple[str, str | None], ...]  # (column name, strptime format or None)


def _validate_partition_format(value: Any, fail: Fail) -> _PartitionFormat:
    if not isinstance(value, str):
        value = _options(
            value, {"partition_format": _Option(None, "a string", lambda v: isinstance(v, str))}, fail
        )["partition_format"]
    regex, columns, position = [], [], 0
    for match in _PLACEHOLDER.finditer(value):
        name, date_format = match.group(1).strip(), match.group(2)
        if not name:
            raise fail(f"partition_format {value!r} has a placeholder without a column name")
        regex.append(re.escape(value[position : match.start()]))
        if date_format is None:
            regex.append(f"(?P<g{len(columns)}>[^/]+?)")
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
    # The format describes the end of each file's path.
    body = "".join(regex).lstrip("/") + re.escape(rest)
    return _PartitionFormat(re.compile(r"(?:^|/)" + body + "$"), tuple(columns))


def _apply_partition_format(table: pd.DataFrame, partition: _PartitionFormat, run: _Run) -> pd.DataFrame:
    # After the read the values come from the data's Path column, so without
    # include_path_column every value is null: the reference behaves the same, silently.
    paths = table[PATH_COLUMN] if PATH_COLUMN in table.columns else [None] * len(table)
    matches = [partition.pattern.search(path) if isinstance(path, str) else None for path in paths]
    table = table.copy()
    for number, (name, date_format) in enumerate(partition.columns):
        values = _object_series(
            (match.group(f"g{number}") if match else None for match in matches), table.index
        )
        if date_format:
            table[name] = _parse_datetimes(values, [date_format])
        else:
            # Before the read the reference type-infers them (month=01 -> 1); after it, text.
            table[name] = values if run.data_read else _infer_column(values)
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
}
_STRING_METHODS = {"startswith", "endswith"}
_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
    ast.Compare, ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Call, ast.Attribute,
    ast.List, ast.Tuple, *_COMPARISONS, *_ARITHMETIC,
)  # fmt: skip


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
    # An attribute is only ever the method of a call: `name.startswith("x")`.
    methods = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise fail(f"expression {value!r} uses {type(node).__name__}, which filters do not support")
        if isinstance(node, ast.Call):
            _check_call(node, value, fail)
        if isinstance(node, ast.Attribute) and (node.attr not in _STRING_METHODS or id(node) not in methods):
            raise fail(
                f"expression {value!r} uses '.{node.attr}' (allowed: .startswith(...), .endswith(...))"
            )
    return _Filter(value, tree)


def _check_call(node: ast.Call, source: str, fail: Fail) -> None:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS:
        if len(node.args) != 1:
            raise fail(f"expression {source!r}: .{func.attr}() takes one argument")
    elif isinstance(func, ast.Name) and func.id == "col":
        if (
            len(node.args) != 1
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[0].value, str)
        ):
            raise fail(f"expression {source!r}: col() takes one quoted column name")
    elif not (isinstance(func, ast.Name) and func.id == "datetime"):
        allowed = "col, datetime, .startswith, .endswith"
        raise fail(f"expression {source!r} calls {ast.unparse(func)!r} (allowed: {allowed})")
    if node.keywords:
        raise fail(f"expression {source!r} passes keyword arguments, which filters do not support")


def _apply_filter(table: pd.DataFrame, expression: _Filter, run: _Run) -> pd.DataFrame:
    try:
        result = _FilterEvaluator(table, run).logic(expression.tree.body)
    except (TypeError, ValueError, AttributeError) as exc:
        raise run.fail(
            f"expression {expression.source!r} could not be evaluated: {_one_line(str(exc))}"
        ) from exc
    # A null never matches, even under `not` or `!=`: null propagates and counts as false.
    return table[result.fillna(False).astype(bool).to_numpy()]


class _FilterEvaluator:
    """Evaluates a validated expression tree; columns are Series, literals stay scalars.

    Comparisons return nullable booleans that are null wherever an operand is null, and
    and/or/not use Kleene logic over them.
    """

    def __init__(self, table: pd.DataFrame, run: _Run) -> None:
        self.table = table
        self.run = run

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.column(node.id)
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return _ARITHMETIC[type(node.op)](self.value(node.left), self.value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.value(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return +self.value(node.operand)
        return self.logic(node)

    def logic(self, node: ast.AST) -> pd.Series:
        if isinstance(node, ast.BoolOp):
            combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
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
        # a < b < c means a < b and b < c, as in Python.
        left = self.value(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            if isinstance(op, ast.In | ast.NotIn):
                matched = self.series(left).isin(right if isinstance(right, list) else [right])
                outcome = ~matched if isinstance(op, ast.NotIn) else matched
            else:
                outcome = _COMPARISONS[type(op)](left, right)
            outcome = self.as_logic(outcome).mask(self.nulls(left) | self.nulls(right))
            result = outcome if result is None else result & outcome
            left = right
        return result

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            text = self.series(self.value(func.value))
            argument = self.value(node.args[0])
            matched = getattr(text.str, func.attr)(argument)
            return self.as_logic(matched).mask(text.isna())
        if func.id == "col":
            return self.column(node.args[0].value)
        return pd.Timestamp(dt.datetime(*[self.value(arg) for arg in node.args]))

    def column(self, name: str) -> pd.Series:
        if name not in self.table.columns:
            columns = ", ".join(map(str, self.table.columns))
            raise self.run.fail(f"column '{name}' not found (columns: {columns})")
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
    "take": _Handler(_validate_count, _apply_take),
    "skip": _Handler(_validate_count, _apply_skip),
    "take_random_sample": _Handler(_validate_sample, _apply_sample),
    "drop_columns": _Handler(_validate_columns, _apply_drop_columns),
    "keep_columns": _Handler(_validate_columns, _apply_keep_columns),
    "convert_column_types": _Handler(_validate_conversions, _apply_conversions),
    "extract_columns_from_partition_format": _Handler(_validate_partition_format, _apply_partition_format),
    "filter": _Handler(_validate_filter, _apply_filter),
}
