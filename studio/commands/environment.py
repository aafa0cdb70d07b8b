"""``studio environment create|list|show|build|archive|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from backend.statuses import BuildStatus
from studio.commands import _common as common

app = typer.Typer(help="Create, list, show, build, archive and restore environments.", no_args_is_help=True)

NameOpt = Annotated[str, common.name_option("Environment name.")]

LIST_COLUMNS = ["name", "version", "kind", "runs_in", "build_status", "image", "description", "created_at"]


def _record(env, build) -> dict:
    data = common.plain(
        env, runs_in="curated base environment" if env.uses_builtin else f"venv {env.spec_hash[:12]}"
    )
    if build is not None:
        data["build"] = build.model_dump(mode="json", include={"status", "python", "log_path", "finished_at"})
        data["build_error"] = build.error
    return data


@common.command(app, groups={"base": common.create_base("Environment")})
def create(
    *,
    base: dict[str, Any],
    version: Annotated[str | None, common.version_option("Version (default: next integer).")] = None,
    image: Annotated[str | None, typer.Option("--image", "-i", help="Container image (recorded).")] = None,
    conda_file: Annotated[Path | None, typer.Option("--conda-file", help="Conda YAML file.")] = None,
    pip_file: Annotated[Path | None, typer.Option("--pip-file", help="pip requirements file.")] = None,
    pip: Annotated[
        list[str] | None, typer.Option("--pip", help="A pip requirement; repeat for more.")
    ] = None,
    description: common.DescriptionOption = None,
    tags: common.TagsOption = None,
    build: Annotated[bool, typer.Option("--build", help="Build its virtual environment now.")] = False,
    output: common.OutputFormat,
    workspace: str,
) -> None:
    """Register an environment version from a YAML file or from flags."""
    from backend.services import environment_specs, environments
    from backend.specs.environment import EnvironmentSpec

    file, set_, name = base["file"], base["set_"], base["name"]

    pip_lines = list(pip or [])
    if pip_file:
        pip_lines += environment_specs.read_requirements_file(pip_file)
    overrides = common.flag_overrides(set_, name=name, version=version, image=image, description=description)
    if conda_file:
        overrides.append(f"conda_file={conda_file.resolve()}")
    if not file and not name:
        common.fail("give --file FILE, or --name NAME with --image, --conda-file, --pip-file or --pip")
    env = common.create_from_file_or_flags(
        file,
        from_file=lambda s: environments.create_environment_from_file(
            session=s, workspace=workspace, path=file, overrides=overrides, pip_requirements=pip_lines
        ),
        tags=tags,
        add_tags=lambda s, env, new_tags: environments.update_environment(
            session=s, workspace=workspace, name=env.name, version=env.version, tags={**env.tags, **new_tags}
        ),
        from_flags=lambda s: environments.create_environment(
            session=s,
            workspace=workspace,
            spec=EnvironmentSpec(
                name=name,
                version=version,
                image=image,
                description=description,
                tags=common.parse_tags(tags) or {},
                conda_file=str(conda_file.resolve()) if conda_file else None,
            ),
            pip_requirements=pip_lines,
            source="environment",
        ),
    )
    created = common.AssetVersion(workspace, env.name, env.version)
    if build and env.spec_hash:
        _build(created)
    _show(created, output)


def _list(workspace: str, name: str | None, include_archived: bool, output: common.OutputFormat) -> None:
    from backend.services import environments

    rows = common.in_workspace(
        workspace, environments.list_environments, name=name, include_archived=include_archived
    )
    common.emit([_record(r, None) for r in rows], output, columns=LIST_COLUMNS)


def _show(chosen: common.AssetVersion, output: common.OutputFormat) -> None:
    from backend.services import environment_builds, environments, open_session

    with open_session() as s:
        env = environments.get_environment(session=s, **chosen.keywords())
        build = environment_builds.get_build(session=s, spec_hash=env.spec_hash) if env.spec_hash else None
    common.emit(_record(env, build), output)


common.add_list(
    app,
    name_help="List every version of this one.",
    help="List environments (the latest version of each; --name: all its versions).",
    list_=_list,
)
common.add_show(
    app,
    name_option=NameOpt,
    help="Show an environment version with its build status and how it resolves here.",
    show=_show,
)


def _build(chosen: common.AssetVersion) -> None:
    from backend.errors import StudioError
    from backend.services import environment_builds, environments

    env = common.in_session(environments.get_environment, **chosen.keywords())
    if not env.spec_hash:
        typer.echo(f"{env.reason}; there is nothing to build")
        return
    result = environment_builds.build_environment(env.spec_hash, echo=typer.echo)
    if result.status != BuildStatus.SUCCEEDED:
        last = (result.error or "").strip().splitlines()[-1:] or ["see the build log"]
        raise StudioError(
            f"environment {env.name}:{env.version} did not build: {last[0]} (log: {result.log_path})"
        )
    typer.echo(f"environment {env.name}:{env.version} is built: {result.python}")


@common.command(app)
def build(
    name: NameOpt, version: common.VersionOption = None, label: common.LabelOption = None, *, workspace: str
) -> None:
    """Build an environment's virtual environment now, showing the log (reused when already built)."""
    _build(common.AssetVersion(workspace, name, version, label))


def _report(verb: str, name: str, changed: list[str]) -> str:
    return f"{verb} {len(changed)} version(s) of environment {name}"


common.add_archive_and_restore(
    app,
    NameOpt,
    common.service("environments.archive_environment"),
    common.service("environments.restore_environment"),
    report=_report,
)
