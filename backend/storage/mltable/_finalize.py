"""The frame the reference returns: the columns the remaining rows have, in its plain dtypes."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import numpy as np
import pandas as pd

from ._core import _FIELDS, _PARTITION, _object_series, _raise_bad_rows, _Run, _visible
from ._json_lines import _json_column
from ._values import _convert, _floats, _is_null, _untyped

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
