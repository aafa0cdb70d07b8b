"""The request bodies an ``mlflow_model`` deployment accepts, turned into rows (no pandas here).

The cloud's ``{"input_data": {"columns", "index", "data"}}`` (split orientation) and
``{"input_data": [[...]]}``, and MLflow's own ``dataframe_split``, ``dataframe_records``, ``instances``
and ``inputs`` (a list of rows, a list of records, or a {column: values} mapping). Every format becomes a
``Rows``: column names (or None: the model signature's names, else positions) and a list of row lists, so
that requests with the same columns can be stacked into one frame and predicted together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

FORMATS = ("input_data", "dataframe_split", "dataframe_records", "instances", "inputs")


class BadRequest(ValueError):
    """The body is not a request this server understands (answered with 400)."""


@dataclass
class Rows:
    columns: tuple[str, ...] | None
    rows: list[list]


def _from_split(value: object, where: str) -> Rows:
    if not isinstance(value, dict) or "data" not in value:
        raise BadRequest(f"{where} must be an object with 'data' (and 'columns', 'index')")
    data = value["data"]
    columns = value.get("columns")
    if not isinstance(data, list):
        raise BadRequest(f"{where}.data must be a list of rows")
    rows = [row if isinstance(row, list) else [row] for row in data]
    return Rows(tuple(str(c) for c in columns) if columns is not None else None, rows)


def _from_records(records: list, where: str) -> Rows:
    columns: dict[str, None] = {}
    for record in records:
        if not isinstance(record, dict):
            raise BadRequest(f"{where} must be a list of objects (records)")
        columns.update(dict.fromkeys(record))
    names = tuple(columns)
    return Rows(names, [[record.get(name) for name in names] for record in records])


def _from_list_or_mapping(value: object, where: str) -> Rows:
    if isinstance(value, dict):
        if "data" in value and ("columns" in value or "index" in value):
            return _from_split(value, where)
        names = tuple(value)
        columns = [v if isinstance(v, list) else [v] for v in value.values()]
        if len({len(c) for c in columns}) > 1:
            raise BadRequest(f"{where}: every column must hold as many values")
        # the lengths are checked above (zip's strict= needs Python 3.10)
        return Rows(names, [list(row) for row in zip(*columns)])  # noqa: B905
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return _from_records(value, where)
        return Rows(None, [row if isinstance(row, list) else [row] for row in value])
    raise BadRequest(f"{where} must be a list of rows, a list of records or a {{column: values}} object")


def parse(body: bytes | str) -> Rows:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadRequest(f"expected a JSON object with one of {', '.join(FORMATS)}")
    present = [key for key in FORMATS if key in payload]
    if len(present) != 1:
        raise BadRequest(
            f"expected exactly one of {', '.join(FORMATS)} in the request body, got "
            f"{', '.join(present) if present else 'none (keys: ' + ', '.join(map(str, payload)) + ')'}"
        )
    key = present[0]
    value = payload[key]
    if key == "dataframe_split":
        return _from_split(value, key)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise BadRequest("dataframe_records must be a list of objects")
        return _from_records(value, key)
    return _from_list_or_mapping(value, key)
