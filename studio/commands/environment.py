"""``studio environment create|list|show|build|archive|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.statuses import BuildStatus
from studio.commands._common import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    fail,
    parse_tags,
    workspace_name,
)

app = typer.Typer(help="Create, list, show, build, archive and restore environments.", no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Environment name.")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version (default: latest).")]
LabelOpt = Annotated[
    str | None, typer.Option("--label", "-l", help="'latest': the highest version not archived.")
]

LIST_COLUMNS = ["name", "version", "kind", "runs_in", "build_status", "image", "description", "created_at"]


def _record(env, build) -> dict:
    data = env.model_dump(mode="json")
    data["runs_in"] = "curated base environment" if env.uses_builtin else f"venv {env.spec_hash[:12]}"
    if build is not None:
        data["build"] = build.model_dump(mode="json", include={"status", "python", "log_path", "finished_at"})
        data["build_error"] = build.error
    return data


@app.command()
def create(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Environment YAML (the cloud's format).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a field: field.sub=value.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Environment name.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Version (default: next integer).")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", "-i", help="Container image (recorded).")] = None,
    conda_file: Annotated[Path | None, typer.Option("--conda-file", help="Conda YAML file.")] = None,
    pip_file: Annotated[Path | None, typer.Option("--pip-file", help="pip requirements file.")] = None,
    pip: Annotated[
        list[str] | None, typer.Option("--pip", help="A pip requirement; repeat for more.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="key=value; repeat for more.")] = None,
    build: Annotated[bool, typer.Option("--build", help="Build its virtual environment now.")] = False,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Register an environment version from a YAML file or from flags."""
    from backend.services import environments, open_session
    from backend.specs.environment import EnvironmentSpec

    ws = workspace_name(workspace)
    pip_lines = list(pip or [])
    if pip_file:
        pip_lines += environments.read_requirements_file(pip_file)
    overrides = list(set_ or [])
    for key, value in (("name", name), ("version", version), ("image", image), ("description", description)):
        if value is not None:
            overrides.append(f"{key}={value}")
    if conda_file:
        overrides.append(f"conda_file={conda_file.resolve()}")
    with open_session() as s:
        if file:
            env = environments.create_environment_from_file(
                session=s, workspace=ws, path=file, overrides=overrides, pip_requirements=pip_lines
            )
            if tags:
                env = environments.update_environment(
                    session=s,
                    workspace=ws,
                    name=env.name,
                    version=env.version,
                    tags={**env.tags, **parse_tags(tags)},
                )
        else:
            if not name:
                fail("give --file FILE, or --name NAME with --image, --conda-file, --pip-file or --pip")
            spec = EnvironmentSpec(
                name=name,
                version=version,
                image=image,
                description=description,
                tags=parse_tags(tags) or {},
                conda_file=str(conda_file.resolve()) if conda_file else None,
            )
            env = environments.create_environment(
                session=s, workspace=ws, spec=spec, pip_requirements=pip_lines, source="environment"
            )
    if build and env.spec_hash:
        _build(ws, env.name, env.version, None)
    _show(ws, env.name, env.version, None, output)


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="List every version of this one.")] = None,
    archived: Annotated[bool, typer.Option("--include-archived", help="Show archived versions too.")] = False,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """List environments (the latest version of each; --name: all its versions)."""
    from backend.services import environments, open_session

    with open_session() as s:
        rows = environments.list_environments(
            session=s, workspace=workspace_name(workspace), name=name, include_archived=archived
        )
    emit([_record(r, None) for r in rows], output, columns=LIST_COLUMNS)


def _show(ws: str, name: str, version: str | None, label: str | None, output: OutputFormat) -> None:
    from backend.services import environments, open_session

    with open_session() as s:
        env = environments.get_environment(session=s, workspace=ws, name=name, version=version, label=label)
        build = environments.get_build(session=s, spec_hash=env.spec_hash) if env.spec_hash else None
    emit(_record(env, build), output)


@app.command()
def show(
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    output: OutputOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
) -> None:
    """Show an environment version with its build status and how it resolves here."""
    _show(workspace_name(workspace), name, version, label, output)


def _build(ws: str, name: str, version: str | None, label: str | None) -> None:
    from backend.errors import StudioError
    from backend.services import environments, open_session

    with open_session() as s:
        env = environments.get_environment(session=s, workspace=ws, name=name, version=version, label=label)
    if not env.spec_hash:
        typer.echo(f"{env.reason}; there is nothing to build")
        return
    result = environments.build_environment(env.spec_hash, echo=typer.echo)
    if result.status != BuildStatus.SUCCEEDED:
        last = (result.error or "").strip().splitlines()[-1:] or ["see the build log"]
        raise StudioError(
            f"environment {env.name}:{env.version} did not build: {last[0]} (log: {result.log_path})"
        )
    typer.echo(f"environment {env.name}:{env.version} is built: {result.python}")


@app.command()
def build(
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Build an environment's virtual environment now, showing the log (reused when already built)."""
    _build(workspace_name(workspace), name, version, label)


@app.command()
def archive(
    name: NameOpt,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="One version (default: all).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Archive a version (or every version): hidden from lists and @latest, still usable by version."""
    from backend.services import environments, open_session

    with open_session() as s:
        count = environments.archive_environment(
            session=s, workspace=workspace_name(workspace), name=name, version=version
        )
    typer.echo(f"archived {count} version(s) of environment {name}")


@app.command()
def restore(
    name: NameOpt,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="One version (default: all).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Restore archived versions."""
    from backend.services import environments, open_session

    with open_session() as s:
        count = environments.restore_environment(
            session=s, workspace=workspace_name(workspace), name=name, version=version
        )
    typer.echo(f"restored {count} version(s) of environment {name}")
