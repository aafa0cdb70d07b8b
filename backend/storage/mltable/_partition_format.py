"""``extract_columns_from_partition_format``: columns from the parts of each file's path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._conversions import _parse_datetimes
from ._core import PATH_COLUMN, Fail, _object_series, _Run
from ._options import _options, _text
from ._values import _or_untyped

# .NET-style tokens in {name:format} placeholders -> (strptime code, regex)
_DATE_TOKENS = {"yyyy": ("%Y", r"\d{4}"), "MM": ("%m", r"\d{2}"), "dd": ("%d", r"\d{2}"),
                "HH": ("%H", r"\d{2}"), "mm": ("%M", r"\d{2}"), "ss": ("%S", r"\d{2}")}  # fmt: skip
_DATE_TOKEN = re.compile("|".join(_DATE_TOKENS))
_PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class _PartitionFormat:
    source: str
    pattern: re.Pattern[str]
    columns: tuple[tuple[str, str | None], ...]  # (column name, strptime format or None)


def _validate_partition_format(value: Any, fail: Fail) -> _PartitionFormat:
    value = _options(value, {"partition_format": _text(required=True)}, fail)["partition_format"]
    regex, columns, position = [], [], 0
    for match in _PLACEHOLDER.finditer(value):
        name, date_format = match.group(1).strip(), match.group(2)
        if not name:
            raise fail(f"partition_format {value!r} has a placeholder without a column name")
        regex.append(re.escape(value[position : match.start()]))
        if date_format is None:
            regex.append(f"(?P<g{len(columns)}>[^/]+)")
            columns.append((name, None))
        else:
            token_regex = _DATE_TOKEN.sub(lambda m: _DATE_TOKENS[m.group()][1], re.escape(date_format))
            regex.append(f"(?P<g{len(columns)}>{token_regex})")
            columns.append((name, _DATE_TOKEN.sub(lambda m: _DATE_TOKENS[m.group()][0], date_format)))
        position = match.end()
    rest = value[position:]
    if not columns or "{" in rest or "}" in rest:
        raise fail(
            f"partition_format {value!r} needs {{column}} placeholders, e.g. 'year={{year}}/month={{month}}/'"
        )
    # The format is looked for from the start of a path segment; like the reference, it need not
    # reach the end of the path ("{name}.par" finds "a" in "a.parquet").
    body = "".join(regex).lstrip("/") + re.escape(rest)
    return _PartitionFormat(value, re.compile(r"(?:^|/)" + body), tuple(columns))


def _apply_partition_format(table: pd.DataFrame, partition: _PartitionFormat, run: _Run) -> pd.DataFrame:
    # After the read the values come from the data's Path column, so without
    # include_path_column every value is null: the reference behaves the same, silently.
    paths = table[PATH_COLUMN] if PATH_COLUMN in table.columns else [None] * len(table)
    matches = [partition.pattern.search(path) if isinstance(path, str) else None for path in paths]
    if not run.data_read:
        for path, match in zip(paths, matches, strict=True):
            if match is None:
                raise run.fail(f"file {path} does not match partition_format {partition.source!r}")
    table = table.copy()
    # Date columns come after the others, as in the reference.
    ordered = sorted(enumerate(partition.columns), key=lambda item: item[1][1] is not None)
    for number, (name, date_format) in ordered:
        values = _object_series(
            (match.group(f"g{number}") if match else None for match in matches), table.index
        )
        if name in table.columns:
            table = table.drop(columns=[name])
        if date_format:
            table[name] = _or_untyped(_parse_datetimes(values, [date_format]))
        else:
            # Text; placed before a read_delimited, they get its type inference (month=01 -> 1).
            table[name] = values
            if not run.data_read:
                run.partition_columns.append(name)
    return table
