"""What every part of the reader shares: the hidden columns, the error and the running pipeline's state.

Like the rest of this package, it imports nothing from Studio but ``backend.errors`` (and does
without it): inside a job the package is loaded on its own (``backend/runtime/mltable``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

try:
    from backend.errors import ValidationError
except ImportError:  # inside a job this package is loaded on its own, without Studio's packages
    ValidationError = ValueError  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from . import MLTable

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


Fail = Callable[[str], MLTableError]


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


def _one_line(text: str) -> str:
    return " ".join(text.split())
