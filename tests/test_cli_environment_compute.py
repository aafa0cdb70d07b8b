import json
import subprocess

import pytest

from studio.cli import main

MISSING_PACKAGE = "studio-no-such-package-9f3k2"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def one_line_error(capsys, *argv: str) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


# -------------------------------------------------------------------------------------- environments


@pytest.mark.usefixtures("database")
def test_environment_create_from_cloud_yaml_then_list_show_archive_restore(capsys, tmp_path):
    (tmp_path / "conda.yml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - six\n")
    (tmp_path / "env.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n"
        "name: cli-env\nimage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\nconda_file: conda.yml\n"
    )
    first = ok_json(capsys, "environment", "create", "--file", str(tmp_path / "env.yml"))
    assert (first["version"], first["build_status"], first["runs_in"][:5]) == ("1", "NotStarted", "venv ")
    second = ok_json(
        capsys,
        "environment",
        "create",
        "-f",
        str(tmp_path / "env.yml"),
        "--set",
        "description=two",
        "--tags",
        "a=b",
    )
    assert (second["version"], second["description"], second["tags"]) == ("2", "two", {"a": "b"})
    listed = ok_json(capsys, "environment", "list")
    assert [(e["name"], e["version"]) for e in listed] == [("cli-env", "2")]
    shown = ok_json(capsys, "environment", "show", "--name", "cli-env", "--label", "latest")
    assert shown["version"] == "2" and "its own virtual environment" in shown["reason"]
    assert shown["build"]["status"] == "NotStarted"

    code, out, _ = run(capsys, "environment", "archive", "--name", "cli-env", "--version", "2")
    assert code == 0 and "archived 1 version(s)" in out
    assert ok_json(capsys, "environment", "show", "-n", "cli-env", "-l", "latest")["version"] == "1"
    assert [
        e["version"] for e in ok_json(capsys, "environment", "list", "-n", "cli-env", "--include-archived")
    ] == [
        "1",
        "2",
    ]
    run(capsys, "environment", "restore", "--name", "cli-env")
    assert ok_json(capsys, "environment", "show", "-n", "cli-env")["version"] == "2"


def test_environment_build_streams_the_log_and_the_venv_runs(capsys, tmp_path):
    (tmp_path / "requirements.txt").write_text("six\n")
    created = ok_json(
        capsys, "environment", "create", "--name", "tiny", "--pip-file", str(tmp_path / "requirements.txt")
    )
    code, out, err = run(capsys, "environment", "build", "--name", "tiny")
    assert code == 0, err
    assert "$ " in out and "uv pip install" in out and "+ six==" in out
    assert out.strip().splitlines()[-1].startswith("environment tiny:1 is built: ")
    shown = ok_json(capsys, "environment", "show", "--name", "tiny", "--version", "1")
    assert shown["build_status"] == "Succeeded" and shown["spec_hash"] == created["spec_hash"]
    ran = subprocess.run(
        [shown["build"]["python"], "-c", "import six, mlflow"], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr


def test_a_failed_build_is_one_error_line_and_a_nonzero_exit(capsys):
    run(capsys, "environment", "create", "--name", "broken", "--pip", MISSING_PACKAGE)
    code, out, err = run(capsys, "environment", "build", "--name", "broken")
    assert code == 1
    assert MISSING_PACKAGE in out  # the log was streamed
    assert err.startswith(
        "error: environment broken:1 did not build: Build failed: uv pip install exited with code"
    )
    assert len(err.strip().splitlines()) == 1


def test_an_image_only_environment_has_nothing_to_build(capsys):
    run(capsys, "environment", "create", "--name", "img", "--image", "python:3.11")
    code, out, _ = run(capsys, "environment", "build", "--name", "img")
    assert code == 0 and "runs in the built-in environment" in out and "nothing to build" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["environment", "show", "--name", "ghost"],
            "error: environment 'ghost' does not exist in workspace 'default'",
        ),
        (["environment", "create", "--name", "x"], "an environment needs an 'image', a 'conda_file'"),
        (["environment", "create", "--image", "x"], "error: give --file FILE, or --name NAME"),
        (
            ["environment", "create", "--name", "x", "--pip-file", "/nowhere/req.txt"],
            "/nowhere/req.txt: file not found",
        ),
        (["environment", "create", "--file", "/nowhere/env.yml"], "error: /nowhere/env.yml: file not found"),
    ],
)
def test_bad_environment_commands_are_one_line(capsys, argv, message):
    assert message in one_line_error(capsys, *argv)
    assert ok_json(capsys, "environment", "list") == []


