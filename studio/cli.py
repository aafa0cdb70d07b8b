"""The ``studio`` command line. Heavy imports live inside commands to keep start-up fast."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Annotated

import typer

app = typer.Typer(
    help="Studio: a self-hosted machine-learning studio that runs Azure ML CLI v2 YAML files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# One module per command group under studio/commands; a group is listed once its module exists.
COMMAND_GROUPS = ("workspace", "datastore", "data", "environment", "compute", "component", "job")
for _group in COMMAND_GROUPS:
    if importlib.util.find_spec(f"studio.commands.{_group}"):
        app.add_typer(importlib.import_module(f"studio.commands.{_group}").app, name=_group)


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
) -> None:
    """Start the MLflow tracking server and the UI; Ctrl-C stops everything it started."""
    from studio.up import run_up

    raise typer.Exit(run_up(headless=headless, ui_port=ui_port, mlflow_port=mlflow_port))


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
        return _report_unexpected(exc)


if __name__ == "__main__":
    sys.exit(main())
