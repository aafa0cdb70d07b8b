"""Values: how the reference reads text as numbers and booleans, shows values as text, and builds
a column value by value (nulls kept apart from NaN values)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._core import _object_series

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1

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


def _text_array(values: Iterable[Any]) -> pa.Array:
    """The values as an arrow string array, nulls kept; non-strings are shown as text."""
    values = list(values)
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_value_text(value) for value in values], type=pa.string())


def _all_match(text: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(text, f"^(?:{pattern})$")).as_py() is not False)


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
