"""The data files: listing the ``paths``, reading a file, and the read step's common part.

Before the read step the pipeline's table is the file list: one row per file (the reference's
partition), with its ``Path``; a read step expands each file into its rows (``_apply_read``).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._core import _PARTITION, PATH_COLUMN, MLTableError, _Run, _visible
from ._infer import _infer_column

# Encoding names -> Python codecs. Each reader accepts the names that both the JSON schema and
# rslex accept (they differ per reader). utf8 goes through utf-8-sig: the reference drops a BOM.
_CODECS = {
    "utf8": "utf-8-sig",
    "utf-8": "utf-8-sig",
    "iso88591": "latin-1",
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "latin-1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf-16": "utf-16",
    "windows1252": "cp1252",
    "windows-1252": "cp1252",
}


def _list_files(specs: tuple[dict[str, str], ...], run: _Run) -> pd.DataFrame:
    files: list[str] = []
    for spec in specs:
        ((kind, value),) = spec.items()
        files.extend(_resolve_path(kind, value, run))
    return _file_list(files, run)


def _file_list(files: list[str], run: _Run) -> pd.DataFrame:
    """The table before the read step: a row, and a partition, for each file."""
    run.partitions = list(range(len(files)))
    return pd.DataFrame(
        {PATH_COLUMN: pd.Series(files, dtype=object), _PARTITION: np.arange(len(files), dtype="int64")}
    )


def _resolve_path(kind: str, value: str, run: _Run) -> list[str]:
    location = _local_path(value, run)
    if kind == "file":
        if not os.path.isfile(location):
            raise run.fail(f"paths: file '{value}' was not found (looked at {location})", "not_found")
        return [location]
    if kind == "folder":
        if not os.path.isdir(location):
            raise run.fail(f"paths: folder '{value}' was not found (looked at {location})", "not_found")
        found = [os.path.join(root, name) for root, _, names in os.walk(location) for name in names]
    else:
        found = _glob_files(value, location, run)
        if not found:
            raise run.fail(f"paths: pattern '{value}' matched no files (searched {location})", "not_found")
    # The reference returns pattern matches sorted by path components; folders come back in raw
    # directory order, which has no stable meaning, so they are sorted the same way.
    return sorted(found, key=lambda path: Path(path).parts)


def _glob_files(value: str, location: str, run: _Run) -> list[str]:
    segments = location.split("/")
    if any("**" in segment and segment != "**" for segment in segments):
        raise run.fail(f"paths: pattern '{value}': '**' must be a whole path segment, as in 'data/**/*.csv'")
    if value.endswith("/") or segments[-1] == "**":
        return []  # the reference matches directories there, never files
    try:  # hidden files match too, as in the reference
        matches = glob.glob(location, recursive=True, include_hidden=True)
    except TypeError:  # Python < 3.11
        matches = glob.glob(location, recursive=True)
    return [match for match in matches if os.path.isfile(match)]


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _local_path(value: str, run: _Run) -> str:
    if value.startswith("file://"):
        # The reference does not make file:// paths relative to the MLTable: a relative one is
        # relative to the working directory, and the Path column shows it as written.
        return value[len("file://") :]
    if _SCHEME.match(value):
        resolve = run.table.resolve
        if resolve is None:
            raise run.fail(
                f"paths: '{value}' is not a local path; only local files and file:// URIs can be read here"
            )
        try:
            value = os.fspath(resolve(value))
        except (MLTableError, ValueError, LookupError, OSError) as exc:
            raise run.fail(f"paths: {exc}", getattr(exc, "category", "not_found")) from exc
    return os.path.normpath(os.path.join(run.folder, value))


def _apply_read(
    table: pd.DataFrame,
    options: dict[str, Any],
    run: _Run,
    read_all: Callable[[list[str]], tuple[pd.DataFrame, list[int]]],
    *,
    partitions_first: bool = False,
) -> pd.DataFrame:
    """Expand the file list into data rows; each file's rows keep its Path/partition columns.

    The path column comes first; the other columns of the file list (partitions) come before the
    data for read_delimited, which also type-infers the text ones, and after it otherwise.
    """
    path_column = options.get("path_column") or PATH_COLUMN
    if path_column not in _visible(table):
        raise run.fail(
            f"the file list has no column '{path_column}' (columns: {', '.join(_visible(table))}); "
            "path_column names the column that holds the file paths"
        )
    paths = list(table[path_column])
    if not all(isinstance(path, str) for path in paths):
        raise run.fail(f"column '{path_column}' does not hold file paths")
    data, counts = read_all(paths)
    run.data_columns = _visible(data)
    carried = table.loc[table.index.repeat(counts)].reset_index(drop=True)
    if not options["include_path_column"]:
        carried = carried.drop(columns=[path_column])
    clash = [name for name in data.columns if name in carried.columns]
    if clash:
        raise run.fail(
            f"the data has a column '{clash[0]}' and so has the file list (path or partition columns); "
            "rename it or set include_path_column: false"
        )
    data = data.reset_index(drop=True)
    if partitions_first:
        for name in run.partition_columns:
            if name in carried.columns:
                carried[name] = _infer_column(carried[name])
        return pd.concat([carried, data], axis=1)
    path = [name for name in carried.columns if name == path_column]
    return pd.concat([carried[path], data, carried.drop(columns=path)], axis=1)


def _read_bytes(path: str, run: _Run) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise run.fail(f"file {path} was not found", "not_found") from exc
    except OSError as exc:
        raise run.fail(f"file {path} could not be read ({exc.strerror})") from exc


def _read_text(path: str, encoding: str, run: _Run) -> str:
    # Bytes that are not valid in the encoding read as U+FFFD, as in the reference.
    return _read_bytes(path, run).decode(_CODECS[encoding], errors="replace")


def _has_utf16_bom(path: str, encoding: str, run: _Run) -> bool:
    return _CODECS[encoding] == "utf-16" and _read_bytes(path, run)[:2] in (b"\xff\xfe", b"\xfe\xff")
