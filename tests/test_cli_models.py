"""``studio model``: register, list, show, download, archive and restore through the CLI."""

import json
import uuid

import pytest

from studio.cli import main

pytestmark = pytest.mark.usefixtures("tracking")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_show_download_archive_restore(capsys, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "weights.bin").write_text("w")
    code, out, err = run(capsys, "model", "create", "--name", name, "--path", str(folder), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["version"] == "1" and json.loads(out)["type"] == "custom_model"
    (tmp_path / "model.yml").write_text(f"name: {name}\nversion: 2\npath: m\ntype: custom_model\n")
    code, out, err = run(capsys, "model", "create", "--file", str(tmp_path / "model.yml"), "--output", "json")
    assert code == 0, err
    assert json.loads(out)["version"] == "2"
    code, out, err = run(capsys, "model", "list", "--output", "json")
    assert code == 0, err
    assert next(m for m in json.loads(out) if m["name"] == name)["latest_version"] == "2"
    code, out, err = run(capsys, "model", "show", "--name", name, "--version", "1", "--output", "json")
    assert code == 0 and json.loads(out)["version"] == "1", err
    code, out, err = run(capsys, "model", "archive", "--name", name, "--version", "2")
    assert code == 0 and "archived" in out, err
    code, out, err = run(capsys, "model", "show", "--name", name, "--label", "latest", "-o", "json")
    assert code == 0 and json.loads(out)["version"] == "1", err
    code, out, err = run(capsys, "model", "restore", "--name", name, "--version", "2")
    assert code == 0, err
    code, out, err = run(capsys, "model", "list", "--name", name, "-o", "json")
    assert [v["version"] for v in json.loads(out)] == ["2", "1"]
    code, out, err = run(
        capsys, "model", "download", "--name", name, "--version", "2", "--download-path", str(tmp_path / "d")
    )
    assert code == 0, err
    assert (tmp_path / "d" / name / "weights.bin").read_text() == "w"


def test_mistakes_are_one_line_naming_the_field(capsys, tmp_path):
    code, _, err = run(capsys, "model", "create", "--name", "x", "--type", "onnx", "--path", str(tmp_path))
    assert code == 1 and "'type'" in err and "mlflow_model" in err and len(err.strip().splitlines()) == 1
    name = f"cli-{uuid.uuid4().hex[:8]}"
    code, _, err = run(capsys, "model", "create", "--name", name, "--version", "3", "--path", str(tmp_path))
    assert code == 1 and "the only version allowed is 1" in err
    code, _, err = run(capsys, "model", "show", "--name", name)
    assert code == 1 and "does not exist" in err
