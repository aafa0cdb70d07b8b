"""The quick CLI: with `studio up` running, `studio` commands run in its CLI server's forked children and
behave exactly as in-process (output, exit code, working folder, environment, stdin)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import RunningStudio

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_cli_server")


@pytest.fixture(scope="module")
def studio_up(tmp_path_factory):
    # A deep home, as a CI checkout's temporary folders give: its sockets' paths pass sun_path's 107 bytes.
    home = tmp_path_factory.mktemp("cli-server") / ("a-deep-folder-" * 5) / "home"
    assert len(str(home / "run" / "cli.sock")) > 107
    studio = RunningStudio(home, "--headless")
    try:
        studio.wait_ready()
        deadline = time.monotonic() + 60
        while not (home / "run" / "cli.sock").exists():
            assert time.monotonic() < deadline, studio.output()
            time.sleep(0.2)
        yield home
    finally:
        studio.stop()


def _run(home: Path, cwd: Path, *argv: str, mode: str = "require", stdin: str = "", **env: str):
    return subprocess.run(
        [sys.executable, "-m", "studio.quick", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"STUDIO_HOME": str(home), "PATH": os.environ["PATH"], "STUDIO_CLI_SERVER": mode, **env},
        timeout=120,
    )


def test_a_served_command_gives_what_the_in_process_one_gives(studio_up, tmp_path):
    created = _run(studio_up, tmp_path, "workspace", "create", "team-a", "--output", "json")
    assert created.returncode == 0, created.stderr
    served = _run(studio_up, tmp_path, "workspace", "list", "--output", "json")
    here = _run(studio_up, tmp_path, "workspace", "list", "--output", "json", mode="off")
    assert served.returncode == here.returncode == 0, served.stderr + here.stderr
    assert json.loads(served.stdout) == json.loads(here.stdout)
    assert {w["name"] for w in json.loads(served.stdout)} >= {"default", "team-a"}

    missing = _run(studio_up, tmp_path, "job", "show", "--name", "nope")
    missing_here = _run(studio_up, tmp_path, "job", "show", "--name", "nope", mode="off")
    assert missing.returncode == missing_here.returncode == 1
    assert missing.stderr == missing_here.stderr
    assert missing.stderr.count("\n") == 1 and missing.stderr.startswith("error: ")

    usage = _run(studio_up, tmp_path, "job", "show")  # typer's own usage error
    assert usage.returncode == _run(studio_up, tmp_path, "job", "show", mode="off").returncode == 2


def test_the_command_sees_the_clients_folder_environment_and_stdin(studio_up, tmp_path):
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    (tmp_path / "data.yml").write_text("name: rows\ntype: uri_file\npath: rows.csv\n")
    created = _run(studio_up, tmp_path, "data", "create", "--file", "data.yml")  # relative to the client
    assert created.returncode == 0, created.stderr
    other = _run(studio_up, tmp_path, "workspace", "create", "team-b")
    assert other.returncode == 0, other.stderr

    listed = _run(studio_up, tmp_path, "data", "list", "--output", "json")
    assert [d["name"] for d in json.loads(listed.stdout)] == ["rows"]
    elsewhere = _run(studio_up, tmp_path, "data", "list", "--output", "json", STUDIO_WORKSPACE="team-b")
    assert json.loads(elsewhere.stdout) == []

    declined = _run(studio_up, tmp_path, "workspace", "delete", "team-b", stdin="n\n")
    assert declined.returncode == 1 and "Aborted" in declined.stderr + declined.stdout
    confirmed = _run(studio_up, tmp_path, "workspace", "delete", "team-b", stdin="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    names = {
        w["name"]
        for w in json.loads(_run(studio_up, tmp_path, "workspace", "list", "--output", "json").stdout)
    }
    assert "team-b" not in names


def test_without_a_server_the_command_runs_in_process_unless_the_server_is_required(tmp_path):
    home = tmp_path / "home"
    assert _run(home, tmp_path, "workspace", "list", mode="on").returncode == 0
    required = _run(home, tmp_path, "workspace", "list", mode="require")
    assert required.returncode == 1 and "no studio CLI server" in required.stderr
