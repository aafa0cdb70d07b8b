"""``read_delta_lake``: the parquet files of a Delta table's version, from its ``_delta_log``.

As in the reference, the data files are read in path order and partition values are not added
as columns.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pandas as pd

from ._core import Fail, _Run
from ._files import _file_list, _local_path
from ._options import _flag, _Option, _options, _whole
from ._parquet import _apply_parquet

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


def _validate_delta(value: Any, fail: Fail) -> dict[str, Any]:
    spec = {
        "version_as_of": _whole(),
        "timestamp_as_of": _Option(
            None,
            "an RFC-3339 time such as 2022-10-01T00:00:00Z",
            lambda v: isinstance(v, str) and bool(_RFC3339.fullmatch(v)),
        ),
        "include_path_column": _flag(False),
    }
    options = _options(value, spec, fail)
    if options["version_as_of"] is not None and options["timestamp_as_of"] is not None:
        raise fail("give version_as_of or timestamp_as_of, not both")
    return options


def _apply_delta(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    roots = [_local_path(value, run) for entry in run.table.paths for value in entry.values()]
    files = [path for root in roots for path in _delta_files(root, options, run)]
    # The table's data files replace the file list of its folder; they are read as parquet.
    return _apply_parquet(_file_list(files, run), options, run)


def _delta_files(root: str, options: dict[str, Any], run: _Run) -> list[str]:
    """The data files of the Delta table at ``root`` in the version asked for."""
    commits = sorted((Path(root) / "_delta_log").glob("[0-9]" * 20 + ".json"))
    if not commits:
        raise run.fail(f"{root} is no Delta table: it has no _delta_log commits", "not_found")
    logs = [
        [json.loads(line) for line in commit.read_text(encoding="utf-8").splitlines() if line.strip()]
        for commit in commits
    ]
    latest = int(commits[-1].stem)
    version = options["version_as_of"]
    if options["timestamp_as_of"] is not None:
        limit = pd.Timestamp(options["timestamp_as_of"])
        limit = limit.tz_convert("UTC") if limit.tzinfo else limit.tz_localize("UTC")
        eligible = [
            int(commit.stem)
            for commit, log in zip(commits, logs, strict=True)
            if _commit_time(commit, log) <= limit
        ]
        if not eligible:
            raise run.fail(f"the Delta table at {root} has no version as old as {options['timestamp_as_of']}")
        version = max(eligible)
    if version is not None and version > latest:
        raise run.fail(f"the Delta table at {root} has no version {version} (the latest is {latest})")
    active: set[str] = set()
    for commit, log in zip(commits, logs, strict=True):
        if version is not None and int(commit.stem) > version:
            break
        for action in log:
            if "add" in action:
                active.add(action["add"]["path"])
            elif "remove" in action:
                active.discard(action["remove"]["path"])
    return sorted(os.path.normpath(os.path.join(root, urllib.parse.unquote(path))) for path in active)


def _commit_time(commit: Path, log: list[dict]) -> pd.Timestamp:
    """When a version was written: its files' modification time, else its commitInfo, else the file's."""
    added = [action["add"].get("modificationTime") for action in log if "add" in action]
    added = [stamp for stamp in added if isinstance(stamp, int)]
    if added:
        return pd.Timestamp(max(added), unit="ms", tz="UTC")
    info = next((action["commitInfo"] for action in log if "commitInfo" in action), {})
    if isinstance(info.get("timestamp"), int):
        return pd.Timestamp(info["timestamp"], unit="ms", tz="UTC")
    return pd.Timestamp(commit.stat().st_mtime, unit="s", tz="UTC")
