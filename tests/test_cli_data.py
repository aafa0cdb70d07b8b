"""``studio data``: every MLTable conformance case through the CLI, as a user would run it."""

import json
from pathlib import Path

import pytest

from backend.services import data_assets, open_session
from studio.cli import main
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "mltable"
GOOD = sorted(p for p in FIXTURES.glob("case_*") if not p.name.startswith("case_bad"))
BAD = sorted(FIXTURES.glob("case_bad_*"))
IRIS = REPO / "assets" / "sample_data" / "iris.csv"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _expected_error(case: Path) -> dict[str, str]:
    lines = (case / "expected_error.txt").read_text().splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines if ":" in line)}


@pytest.mark.parametrize("case", GOOD, ids=lambda p: p.name)
def test_studio_data_preview_prints_every_conformance_case_as_expected(capsys, case):
    code, _, err = run(capsys, "data", "create", "--name", "t", "--type", "mltable", "--path", str(case))
    assert code == 0, err
    code, out, err = run(capsys, "data", "preview", "--name", "t", "--output", "csv")
    assert code == 0, err
    with open_session() as s:
        asset = data_assets.get_data_asset(session=s, workspace="default", name="t")
        folder = data_assets.local_copy(session=s, workspace="default", uri=asset.path)
    out = out.replace(str(folder), "{CASE_DIR}")
    with open(case / "expected.csv", newline="") as handle:
        expected = handle.read()
    if json.loads((case / "case.json").read_text())["row_order"] == "exact":
        assert out == expected
    else:
        got, want = out.splitlines(), expected.splitlines()
        assert got[0] == want[0] and sorted(got[1:]) == sorted(want[1:])


@pytest.mark.parametrize("case", BAD, ids=lambda p: p.name)
def test_bad_mltables_fail_with_one_clear_line_at_the_right_step(capsys, case):
    expected = _expected_error(case)
    code, _, err = run(capsys, "data", "create", "--name", "bad", "--type", "mltable", "--path", str(case))
    if expected["raised_during"] == "load":
        assert code == 1 and "MLTable" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert run(capsys, "data", "list", "-o", "json")[1].strip() == "[]"
    else:
        assert code == 0, err
        code, out, err = run(capsys, "data", "preview", "--name", "bad")
        assert code == 1 and out == ""
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "MLTable" in err


def test_show_by_label_and_version_and_archive(capsys):
    for _ in range(2):
        run(capsys, "data", "create", "-n", "iris", "-t", "uri_file", "-p", str(IRIS))
    assert (
        json.loads(run(capsys, "data", "show", "-n", "iris", "--label", "latest", "-o", "json")[1])["version"]
        == "2"
    )
    assert (
        json.loads(run(capsys, "data", "show", "-n", "iris", "--version", "1", "-o", "json")[1])["version"]
        == "1"
    )
    assert run(capsys, "data", "archive", "-n", "iris", "--version", "2")[0] == 0
    assert (
        json.loads(run(capsys, "data", "show", "-n", "iris", "--label", "latest", "-o", "json")[1])["version"]
        == "1"
    )
    code, out, _ = run(capsys, "data", "preview", "-n", "iris", "--rows", "2", "-o", "json")
    assert code == 0 and len(json.loads(out)) == 2


def test_create_from_yaml_with_set_override(capsys, tmp_path):
    spec = tmp_path / "data.yml"
    spec.write_text(
        f"$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
        f"name: iris\ntype: uri_file\npath: {IRIS}\n"
    )
    code, out, err = run(capsys, "data", "create", "--file", str(spec), "--set", "version=5", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["version"] == "5"
