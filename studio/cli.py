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
    "user",
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
def agent(
    name: Annotated[
        str | None, typer.Option("--name", help="This agent's name (default: the machine's host name).")
    ] = None,
    computes: Annotated[
        str | None,
        typer.Option(
            "--computes",
            help="Claim only the jobs of these computes (c1,c2); default: every compute. The online "
            "endpoints are served by the main agent (no --name, no --computes).",
        ),
    ] = None,
) -> None:
    """Run an agent: it starts queued jobs and supervises them (``studio up`` starts one). Several agents
    may share a PostgreSQL studio database: each heartbeats, and takes up the jobs of one that stopped."""
    import logging

    from backend.agent import sdk_gateway
    from backend.agent.loop import Agent
    from backend.services import agents
    from studio.ml.gateway import dispatch

    sdk_gateway.set_dispatcher(dispatch)  # MLClient in notebooks' kernels

    chosen = agents.check_computes(computes)
    label = agents.check_name(name) if name else None
    agents.stale_s()  # a bad STUDIO_AGENT_STALE_S is one line now, not a failing pass later
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    Agent(name=label, computes=chosen).run_forever()


@app.command("agents")
def list_agents_command(
    all_: Annotated[bool, typer.Option("--all", help="Also agents that have stopped.")] = False,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json")] = "table",
) -> None:
    """The agents serving this studio database: name, host, computes, last heartbeat, alive."""
    import json

    from backend.services import agents, open_session

    with open_session() as s:
        found = agents.list_agents(session=s, include_stopped=all_)
    if output == "json":
        typer.echo(json.dumps([a.model_dump(mode="json") for a in found], indent=2))
        return
    if not found:
        typer.echo("no agent is running" if not all_ else "no agent has run on this database")
        return
    for a in found:
        computes = ",".join(a.computes) if a.computes else "all computes"
        state = "alive" if a.alive else "stopped"
        typer.echo(
            f"{a.name}  {a.host} pid {a.pid}  {computes}  heartbeat {a.heartbeat_at:%Y-%m-%d %H:%M:%S}  {state}"
        )


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
        from backend.identity import acting_as

        with acting_as(_signed_in(sys.argv[1:] if argv is None else argv)):
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


def _signed_in(argv: list[str]):
    """Team mode: the owner of ``STUDIO_TOKEN`` (refused without one); None for a single-user studio,
    Studio's own processes (``up``, ``agent``), signing in (``user token``) and ``--help``."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or words[0] in ("up", "agent") or words[:2] == ["user", "token"]:
        return None
    if "--help" in argv or "-h" in argv:
        return None
    from backend.services import users

    return users.user_from_environment() if users.team_mode() else None


def _is_settings_error(exc: Exception) -> bool:
    """A bad STUDIO_* variable (only when the settings were read: ``--help`` never imports them)."""
    settings = sys.modules.get("backend.settings")
    return settings is not None and isinstance(exc, settings.SettingsError)


if __name__ == "__main__":
    sys.exit(main())
