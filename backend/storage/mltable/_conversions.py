"""``convert_column_types`` (and ``read_delimited``'s type overrides): a converter per column type."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._columns import _Selector, _validate_selector
from ._core import Fail, MLTableError, _object_series, _Run, _visible
from ._finalize import _record_column
from ._options import _choice, _flag, _Option, _options, _text
from ._values import (
    _PLAIN_FALSE,
    _PLAIN_TRUE,
    _bool_of,
    _convert,
    _float_of,
    _int_of,
    _or_untyped,
    _untyped,
    _value_text,
)


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
