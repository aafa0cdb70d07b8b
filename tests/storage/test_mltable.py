"""Conformance of the MLTable reader with the cases in tests/fixtures/mltable (see its README)."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from backend.storage.mltable import MLTableError, load_mltable

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mltable"
GOOD_CASES = sorted(
    p.name for p in FIXTURES.glob("case_*") if p.is_dir() and not p.name.startswith("case_bad_")
)
BAD_CASES = sorted(p.name for p in FIXTURES.glob("case_bad_*") if p.is_dir())
STAGES = {"load": "load", "to_pandas_dataframe": "read"}


def _case_dir(name: str) -> Path:
    # abspath, like the reader, so the {CASE_DIR} prefix matches its Path column exactly.
    return Path(os.path.abspath(FIXTURES / name))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _render(df: pd.DataFrame, case_dir: Path) -> str:
    """df.to_csv(index=False), with the case folder's absolute path shown as {CASE_DIR}."""
    prefix = str(case_dir)

    def placeholder(value: object) -> object:
        if isinstance(value, str) and value.startswith(prefix):
            return "{CASE_DIR}" + value[len(prefix) :]
        return value

    shown = df.copy()
    for name in shown.columns:
        if shown[name].dtype == object:
            shown[name] = shown[name].map(placeholder)
    return shown.to_csv(index=False)


def test_fixtures_are_found():
    assert GOOD_CASES and BAD_CASES


@pytest.mark.parametrize("name", GOOD_CASES)
def test_good_case(name: str):
    case_dir = _case_dir(name)
    case = _read_json(case_dir / "case.json")
    df = load_mltable(case_dir).to_pandas_dataframe()

    with open(case_dir / "expected.csv", encoding="utf-8", newline="") as handle:
        expected = handle.read()
    actual = _render(df, case_dir)
    if case["row_order"] == "exact":
        assert actual == expected
    else:
        assert case["row_order"] == "unordered"
        actual_header, *actual_rows = actual.split("\n")
        expected_header, *expected_rows = expected.split("\n")
        assert actual_header == expected_header
        assert sorted(actual_rows) == sorted(expected_rows)

    assert {c: str(t) for c, t in df.dtypes.items()} == _read_json(case_dir / "expected_dtypes.json")
    # Dict equality ignores order, so check the column order on its own.
    assert list(df.columns) == list(_read_json(case_dir / "expected_dtypes.json"))
    assert {c: int(n) for c, n in df.isna().sum().items()} == _read_json(case_dir / "expected_nulls.json")


def _expected_error(case_dir: Path) -> dict[str, str]:
    lines = (case_dir / "expected_error.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


@pytest.mark.parametrize("name", BAD_CASES)
def test_bad_case(name: str):
    case_dir = _case_dir(name)
    expected = _expected_error(case_dir)
    stage = STAGES[expected["raised_during"]]

    with pytest.raises(MLTableError) as raised:
        table = load_mltable(case_dir)
        assert stage == "read", "load_mltable should have raised"
        table.to_pandas_dataframe()

    error = raised.value
    assert error.stage == stage
    assert error.category == expected["category"]
    message = str(error)
    assert "\n" not in message
    assert str(case_dir / "MLTable") in message
