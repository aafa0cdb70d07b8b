"""The table of transformations: each step's validation (at load) and its application (at read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._columns import _apply_drop_columns, _apply_keep_columns, _validate_selector
from ._conversions import _apply_conversions, _validate_conversions
from ._core import Fail, _Run
from ._delimited import _apply_delimited, _validate_delimited
from ._delta import _apply_delta, _validate_delta
from ._filter import _apply_filter, _validate_filter
from ._json_lines import _apply_json_lines, _validate_json_lines
from ._parquet import _apply_parquet, _validate_parquet
from ._partition_format import _apply_partition_format, _validate_partition_format
from ._rows import (
    _apply_partitions,
    _apply_sample,
    _apply_skip,
    _apply_take,
    _validate_count,
    _validate_partitions,
    _validate_sample,
    _validate_sampler,
)


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
