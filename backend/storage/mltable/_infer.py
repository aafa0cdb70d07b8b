"""Type inference for text data (CSV cells, partition values): the first type a column's values fit."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow.compute as pc

from ._dates import _DATE_LIKE, _SLASH_DATE, _read_date, _timestamp
from ._values import (
    _BOOL_TEXT,
    _FLOAT_TEXT,
    _I64_MAX,
    _I64_MIN,
    _INT_TEXT,
    _all_match,
    _bool_from_words,
    _convert,
    _float_of,
    _int_of,
    _text_array,
)


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
