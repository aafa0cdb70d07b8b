"""What every command shares: its options, calling a service, creating from a file or flags, the
archive and restore commands of versioned assets, output rendering and error reporting."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_type_hints

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


def version_option(help: str | None) -> Any:
    """``--version/-v`` with a help text saying which version it means (use inside ``Annotated``)."""
    return typer.Option("--version", "-v", help=help)


def type_option(help: str) -> Any:
    """``--type/-t`` with a help text naming the types (use inside ``Annotated``)."""
    return typer.Option("--type", "-t", help=help)


VersionOption = Annotated[str | None, version_option("Version (default: latest).")]
AllVersionsOption = Annotated[str | None, version_option("One version (default: all).")]
LabelOption = Annotated[
    str | None, typer.Option("--label", "-l", help="'latest': the highest version not archived.")
]
ArchivedOption = Annotated[bool, typer.Option("--include-archived", help="Show archived ones too.")]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="field=value (or field.sub=value) overrides a YAML field.")
]
TagsOption = Annotated[list[str] | None, typer.Option("--tags", help="key=value; repeat for more.")]
DescriptionOption = Annotated[str | None, typer.Option("--description", "-d")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

Command = TypeVar("Command", bound=Callable[..., None])
_SHARED_OPTIONS = {"output": (OutputOption, OutputFormat.table), "workspace": (WorkspaceOption, None)}


def command(
    app: typer.Typer,
    name: str | None = None,
    *,
    help: str | None = None,
    options: dict[str, Any] | None = None,
    groups: dict[str, dict[str, Any]] | None = None,
) -> Callable[[Command], Command]:
    """``app.command(name)`` that gives a keyword-only ``output`` parameter the shared ``--output/-o``
    option and a keyword-only ``workspace`` parameter ``--workspace/-w``; the function gets the
    workspace's name (the default one when not given). Keyword-only parameters come last.
    ``options`` gives parameters their ``Annotated`` option where it is made at run time. ``groups``
    maps a keyword-only parameter to a group of options (name to ``Annotated`` option, each None by
    default) that take its place; the function gets them as one dict."""
    groups = groups or {}

    def register(fn: Command) -> Command:
        hints = {**get_type_hints(fn, include_extras=True), **(options or {})}
        params, shared = [], set()
        for param in inspect.signature(fn).parameters.values():
            if param.kind is param.KEYWORD_ONLY and param.name in groups:
                params += [
                    inspect.Parameter(option, param.KEYWORD_ONLY, annotation=annotation, default=None)
                    for option, annotation in groups[param.name].items()
                ]
            elif param.kind is param.KEYWORD_ONLY and param.name in _SHARED_OPTIONS:
                annotation, default = _SHARED_OPTIONS[param.name]
                params.append(param.replace(annotation=annotation, default=default))
                shared.add(param.name)
            else:
                params.append(param.replace(annotation=hints.get(param.name, param.annotation)))

        @functools.wraps(fn)
        def run(**kwargs: Any) -> None:
            if "workspace" in shared:
                kwargs["workspace"] = workspace_name(kwargs["workspace"])
            for group, members in groups.items():
                kwargs[group] = {option: kwargs.pop(option) for option in members}
            fn(**kwargs)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name, help=help)(run)
        return fn

    return register


def name_option(help: str, **settings: Any) -> Any:
    """``--name/-n`` with a help text naming what it names (use inside ``Annotated``)."""
    return typer.Option("--name", "-n", help=help, **settings)


def file_option(help: str) -> Any:
    """``--file/-f``: the YAML file to create from (use inside ``Annotated``)."""
    return typer.Option("--file", "-f", help=help)


def create_base(kind: str) -> dict[str, Any]:
    """The options a ``create`` from a YAML file or from flags starts with (a ``command`` group):
    ``--file/-f`` (the kind's YAML in the cloud's format), ``--set`` and ``--name/-n``."""
    return {
        "file": Annotated[Path | None, file_option(f"{kind} YAML (the cloud's format).")],
        "set_": SetOption,
        "name": Annotated[str | None, name_option(f"{kind} name.")],
    }


def service(path: str) -> Callable[..., Any]:
    """``"module.function"`` of ``backend.services``, imported when called so that start-up stays fast."""
    module, _, function = path.partition(".")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"backend.services.{module}"), function)(*args, **kwargs)

    return call


def in_session(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """``fn(session=..., **kwargs)`` in a unit of work of its own."""
    from backend.services import open_session

    with open_session() as s:
        return fn(session=s, **kwargs)


def in_workspace(workspace: str | None, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """``fn(session=..., workspace=..., **kwargs)`` in the workspace the option names (or the default)."""
    return in_session(fn, workspace=workspace_name(workspace), **kwargs)


def confirm(yes: bool, question: str) -> None:
    """Ask before doing something that cannot be undone, unless ``--yes`` was given; "no" aborts."""
    if not yes:
        typer.confirm(question, abort=True)


def delete_confirmed(
    workspace: str | None,
    *,
    get: Callable[..., Any],
    delete: Callable[..., Any],
    yes: bool,
    question: str,
    deleted: str,
    **keys: Any,
) -> None:
    """Delete what ``keys`` name in the workspace: ``get`` it first (so that a missing one fails before
    asking), ask ``question`` unless ``--yes``, ``delete`` it and say ``deleted``."""
    in_workspace(workspace, get, **keys)
    confirm(yes, question)
    in_workspace(workspace, delete, **keys)
    typer.echo(deleted)


def add_delete(
    app: typer.Typer, name_option: Any, calls: str, *, what: str, help: str, question_tail: str = ""
) -> None:
    """``delete --name N [--yes]`` of what the services ``<module>.get_<noun>`` and ``<module>.delete_<noun>``
    (``calls`` is ``"module.noun"``) find and delete: ``Delete WHAT 'N'QUESTION_TAIL?``, then
    ``deleted WHAT N``. ``name_option`` is the kind's ``Annotated`` ``--name`` option."""
    module, _, noun = calls.partition(".")

    def run(name: str, yes: YesOption = False, *, workspace: str) -> None:
        delete_confirmed(
            workspace,
            get=service(f"{module}.get_{noun}"),
            delete=service(f"{module}.delete_{noun}"),
            yes=yes,
            question=f"Delete {what} {name!r}{question_tail}?",
            deleted=f"deleted {what} {name}",
            name=name,
        )

    command(app, "delete", help=help, options={"name": name_option})(run)


