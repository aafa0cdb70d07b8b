"""``studio user add|list|set-role|remove|token``: the studio's users (team mode) and personal tokens.

The first user (an Owner) is added without signing in; after that, members are an Owner's to manage
(``STUDIO_TOKEN`` of an Owner). ``token`` signs in with a user's password and prints a new personal token
once: set it as ``STUDIO_TOKEN`` for the CLI and the SDK.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(help="Users, roles and personal tokens (team mode).", no_args_is_help=True)

RoleOpt = Annotated[str, typer.Option("--role", help="Owner, Contributor, 'Data Scientist' or Reader.")]


def _password(confirm: bool, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: RoleOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    email: Annotated[
        str | None,
        typer.Option("--email", help="Their email at the identity provider (single sign-on in the UI)."),
    ] = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Single sign-on only (needs --email).")
    ] = False,
) -> None:
    """Add a user (the first one must be an Owner)."""
    from backend.services import users

    password = None if no_password else _password(True, password_stdin)
    user = users.add_user(name, role, password, email=email)
    typer.echo(f"added {user.name} ({user.role}) to {users.users_file()}")


@app.command("list")
def list_(output: Annotated[str, typer.Option("--output", "-o", help="table or json")] = "table") -> None:
    """The users and their roles."""
    from backend.services import users

    found = users.list_users()
    if output == "json":
        typer.echo(json.dumps([{"name": u.name, "role": u.role} for u in found], indent=2))
        return
    if not found:
        typer.echo("no users: Studio is single-user (add an Owner to start team mode)")
    for user in found:
        typer.echo(f"{user.name}  {user.role}")


@app.command("set-role")
def set_role(name: Annotated[str, typer.Argument(help="User name.")], role: RoleOpt) -> None:
    """Give a user another role (an Owner's change)."""
    from backend.services import users

    user = users.set_role(name, role)
    typer.echo(f"{user.name} is now {user.role}")


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="User name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Remove a user (their tokens stop working)."""
    from backend.services import users

    if not yes and not typer.confirm(f"Remove user {name}?"):
        raise typer.Exit(1)
    users.remove_user(name)
    typer.echo(f"removed {name}")


@app.command()
def token(
    name: Annotated[str, typer.Option("--name", help="Where the token is used (laptop, CI, ...).")],
    user: Annotated[str, typer.Option("--user", help="Your user name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Sign in and print a new personal token, once (set it as STUDIO_TOKEN)."""
    from backend.services import open_session, users

    signed_in = users.sign_in(user, _password(False, password_stdin))
    with open_session() as s:
        made = users.create_token(session=s, user=signed_in, name=name)
    typer.echo(made)
