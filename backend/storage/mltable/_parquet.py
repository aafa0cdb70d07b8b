"""``read_parquet``: the files' columns with their own types."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._core import PATH_COLUMN, Fail, _one_line, _Run
from ._files import _apply_read
from ._options import _flag, _options, _text

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