def flag_overrides(set_: list[str] | None, **flags: Any) -> list[str]:
    """The ``--set`` overrides, then a ``field=value`` override for each flag given."""
    return [*(set_ or []), *(f"{field}={value}" for field, value in given(**flags).items())]


def given(**flags: Any) -> dict[str, Any]:
    """The flags that were given (not None)."""
    return {field: value for field, value in flags.items() if value is not None}


def create_from_file_or_flags(
    file: Path | None,
    *,
    from_file: Callable[[Any], Any],
    from_flags: Callable[[Any], Any],
    tags: list[str] | None = None,
    add_tags: Callable[[Any, Any, dict[str, str]], Any] | None = None,
) -> Any:
    """Create from ``--file`` (then ``add_tags(session, created, tags)`` when ``--tags`` was given), or
    else from flags; both get the session and run in one unit of work."""
    from backend.services import open_session

    with open_session() as s:
        if not file:
            return from_flags(s)
        created = from_file(s)
        if tags and add_tags:
            created = add_tags(s, created, parse_tags(tags) or {})
        return created


VERSION_FLAGS = {"description": DescriptionOption, "tags": TagsOption, "set_": SetOption}
"""The flags of a versioned asset's ``create`` besides its own (a ``command`` group)."""


def create_version(
    file: Path | None,
    *,
    workspace: str,
    example: str,
    flags: dict[str, Any],
    from_file: Callable[..., Any],
    update: Callable[..., Any],
    from_flags: Callable[[Any], Any],
    **fields: Any,
) -> Any:
    """``create`` of a versioned asset: from ``--file`` (``from_file(session=, workspace=, file=,
    overrides=)``, the given ``fields`` and ``--description`` overriding its fields, then ``--tags``
    added with ``update``), or else ``from_flags(session)``; the flags need ``--name`` and ``--path``.
    ``flags`` is the ``VERSION_FLAGS`` group; ``example`` names the YAML file in the error."""
    description, tags = flags["description"], flags["tags"]
    if not file and (not fields.get("name") or not fields.get("path")):
        fail(f"give --file {example}, or --name and --path")
    return create_from_file_or_flags(
        file,
        from_file=lambda s: from_file(
            session=s,
            workspace=workspace,
            file=file,
            overrides=flag_overrides(flags["set_"], **fields, description=description),
        ),
        tags=tags,
        add_tags=lambda s, created, new_tags: update(
            session=s, workspace=workspace, name=created.name, version=created.version, tags=new_tags
        ),
        from_flags=from_flags,
    )


