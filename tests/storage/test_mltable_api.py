"""``import mltable`` as a job runs it: a separate interpreter where Studio's packages do not exist.

Each test starts a real Python process with ``-S`` (no site initialisation, so the editable
install's finder that makes ``backend`` importable here is not set up) and ``PYTHONPATH`` set to
``backend/runtime`` plus the directory holding pandas and pyarrow, in an empty working folder:
what a job's environment looks like. Every process checks first that ``backend`` is not
importable, then prints JSON the test compares with the conformance cases.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "backend" / "runtime"
FIXTURES = REPO / "tests" / "fixtures" / "mltable"
GOOD = sorted(p.name for p in FIXTURES.glob("case_*") if not p.name.startswith("case_bad_"))
BAD = sorted(p.name for p in FIXTURES.glob("case_bad_*"))
STAGES = {"load": "load", "to_pandas_dataframe": "read"}

PRELUDE = """
import json, sys
try:
    import backend
except ModuleNotFoundError:
    pass
else:
    raise SystemExit(f"backend is importable from {backend.__file__}: this is no job environment")
import mltable

def frame(df):
    return {
        "csv": df.to_csv(index=False),
        "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
        "nulls": {str(c): int(n) for c, n in df.isna().sum().items()},
    }
"""


def run_job(script: str, cwd: Path, inputs: dict[str, str] | None = None) -> Any:
    """Run ``script`` as a job would and return the JSON it prints last."""
    site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "STUDIO_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(RUNTIME), *sorted(site)])
    if inputs is not None:
        env["STUDIO_JOB_INPUTS"] = json.dumps(inputs)
    code = PRELUDE + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _expected(case: str, case_dir: Path) -> dict[str, Any]:
    folder = FIXTURES / case
    with open(folder / "expected.csv", encoding="utf-8", newline="") as handle:
        text = handle.read()
    return {
        "csv": text.replace("{CASE_DIR}", str(case_dir)),
        "dtypes": json.loads((folder / "expected_dtypes.json").read_text()),
        "nulls": json.loads((folder / "expected_nulls.json").read_text()),
        "unordered": json.loads((folder / "case.json").read_text())["row_order"] == "unordered",
    }


def _same_frame(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert actual["dtypes"] == expected["dtypes"]
    assert list(actual["dtypes"]) == list(expected["dtypes"])
    assert actual["nulls"] == expected["nulls"]
    if expected["unordered"]:
        assert sorted(actual["csv"].split("\n")) == sorted(expected["csv"].split("\n"))
    else:
        assert actual["csv"] == expected["csv"]


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    """A copy of the conformance cases, so a case folder's path is the job's input path."""
    target = tmp_path / "cases"
    shutil.copytree(FIXTURES, target)
    return target


def test_a_job_reads_every_conformance_case_with_import_mltable(cases: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    results = run_job(
        f"""
        out = {{"module": mltable.__file__, "reader": "mltable._reader" in sys.modules, "good": {{}}, "bad": {{}}}}
        for case in {GOOD!r}:
            out["good"][case] = frame(mltable.load({str(cases)!r} + "/" + case).to_pandas_dataframe())
        for case in {BAD!r}:
            stage = "load"
            try:
                table = mltable.load({str(cases)!r} + "/" + case)
                stage = "read"
                table.to_pandas_dataframe()
                out["bad"][case] = None
            except mltable.MLTableError as exc:
                out["bad"][case] = {{"stage": exc.stage, "category": exc.category, "message": str(exc),
                                    "value_error": isinstance(exc, ValueError)}}
        print(json.dumps(out))
        """,
        cwd=work,
    )
    assert Path(results["module"]) == RUNTIME / "mltable" / "__init__.py"
    assert results["reader"]
    for case in GOOD:
        _same_frame(results["good"][case], _expected(case, cases / case))
    for case in BAD:
        error = results["bad"][case]
        expected = dict(
            line.split(": ", 1)
            for line in (FIXTURES / case / "expected_error.txt").read_text().splitlines()
            if ": " in line
        )
        assert error is not None, f"{case} loaded and read without an error"
        assert error["stage"] == STAGES[expected["raised_during"]]
        assert error["category"] == expected["category"]
        assert str(cases / case / "MLTable") in error["message"] and "\n" not in error["message"]
        assert error["value_error"]  # without Studio's errors module the reader's errors are ValueErrors


def test_an_azureml_uri_that_is_a_job_input_loads_from_the_path_the_job_was_given(
    cases: Path, tmp_path: Path
) -> None:
    short = "azureml://datastores/workspaceblobstore/paths/tables/orders"
    long = (
        "azureml://subscriptions/0000/resourcegroups/rg/providers/Microsoft.MachineLearningServices/"
        "workspaces/ws/datastores/workspaceblobstore/paths/tables/orders/"
    )
    results = run_job(
        f"""
        print(json.dumps({{
            "short": frame(mltable.load({short!r}).to_pandas_dataframe()),
            "long": frame(mltable.load({long!r}).to_pandas_dataframe()),
            "file": frame(mltable.load({short + "/MLTable"!r}).to_pandas_dataframe()),
        }}))
        """,
        cwd=tmp_path,
        inputs={short: str(cases / "case_27_combo_pipeline")},
    )
    expected = _expected("case_27_combo_pipeline", cases / "case_27_combo_pipeline")
    for form in ("short", "long", "file"):
        _same_frame(results[form], expected)


def test_azureml_paths_inside_an_mltable_file_resolve_through_the_jobs_inputs(tmp_path: Path) -> None:
    raw = tmp_path / "mounted" / "raw"
    raw.mkdir(parents=True)
    (raw / "part1.csv").write_text("id,city\n1,Oslo\n2,Lima\n")
    (raw / "part2.csv").write_text("id,city\n3,Quito\n")
    table = tmp_path / "table"
    table.mkdir()
    (table / "MLTable").write_text(
        "paths:\n"
        "  - file: azureml://datastores/lake/paths/raw/part2.csv\n"
        "  - pattern: azureml://datastores/lake/paths/raw/part1*.csv\n"
        "transformations:\n"
        "  - read_delimited\n"
    )
    results = run_job(
        f"""
        print(json.dumps(frame(mltable.load({str(table)!r}).to_pandas_dataframe())))
        """,
        cwd=tmp_path,
        inputs={"azureml://datastores/lake/paths/raw/": str(raw)},
    )
    assert results["csv"] == "id,city\n3,Quito\n1,Oslo\n2,Lima\n"
    assert results["dtypes"] == {"id": "int64", "city": "object"}


def test_a_uri_that_is_no_input_of_the_job_is_an_error_that_says_to_pass_it_as_one(
    cases: Path, tmp_path: Path
) -> None:
    table = tmp_path / "table"
    table.mkdir()
    (table / "MLTable").write_text(
        "paths:\n  - file: azureml://datastores/lake/paths/secret.csv\ntransformations: [read_delimited]\n"
    )
    results = run_job(
        f"""
        out = {{}}
        for name, action in [
            ("load", lambda: mltable.load("azureml://datastores/other/paths/tables/x")),
            ("short asset", lambda: mltable.load("azureml:orders:3")),
            ("inside", lambda: mltable.load({str(table)!r}).to_pandas_dataframe()),
        ]:
            try:
                action()
                out[name] = None
            except mltable.MLTableError as exc:
                out[name] = str(exc)
        print(json.dumps(out))
        """,
        cwd=tmp_path,
        inputs={"azureml://datastores/lake/paths/tables": str(cases)},
    )
    assert "azureml://datastores/other/paths/tables/x is not an input of this job" in results["load"]
    assert "pass it to the job as an input" in results["load"]
    assert "azureml://datastores/lake/paths/tables" in results["load"]  # the inputs it has
    assert "azureml:orders:3 is not an input of this job" in results["short asset"]
    assert "azureml://datastores/lake/paths/secret.csv is not an input of this job" in results["inside"]
    assert str(table / "MLTable") in results["inside"]


def test_table_methods_add_checked_steps_and_fail_where_the_input_is_wrong(
    cases: Path, tmp_path: Path
) -> None:
    case = cases / "case_01_csv_basic_infer"
    results = run_job(
        f"""
        from mltable import DataType
        tbl = mltable.load({str(case)!r})
        out = {{
            "paths": tbl.paths,
            "take": frame(tbl.take(2).to_pandas_dataframe()),
            "show": frame(tbl.show(1)),
            "skip": len(tbl.skip(3).to_pandas_dataframe()),
            "keep": list(tbl.keep_columns(["customer", "order_id"]).to_pandas_dataframe().columns),
            "drop": list(tbl.drop_columns("score").drop_columns(("units", "weight_kg")).to_pandas_dataframe().columns),
            "filter": tbl.filter('order_id > 1003 and not is_gift').to_pandas_dataframe()["order_id"].tolist(),
            "convert": frame(tbl.convert_column_types({{
                "order_id": DataType.to_string(),
                ("units", "score"): "float",
                "customer": DataType.to_bool(true_values=["alpha"], false_values=["beta"]),
            }}).keep_columns(["order_id", "units", "customer"]).to_pandas_dataframe()),
            "sample": len(tbl.take_random_sample(0.5, seed=3).to_pandas_dataframe()) <= len(tbl.to_pandas_dataframe()),
            "unchanged": len(tbl.to_pandas_dataframe()),
            "errors": {{}},
        }}
        for name, action in [
            ("take", lambda: tbl.take(0)),
            ("skip", lambda: tbl.skip(-2)),
            ("keep", lambda: tbl.keep_columns(3)),
            ("drop", lambda: tbl.drop_columns(["a", "a"])),
            ("filter", lambda: tbl.filter("order_id >")),
            ("filter_call", lambda: tbl.filter("len(customer) > 2")),
            ("convert", lambda: tbl.convert_column_types({{"order_id": "integer"}})),
            ("bool", lambda: DataType.to_bool(true_values=["y"])),
            ("sample", lambda: tbl.take_random_sample(1.5)),
        ]:
            try:
                action()
                out["errors"][name] = None
            except mltable.MLTableError as exc:
                out["errors"][name] = str(exc)
        print(json.dumps(out))
        """,
        cwd=tmp_path,
    )
    assert results["paths"] == [{"file": "./data.csv"}]
    assert results["take"]["csv"].count("\n") == 3 and results["show"]["csv"].count("\n") == 2
    assert results["take"]["dtypes"]["order_id"] == "int64"
    assert results["skip"] == results["unchanged"] - 3
    assert results["keep"] == ["order_id", "customer"]  # the table's order, as in the reference
    assert "score" not in results["drop"] and "units" not in results["drop"] and "order_id" in results["drop"]
    assert results["filter"] and all(order > 1003 for order in results["filter"])
    assert results["convert"]["dtypes"] == {"order_id": "object", "units": "float64", "customer": "object"}
    assert results["convert"]["csv"].splitlines()[1].startswith("1001,5.0,True")
    assert results["sample"]
    errors = results["errors"]
    assert "take(count)" in errors["take"] and "got 0" in errors["take"]
    assert "skip(count)" in errors["skip"]
    assert "columns" in errors["keep"] and "columns" in errors["drop"]
    assert "transformation 'filter'" in errors["filter"] and "order_id >" in errors["filter"]
    assert "len" in errors["filter_call"] and "allowed" in errors["filter_call"]
    assert "'integer'" in errors["convert"] and "'int'" in errors["convert"]
    assert "true_values" in errors["bool"]
    assert "take_random_sample(probability)" in errors["sample"]


def test_tables_built_in_code_read_files_relative_to_the_working_directory(
    cases: Path, tmp_path: Path
) -> None:
    results = run_job(
        """
        import os
        os.chdir("case_11_folder_same_headers")
        delimited = mltable.from_delimited_files([{"folder": "./batches"}], header="ALL_FILES_SAME_HEADERS")
        os.chdir("../case_16_parquet_types")
        parquet = mltable.from_parquet_files([{"file": "typed.parquet"}], include_path_column=False)
        os.chdir("../case_18_json_lines")
        jsonl = mltable.from_json_lines_files([{"file": "events.jsonl"}], encoding="utf-8")
        os.chdir("..")
        print(json.dumps({
            "delimited": frame(delimited.to_pandas_dataframe()),
            "parquet": frame(parquet.to_pandas_dataframe()),
            "jsonl": frame(jsonl.to_pandas_dataframe()),
            "paths": parquet.paths,
            "yaml": str(jsonl),
        }))
        """,
        cwd=cases,
    )
    _same_frame(
        results["delimited"], _expected("case_11_folder_same_headers", cases / "case_11_folder_same_headers")
    )
    _same_frame(results["parquet"], _expected("case_16_parquet_types", cases / "case_16_parquet_types"))
    _same_frame(results["jsonl"], _expected("case_18_json_lines", cases / "case_18_json_lines"))
    assert results["paths"] == [{"file": "typed.parquet"}]
    assert "read_json_lines" in results["yaml"] and "encoding: utf8" in results["yaml"]


def test_from_delta_lake_reads_the_version_asked_for(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    log = tmp_path / "sales" / "_delta_log"
    log.mkdir(parents=True)
    add = {
        "add": {
            "path": "p0.parquet",
            "partitionValues": {},
            "size": 1,
            "modificationTime": 0,
            "dataChange": True,
        }
    }
    (log / f"{0:020d}.json").write_text(
        json.dumps({"protocol": {"minReaderVersion": 1}}) + "\n" + json.dumps(add) + "\n"
    )
    add1 = {"add": {**add["add"], "path": "p1.parquet", "modificationTime": 1}}
    (log / f"{1:020d}.json").write_text(json.dumps(add1) + "\n")
    pq.write_table(pa.table({"n": [1, 2]}), tmp_path / "sales" / "p0.parquet")
    pq.write_table(pa.table({"n": [3]}), tmp_path / "sales" / "p1.parquet")
    results = run_job(
        """
        out = {
            "latest": mltable.from_delta_lake("sales").to_pandas_dataframe()["n"].tolist(),
            "first": mltable.from_delta_lake("sales", version_as_of=0).to_pandas_dataframe()["n"].tolist(),
        }
        try:
            mltable.from_delta_lake("sales", version_as_of=0, timestamp_as_of="2020-01-01T00:00:00Z")
        except mltable.MLTableError as exc:
            out["both"] = str(exc)
        print(json.dumps(out))
        """,
        cwd=tmp_path,
    )
    assert results == {
        "latest": [1, 2, 3],
        "first": [1, 2],
        "both": results["both"],
    }
    assert "only one of version_as_of or timestamp_as_of" in results["both"]
