"""Cohorts: a list of filters ``{"column", "op", "value"}`` ANDed together.

The same filters come from the error tree (its nodes), from the pages (a user's cohort) and from the
reference fixture, so a bad filter gets one message that says exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "between")
LIST_OPS = ("in", "not_in")


def validate(filters: Any, columns: Iterable[str]) -> list[dict]:
    """The filters normalized (``in`` values as lists); ValueError naming the filter, field and fix."""
    if filters is None:
        return []
    if not isinstance(filters, (list, tuple)):
        raise ValueError(
            f"filters must be a list of {{column, op, value}} objects, got {type(filters).__name__}"
        )
    known = list(columns)
    return [_validate_one(i, f, known) for i, f in enumerate(filters, start=1)]


def _validate_one(number: int, item: Any, columns: list[str]) -> dict:
    where = f"filter #{number}"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be an object with column, op and value, got {item!r}")
    missing = [k for k in ("column", "op", "value") if k not in item]
    if missing:
        raise ValueError(f"{where}: missing field {', '.join(missing)} (a filter has column, op and value)")
    column, op, value = item["column"], item["op"], item["value"]
    if column not in columns:
        raise ValueError(
            f"{where}: field column: unknown column {column!r}; allowed: {', '.join(map(str, columns))}"
        )
    if op not in OPS:
        raise ValueError(f"{where} ({column}): field op: unknown op {op!r}; allowed: {', '.join(OPS)}")
    return {"column": column, "op": op, "value": _validate_value(f"{where} ({column} {op})", op, value)}


def _validate_value(where: str, op: str, value: Any) -> Any:
    if op in LIST_OPS:
        if not isinstance(value, (list, tuple, set)) or not value:
            raise ValueError(f"{where}: field value: {op} needs a non-empty list of values, got {value!r}")
        return list(value)
    if op == "between":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"{where}: field value: between needs a [low, high] list, got {value!r}")
        if not _ordered(*value):
            raise ValueError(f"{where}: field value: between needs low <= high, got {value!r}")
        return list(value)
    if isinstance(value, (list, tuple, set, dict)):
        raise ValueError(
            f"{where}: field value: {op} needs a single value, got {value!r} (use in for a list)"
        )
    if op not in ("==", "!=") and _is_missing(value):
        raise ValueError(f"{where}: field value: {op} needs a value to compare with, got {value!r}")
    return value


def _ordered(low: Any, high: Any) -> bool:
    if _is_missing(low) or _is_missing(high):
        return False
    try:
        return bool(low <= high)
    except TypeError:
        return False


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def mask(df: pd.DataFrame, filters: Any) -> np.ndarray:
    """Boolean array: the rows of ``df`` inside the cohort (all rows for no filters)."""
    result = np.ones(len(df), dtype=bool)
    for number, f in enumerate(validate(filters, df.columns), start=1):
        try:
            result &= _apply(df[f["column"]], f["op"], f["value"])
        except TypeError as exc:
            raise ValueError(
                f"filter #{number} ({f['column']} {f['op']}): field value: {f['value']!r} cannot be compared "
                f"with the column's {df[f['column']].dtype} values ({exc})"
            ) from exc
    return result


def _apply(column: pd.Series, op: str, value: Any) -> np.ndarray:
    if op in LIST_OPS:
        hit = _isin(column, value)
        if op == "not_in":
            hit = ~hit
    elif op == "between":
        hit = (column >= value[0]) & (column <= value[1])
    else:
        hit = {
            "==": column.__eq__,
            "!=": column.__ne__,
            ">": column.__gt__,
            ">=": column.__ge__,
            "<": column.__lt__,
            "<=": column.__le__,
        }[op](value)
    return hit.fillna(False).to_numpy(dtype=bool)


def _isin(column: pd.Series, values: list) -> pd.Series:
    """``None`` / NaN in the list stands for the missing values (the error tree's missing category)."""
    present = [v for v in values if not _is_missing(v)]
    hit = column.isin(present)
    return hit | column.isna() if len(present) < len(values) else hit


def describe(filters: Any) -> str:
    """A readable cohort name, e.g. ``debt_ratio > 0.45 and credit_history_years < 3``."""
    if not filters:
        return "all rows"
    return " and ".join(_describe_one(f) for f in filters)


def _describe_one(f: dict) -> str:
    column, op, value = f["column"], f["op"], f["value"]
    if op == "between":
        return f"{describe_value(value[0])} <= {column} <= {describe_value(value[1])}"
    if op in LIST_OPS:
        words = "in" if op == "in" else "not in"
        return f"{column} {words} [{', '.join(describe_value(v) for v in value)}]"
    return f"{column} {op} {describe_value(value)}"


def describe_value(value: Any) -> str:
    """A filter value as text: whole floats without ".0", strings quoted."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)