def add_create(
    app: typer.Typer,
    calls: str,
    *,
    kind: str,
    help: str,
    version_help: str | None = None,
    type_help: str,
    path_help: str,
    from_flags: Callable[..., Any],
) -> None:
    """``create --file F | --name N --path P [--version V] [--type T]`` with ``VERSION_FLAGS``, for a
    versioned asset whose services (``calls`` is ``"module.noun"``) are ``create_<noun>_from_file`` and
    ``update_<noun>``; ``from_flags(session, workspace, fields)`` creates from flags (``fields``: name,
    version, type, path, description, tags). ``kind`` names the YAML (``kind.yml``) in help and errors."""
    module, _, noun = calls.partition(".")

    options = {
        "file": Annotated[Path | None, file_option(f"The cloud's {kind} YAML.")],
        "name": Annotated[str | None, typer.Option("--name", "-n")],
        "version": Annotated[str | None, version_option(version_help)],
        "type_": Annotated[str | None, type_option(type_help)],
        "path": Annotated[str | None, typer.Option("--path", "-p", help=path_help)],
    }

    def run(
        file: Path | None = None,
        name: str | None = None,
        version: str | None = None,
        type_: str | None = None,
        path: str | None = None,
        *,
        flags: dict,
        output: OutputFormat,
        workspace: str,
    ) -> None:
        fields = {"name": name, "version": version, "type": type_, "path": path}
        created = create_version(
            file,
            workspace=workspace,
            example=f"{kind}.yml",
            flags=flags,
            from_file=service(f"{module}.create_{noun}_from_file"),
            update=service(f"{module}.update_{noun}"),
            from_flags=lambda s: from_flags(
                s, workspace, {**fields, "description": flags["description"], "tags": flags["tags"]}
            ),
            **fields,
        )
        emit(created, output)

    command(app, "create", help=help, options=options, groups={"flags": VERSION_FLAGS})(run)


@dataclasses.dataclass(frozen=True)
class AssetVersion:
    """The version of a named asset a command means: ``--version V``, ``--label latest`` or the latest."""

    workspace: str
    name: str
    version: str | None = None
    label: str | None = None

    def keywords(self) -> dict[str, str | None]:
        """As the ``workspace=, name=, version=, label=`` arguments of a service's ``get_...``."""
        return dataclasses.asdict(self)


