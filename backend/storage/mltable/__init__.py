"""Read Azure ML ``MLTable`` folders into pandas DataFrames.

An MLTable folder holds a YAML file named ``MLTable`` that lists data ``paths`` and a pipeline of
``transformations`` (a read step such as ``read_delimited`` plus row/column steps). What is accepted
follows the format's JSON schema (``mltable/schema/MLTable.json`` in Microsoft's ``mltable``
package) and what the reference engine (``mltable`` 1.7 on rslex 2.26) accepts on top of it; the
behaviour, quirks included, follows the reference as recorded by the conformance cases in
``tests/fixtures/mltable`` and by the oracle test that compares this reader with the reference.

The pipeline runs over one DataFrame. Before the read step it is the file list (a ``Path``
column, plus any partition columns); the read step expands every file into its rows. A hidden
column keeps the file each row came from (the reference's partitions, for ``select_partitions``).
Columns use pandas' nullable dtypes while the pipeline runs, because the reference decides
``int64`` vs ``float64`` (and ``bool`` vs ``object``) from the final rows only; ``_finalize`` turns
them into the plain dtypes the reference returns.

The parts: ``_core`` (hidden columns, the error, a run's state), ``_load`` (the YAML and its
validation), ``_options`` (step options), ``_files`` (file listing and reading), ``_values``,
``_dates`` and ``_infer`` (text to values, type inference), one module per read step
(``_delimited``, ``_json_lines``, ``_parquet``, ``_delta``), the other steps (``_rows``,
``_columns``, ``_conversions``, ``_partition_format``, ``_filter``), ``_steps`` (the table of
transformations) and ``_finalize`` (the dtypes the reference returns).

This package is also loaded on its own inside jobs (``backend/runtime/mltable``), where the
``backend`` package does not exist: it imports nothing else from Studio, and only relatively
inside itself.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._core import MLTABLE_FILE, PATH_COLUMN, MLTableError, Resolver, _Run
from ._files import _list_files
from ._finalize import _COLUMNAR_STEPS, _finalize
from ._load import (
    _BARE,
    _check_readers,
    _check_top_level,
    _locate,
    _parse_yaml,
    _raw_steps,
    _Step,
    _step_name_and_value,
    _validate_paths,
    _validate_step,
)
from ._steps import _HANDLERS

__all__ = [
    "MLTABLE_FILE",
    "PATH_COLUMN",
    "MLTable",
    "MLTableError",
    "Resolver",
    "load_mltable",
    "mltable_from_dict",
    "read_mltable",
]


@dataclass(frozen=True)
class MLTable:
    """A parsed and validated MLTable. Nothing is read until ``to_pandas_dataframe``."""

    path: Path  # the MLTable file itself; relative data paths are relative to its folder
    paths: tuple[dict[str, str], ...]  # each {"file" | "folder" | "pattern": value}, as written
    steps: tuple[_Step, ...]
    # Maps non-local URIs in `paths` (azureml://...) to local paths; without it they are an error.
    resolve: Resolver | None = field(default=None, compare=False, repr=False)
    label: str = ""  # how messages name this table; "MLTable at <path>" by default

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def where(self) -> str:
        return self.label or f"MLTable at {self.path}"

    @property
    def transformations(self) -> list[str]:
        return [step.name for step in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """The table as an MLTable YAML document (paths as written)."""
        doc: dict[str, Any] = {"paths": [dict(entry) for entry in self.paths]}
        if self.steps:
            doc["transformations"] = [
                step.name if step.raw is _BARE else {step.name: step.raw} for step in self.steps
            ]
        return doc

    def with_step(self, name: str, value: Any, index: int | None = None) -> MLTable:
        """A new table with the step ``name: value`` added (at the end, or at ``index``).

        The step is validated as it would be in an MLTable file; bad input raises here.
        """
        step = _validate_step(name, value, self.where)
        steps = list(self.steps)
        steps.insert(len(steps) if index is None else index, step)
        _check_readers(steps, self.where)
        return dataclasses.replace(self, steps=tuple(steps))

    def to_pandas_dataframe(self) -> pd.DataFrame:
        run = _Run(self)
        table = _list_files(self.paths, run)
        for step in self.steps:
            handler = _HANDLERS[step.name]
            run.step = step.name
            table = handler.apply(table, step.options, run)
            if run.data_read and step.name not in _COLUMNAR_STEPS:
                run.records |= set(run.partitions)
            run.data_read = run.data_read or handler.reads_files
        run.step = ""
        return _finalize(table, run)


def load_mltable(folder: str | os.PathLike[str], resolve: Resolver | None = None) -> MLTable:
    """Parse and validate the MLTable in ``folder`` (or at that file path).

    ``resolve(uri) -> local path`` maps non-local URIs in ``paths`` (for example ``azureml://``
    inside a job) to local paths; without it such paths are an error when the data is read.
    """
    file = _locate(folder)
    where = f"MLTable at {file}"
    return mltable_from_dict(_parse_yaml(file, where), file, resolve=resolve, label=where)


def mltable_from_dict(
    doc: Any, file: str | os.PathLike[str], *, resolve: Resolver | None = None, label: str = ""
) -> MLTable:
    """Validate an MLTable document; relative paths are relative to ``file``'s folder.

    ``file`` need not exist: tables built in code (``from_delimited_files``) name a file in the
    folder their paths are relative to.
    """
    file = Path(os.path.abspath(file))
    where = label or f"MLTable at {file}"
    _check_top_level(doc, where)
    steps = tuple(_validate_step(*_step_name_and_value(raw, where), where) for raw in _raw_steps(doc, where))
    _check_readers(steps, where)
    return MLTable(path=file, paths=_validate_paths(doc, where), steps=steps, resolve=resolve, label=label)


def read_mltable(folder: str | os.PathLike[str], resolve: Resolver | None = None) -> pd.DataFrame:
    return load_mltable(folder, resolve).to_pandas_dataframe()
