"""What every command shares: the workspace option, output rendering, error reporting."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", envvar="STUDIO_WORKSPACE", help="Workspace to act in (default: 'default')."
    ),
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="json or table.")]


def workspace_name(option: str | None) -> str:
    from backend.settings import get_settings

    return option or get_settings().workspace


def to_plain(value: Any) -> Any:
    """Pydantic models and lists of them as JSON-ready data."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def emit(value: Any, output: OutputFormat, columns: Sequence[str] | None = None) -> None:
    data = to_plain(value)
    if output == OutputFormat.json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    if not isinstance(data, list) and columns is None:
        _emit_record(data)
        return
    _emit_table(rows, columns or (list(rows[0].keys()) if rows else []))


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def _emit_table(rows: Iterable[dict], columns: Sequence[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    Console(width=200).print(table)


def _emit_record(record: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("field", "value", show_header=False)
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = "; ".join(v.get("name", _cell(v)) for v in value)
        table.add_row(key, _cell(value))
    Console(width=200).print(table)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_tags(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--tags expects key=value, got {pair!r}")
        tags[key] = value
    return tags


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