def plain(model: Any, *, exclude: set[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A pydantic model as JSON-ready fields (but ``exclude``), with ``extra`` fields added."""
    return {**model.model_dump(mode="json", exclude=exclude), **extra}


def add_list(
    app: typer.Typer,
    *,
    name_help: str,
    help: str,
    list_: Callable[[str, str | None, bool, OutputFormat], None],
) -> None:
    """``list [--name N] [--include-archived]`` for a versioned asset: ``list_(workspace, name,
    include_archived, output)``; ``--name`` asks for every version of one asset."""

    def run(
        name: str | None = None,
        archived: ArchivedOption = False,
        *,
        output: OutputFormat,
        workspace: str,
    ) -> None:
        list_(workspace, name, archived, output)

    command(app, "list", help=help, options={"name": Annotated[str | None, name_option(name_help)]})(run)


SHOW_HELP = "Show one version (``--version V`` or ``--label latest``)."


def add_show(
    app: typer.Typer,
    *,
    name_option: Any,
    help: str = SHOW_HELP,
    show: Callable[[AssetVersion, OutputFormat], None],
) -> None:
    """``show --name N [--version V | --label latest]`` for a versioned asset: ``show(chosen, output)``.
    ``name_option`` is the kind's ``Annotated`` ``--name`` option."""

    def run(
        name: str,
        version: VersionOption = None,
        label: LabelOption = None,
        *,
        output: OutputFormat,
        workspace: str,
    ) -> None:
        show(AssetVersion(workspace, name, version, label), output)

    command(app, "show", help=help, options={"name": name_option})(run)


LATEST_COLUMNS = ("name", "latest_version", "type", "versions", "updated_at", "description")
"""What a list of an asset's latest versions shows."""


def version_lister(
    names: str,
    versions: str,
    *,
    name_columns: Sequence[str] = LATEST_COLUMNS,
    version_columns: list[str],
    hide_archived_versions: bool = False,
) -> Callable[[str, str | None, bool, OutputFormat], None]:
    """``add_list``'s ``list_`` from two services (``"module.function"``): ``names(include_archived=)``
    for the latest version of each, ``versions(name=)`` for every version of one (without the archived
    ones, unless asked for, when ``hide_archived_versions``)."""

    def list_(workspace: str, name: str | None, include_archived: bool, output: OutputFormat) -> None:
        if name:
            rows = in_workspace(workspace, service(versions), name=name)
            if hide_archived_versions and not include_archived:
                rows = [r for r in rows if not r.archived]
            columns = version_columns
        else:
            rows = in_workspace(workspace, service(names), include_archived=include_archived)
            columns = name_columns
        emit(rows, output, columns=columns)

    return list_


def version_shower(get: str) -> Callable[[AssetVersion, OutputFormat], None]:
    """``add_show``'s ``show`` that emits what the service ``get`` (``"module.function"``) returns."""

    def show(chosen: AssetVersion, output: OutputFormat) -> None:
        if chosen.version and chosen.label:
            fail("give --version or --label, not both")
        emit(in_session(service(get), **chosen.keywords()), output)

    return show


ARCHIVE_HELP = "Archive a version (or every version): hidden from lists and @latest, still usable by version."
RESTORE_HELP = "Restore an archived version (or every version)."


def add_archive_and_restore(
    app: typer.Typer,
    name_option: Any,
    archive: Callable[..., Any],
    restore: Callable[..., Any],
    report: Callable[[str, str, Any], str] | None = None,
) -> None:
    """``archive`` and ``restore`` for a versioned asset: ``archive(session=, workspace=, name=, version=)``
    (and ``restore``) return what they changed, and ``report(verb, name, changed)`` says it (by default:
    ``archived NAME version(s) 1, 2``). ``name_option`` is the kind's ``Annotated`` ``--name`` option."""
    report = report or versions_report

    def add(command_name: str, verb: str, fn: Callable[..., Any], doc: str) -> None:
        def run(name: str, version: AllVersionsOption = None, *, workspace: str) -> None:
            typer.echo(report(verb, name, in_workspace(workspace, fn, name=name, version=version)))

        command(app, command_name, help=doc, options={"name": name_option})(run)

    add("archive", "archived", archive, ARCHIVE_HELP)
    add("restore", "restored", restore, RESTORE_HELP)


def versions_report(verb: str, name: str, versions: list[str]) -> str:
    """``archived NAME version(s) 1, 2``."""
    return f"{verb} {name} version(s) {', '.join(versions)}"


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


def emit(
    value: Any, output: OutputFormat, columns: Sequence[str] | None = None, *, table: Any = None
) -> None:
    """``value`` as JSON, or as a table (``table``, when given, is what a table shows instead)."""
    data = to_plain(value)
    if output == OutputFormat.json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if table is not None:
        data = to_plain(table)
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
    _print_columns([list(columns), *([_cell(row.get(c)) for c in columns] for row in rows)], header=True)


def _emit_record(record: dict) -> None:
    lines = []
    for key, value in record.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = "; ".join(v.get("name", _cell(v)) for v in value)
        lines.append([key, _cell(value)])
    _print_columns(lines, header=False)


def _print_columns(lines: list[list[str]], *, header: bool) -> None:
    """Plain aligned columns (no box drawing: a table that ``grep``, ``awk`` and ``cut`` read too, and
    no rich import on every list and show); a header row is underlined with dashes."""
    lines = [[" ".join(cell.split()) for cell in line] for line in lines]  # one line per row
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))] if lines else []
    if header:
        lines.insert(1, ["-" * w for w in widths])
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    typer.echo("\n".join(out))


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
