"""``read_json_lines``: one record per line; a column's type comes from its values at the end."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import pyarrow as pa

from ._core import _ERROR, _FIELDS, PATH_COLUMN, Fail, _object_series, _Run
from ._files import _apply_read, _has_utf16_bom, _read_text
from ._options import _choice, _flag, _is_int, _options, _text, _whole
from ._values import _I64_MAX, _I64_MIN, _floats

_JSON_ENCODINGS = ("utf8", "utf-8", "iso88591", "latin1", "ascii", "utf16", "windows1252")


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
