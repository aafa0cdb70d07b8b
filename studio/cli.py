"""The ``studio`` command line. Heavy imports live inside commands to keep start-up fast."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

# One module per command group under studio/commands, imported only when its group is used (or listed
# by --help): `studio job list` never pays for importing the other twelve.
COMMAND_GROUPS = (
    "workspace",
    "datastore",
    "data",
    "environment",
    "compute",
    "component",
    "job",
    "model",
    "online-endpoint",
    "online-deployment",
    "rai",
    "benchmark",
    "connection",
)


def _load_group(name: str) -> Any:
    """The click group of ``studio NAME``, made as ``app.add_typer(module.app, name=NAME)`` would."""
    from typer.main import get_group_from_info
    from typer.models import TyperInfo

    module = importlib.import_module(f"studio.commands.{name.replace('-', '_')}")
    return get_group_from_info(
        TyperInfo(module.app, name=name),
        pretty_exceptions_short=app.pretty_exceptions_short,
        suggest_commands=app.suggest_commands,
        rich_markup_mode=app.rich_markup_mode,
    )


class _Commands(MutableMapping):
    """The root's commands by name: those defined here, then the groups, each loaded on first use."""

    def __init__(self, defined: Mapping[str, Any]) -> None:
        self._loaded = dict(defined)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded and name in COMMAND_GROUPS:
            self._loaded[name] = _load_group(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._loaded, *(g for g in COMMAND_GROUPS if g not in self._loaded)])

    def __len__(self) -> int:
        return len(set(self._loaded) | set(COMMAND_GROUPS))


class _LazyGroups(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)


app = typer.Typer(
    help="Studio: a self-hosted machine-learning studio that runs Azure ML CLI v2 YAML files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_LazyGroups,
)


@app.command()
def up(
    headless: Annotated[
        bool, typer.Option("--headless", help="Start MLflow (and the agent), not the UI.")
    ] = False,
    ui_port: Annotated[
        int | None, typer.Option("--ui-port", help="UI port (STUDIO_UI_PORT, default 8501; 0 = any free).")
    ] = None,
    mlflow_port: Annotated[
        int | None,
        typer.Option("--mlflow-port", help="MLflow port (STUDIO_MLFLOW_PORT, default 5000; 0 = any free)."),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address every server binds to (STUDIO_HOST, default 127.0.0.1: this machine only); "
            "0.0.0.0 opens Studio to the network, for team use.",
        ),
    ] = None,
) -> None:
    """Start the MLflow tracking server and the UI; Ctrl-C stops everything it started."""
    from studio.up import run_up

    raise typer.Exit(run_up(headless=headless, ui_port=ui_port, mlflow_port=mlflow_port, host=host))


@app.command()
def agent() -> None:
    """Run the agent: it starts queued jobs and supervises them (``studio up`` starts one)."""
    import logging

    from backend.agent.loop import Agent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Agent().run_forever()


@app.command()
def demo() -> None:
    """Create (or refresh) the 'demo' workspace with sample data and code, and build the curated
    environment its sample jobs run in (once)."""
    from backend.services import demo as demo_service
    from backend.services import open_session

    with open_session() as s:
        name = demo_service.ensure_demo_workspace(session=s)
    typer.echo(f"demo workspace {name!r} is ready")
    problem = demo_service.prepare_environment(echo=typer.echo)
    if problem:  # not fatal: the agent builds it when the first job needs it
        typer.echo(f"warning: {problem}; the agent tries again when a job needs it", err=True)


def _report_unexpected(exc: BaseException) -> int:
    if os.environ.get("STUDIO_DEBUG"):
        raise exc
    typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (set STUDIO_DEBUG=1 for details)", err=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: every failure is one line on stderr and a non-zero exit, never a traceback."""
    from backend.errors import StudioError

    try:
        app(args=argv)  # standalone: typer itself reports usage errors, --help and aborted prompts
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except StudioError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if _is_settings_error(exc):
            typer.echo(f"error: {exc}", err=True)
            return 1
        return _report_unexpected(exc)


def _is_settings_error(exc: Exception) -> bool:
    """A bad STUDIO_* variable (only when the settings were read: ``--help`` never imports them)."""
    settings = sys.modules.get("backend.settings")
    return settings is not None and isinstance(exc, settings.SettingsError)


if __name__ == "__main__":
    sys.exit(main())