def test_an_unknown_field_in_the_file_is_named(capsys, tmp_path):
    (tmp_path / "env.yml").write_text("name: e\nimage: x\nimages: y\n")
    err = one_line_error(capsys, "environment", "create", "--file", str(tmp_path / "env.yml"))
    assert err == f"error: {tmp_path / 'env.yml'}: field 'images' is not allowed here"


# ------------------------------------------------------------------------------------------- compute


@pytest.mark.usefixtures("database")
def test_compute_create_list_show_stop_start_delete(capsys, tmp_path):
    (tmp_path / "cluster.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json\n"
        "name: cpu-cluster\ntype: amlcompute\nsize: Standard_DS3_v2\nmax_instances: 2\nlocation: westus\n"
    )
    cluster = ok_json(
        capsys, "compute", "create", "--file", str(tmp_path / "cluster.yml"), "--set", "max_instances=3"
    )
    assert (cluster["type"], cluster["max_instances"], cluster["capacity"]["slots"]) == ("amlcompute", 3, 3)
    instance = ok_json(
        capsys,
        "compute",
        "create",
        "--name",
        "my-ci",
        "--type",
        "computeinstance",
        "--size",
        "Standard_DS1_v2",
    )
    assert (instance["state"], instance["cores"]) == ("Running", 1)
    listed = ok_json(capsys, "compute", "list")
    assert [c["name"] for c in listed] == ["serverless", "cpu-cluster", "my-ci"]
    assert ok_json(capsys, "compute", "stop", "--name", "my-ci")["state"] == "Stopped"
    assert ok_json(capsys, "compute", "start", "--name", "my-ci")["state"] == "Running"
    assert "it scales itself" in one_line_error(capsys, "compute", "stop", "--name", "cpu-cluster")
    code, out, _ = run(capsys, "compute", "delete", "--name", "my-ci", "--yes")
    assert code == 0 and "deleted compute my-ci" in out
    assert [c["name"] for c in ok_json(capsys, "compute", "list")] == ["serverless", "cpu-cluster"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["compute", "create", "--name", "k", "--type", "kubernetes"],
            "compute type 'kubernetes' is not supported yet",
        ),
        (
            ["compute", "create", "--name", "c1", "--type", "amlcompute", "--size", "Standard_X"],
            "VM size 'Standard_X'",
        ),
        (["compute", "create", "--name", "serverless", "--type", "amlcompute"], "'serverless' is reserved"),
        (["compute", "create", "--name", "c1"], "error: give --file FILE, or --name NAME and --type"),
        (
            ["compute", "show", "--name", "ghost"],
            "error: compute 'ghost' does not exist in workspace 'default'",
        ),
        (["compute", "delete", "--name", "serverless", "--yes"], "serverless compute is built in"),
    ],
)
def test_bad_compute_commands_are_one_line(capsys, argv, message):
    assert message in one_line_error(capsys, *argv)


def test_delete_asks_first_and_sizes_are_listed(capsys, monkeypatch):
    run(capsys, "compute", "create", "--name", "keep-me", "--type", "computeinstance")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, _, err = run(capsys, "compute", "delete", "--name", "keep-me")
    assert code == 1 and "Aborted" in err
    assert "keep-me" in [c["name"] for c in ok_json(capsys, "compute", "list")]
    sizes = {s["name"]: (s["cores"], s["memory_gb"]) for s in ok_json(capsys, "compute", "list-sizes")}
    assert sizes["Standard_DS3_v2"] == (4, 14) and sizes["Standard_NC6"] == (6, 56)
