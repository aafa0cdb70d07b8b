import json

import pytest

from studio.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("database")
def test_create_then_list_and_show_as_json(capsys):
    assert run(capsys, "workspace", "create", "demo2", "--tags", "team=ml")[0] == 0
    code, out, _ = run(capsys, "workspace", "list", "--output", "json")
    assert code == 0
    assert [w["name"] for w in json.loads(out)] == ["default", "demo2"]
    code, out, _ = run(capsys, "workspace", "show", "--name", "demo2", "--output", "json")
    shown = json.loads(out)
    assert shown["tags"] == {"team": "ml"}
    assert sorted(d["name"] for d in shown["datastores"]) == [
        "workspaceartifactstore",
        "workspaceblobstore",
        "workspacefilestore",
        "workspaceworkingdirectory",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["workspace", "create", "default"], "error: workspace 'default' already exists"),
        (["workspace", "create", "no way"], "error: workspace name 'no way' is not valid"),
        (["workspace", "show", "--name", "ghost"], "error: workspace 'ghost' does not exist"),
        (["workspace", "update", "ghost", "-d", "x"], "error: workspace 'ghost' does not exist"),
        (["workspace", "delete", "default", "--yes"], "error: the 'default' workspace cannot be deleted"),
        (["workspace", "create", "ok-name", "--tags", "novalue"], "error: --tags expects key=value"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code != 0
    assert err.strip().startswith(message)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    run(capsys, "workspace", "list", "-o", "json")
    code, out, _ = run(capsys, "workspace", "list", "-o", "json")
    assert [w["name"] for w in json.loads(out)] == ["default"]


def test_unreachable_database_is_one_clear_line(capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_DATABASE_URL", "postgresql://someone:hunter2@127.0.0.1:1/nowhere")
    code, _, err = run(capsys, "workspace", "list")
    assert code == 1
    assert err.startswith("error: cannot reach the database at postgresql://someone:***@127.0.0.1:1/nowhere")
    assert "hunter2" not in err and len(err.strip().splitlines()) == 1


def test_workspace_option_and_environment_variable_pick_the_workspace(capsys, monkeypatch):
    run(capsys, "workspace", "create", "team-b")
    _, out, _ = run(capsys, "workspace", "show", "-w", "team-b", "-o", "json")
    assert json.loads(out)["name"] == "team-b"
    monkeypatch.setenv("STUDIO_WORKSPACE", "team-b")
    _code, out, _ = run(capsys, "workspace", "show", "-o", "json")
    assert json.loads(out)["name"] == "team-b"


def test_delete_asks_for_confirmation(capsys, monkeypatch):
    run(capsys, "workspace", "create", "team-c")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, _, err = run(capsys, "workspace", "delete", "team-c")
    assert code == 1 and "Aborted" in err
    code, out, _ = run(capsys, "workspace", "list", "-o", "json")
    assert "team-c" in out


HEAVY = ("alembic", "mlflow", "pandas", "rich", "requests", "fsspec", "pydantic_settings")


def heavy_imports_of(argv: list[str]) -> list[str]:
    """Run ``studio ARGV`` in a fresh process, as the console script does; the heavy modules it imported."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    probe = (
        "import sys, contextlib, io, json\n"
        "from studio.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        f"print(code, json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code, _, imported = done.stdout.strip().splitlines()[-1].partition(" ")
    assert code == "0", done.stdout + done.stderr
    return json.loads(imported)


@pytest.mark.parametrize(
    "argv",
    [
        ["workspace", "list"],
        ["workspace", "show", "default"],
        ["job", "list"],
        ["data", "list"],
        ["datastore", "list"],
    ],
)
def test_list_and_show_import_nothing_heavy_once_the_database_is_migrated(argv, capsys):
    """What makes a call slow is importing what it does not use: each command runs in a fresh process,
    after a first call that created and migrated the database (so Alembic is not needed any more)."""
    assert run(capsys, "workspace", "list")[0] == 0
    assert heavy_imports_of(argv) == []


def test_model_list_and_show_do_not_import_mlflow(capsys, tmp_path, tracking):
    (tmp_path / "weights.bin").write_text("w")
    code, _, err = run(capsys, "model", "create", "--name", "quick", "--path", str(tmp_path / "weights.bin"))
    assert code == 0, err
    assert heavy_imports_of(["model", "list"]) == []
    assert heavy_imports_of(["model", "show", "--name", "quick"]) == []
    code, out, _ = run(capsys, "model", "show", "--name", "quick", "-o", "json")
    assert json.loads(out)["type"] == "custom_model" and json.loads(out)["version"] == "1"


def test_a_bad_studio_variable_is_one_line_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_UI_PORT", "eighty")
    from backend.settings import reset_settings

    reset_settings()
    code, _, err = run(capsys, "workspace", "list")
    assert code == 1
    assert err.startswith(
        "error: environment variable STUDIO_UI_PORT='eighty': Input should be a valid integer"
    )
    assert len(err.strip().splitlines()) == 1
