"""Team mode on the command line: users and roles from the CLI, personal tokens (STUDIO_TOKEN), and one
line for a command without a token or beyond its role."""

from __future__ import annotations

import io

import pytest

from studio.cli import main


def run(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("studio_home")
def test_the_cli_signs_in_with_a_personal_token_and_checks_the_role(capsys, monkeypatch):
    monkeypatch.delenv("STUDIO_TOKEN", raising=False)
    assert run(capsys, monkeypatch, "workspace", "list")[0] == 0  # single-user: no token needed
    code, _, err = _add_user(capsys, monkeypatch, "rick", "Reader", "rick-pass-1")
    assert code == 1 and err == "error: the first user must be an Owner (they add the others)\n"
    assert _add_user(capsys, monkeypatch, "olivia", "Owner", "owner-pass-1")[0] == 0
    code, _, err = run(capsys, monkeypatch, "workspace", "list")
    assert (
        code == 1
        and err.startswith("error: this studio has users: create a personal token")
        and err.count("\n") == 1
    )
    code, _, err = _add_user(capsys, monkeypatch, "rick", "Reader", "rick-pass-1")
    assert code == 1 and "create a personal token" in err  # members are an Owner's: a token first
    code, owner_token, _ = run(
        capsys,
        monkeypatch,
        "user",
        "token",
        "--name",
        "cli",
        "--user",
        "olivia",
        "--password-stdin",
        stdin="owner-pass-1\n",
    )
    assert code == 0 and owner_token.startswith("stu_")
    monkeypatch.setenv("STUDIO_TOKEN", owner_token.strip())
    assert _add_user(capsys, monkeypatch, "rick", "Reader", "rick-pass-1")[0] == 0
    code, out, _ = run(capsys, monkeypatch, "user", "list", "--output", "json")
    assert '"rick"' in out and '"Reader"' in out
    code, reader_token, _ = run(
        capsys,
        monkeypatch,
        "user",
        "token",
        "--name",
        "cli",
        "--user",
        "rick",
        "--password-stdin",
        stdin="rick-pass-1\n",
    )
    monkeypatch.setenv("STUDIO_TOKEN", reader_token.strip())
    assert run(capsys, monkeypatch, "workspace", "list")[0] == 0
    code, _, err = run(capsys, monkeypatch, "workspace", "create", "mine")
    assert (code, err) == (1, "error: rick (Reader) may not change workspaces: Readers only read\n")
    monkeypatch.setenv("STUDIO_TOKEN", "stu_not-a-token")
    code, _, err = run(capsys, monkeypatch, "workspace", "list")
    assert code == 1 and err.startswith("error: STUDIO_TOKEN is not a valid token of this studio")
    code, _, err = run(
        capsys,
        monkeypatch,
        "user",
        "token",
        "--name",
        "x",
        "--user",
        "rick",
        "--password-stdin",
        stdin="wrong\n",
    )
    assert (code, err) == (1, "error: wrong user name or password\n")


def _add_user(capsys, monkeypatch, name: str, role: str, password: str):
    """``studio user add NAME --role ROLE --password-stdin``: (exit code, stdout, stderr)."""
    return run(
        capsys, monkeypatch, "user", "add", name, "--role", role, "--password-stdin", stdin=password + "\n"
    )
