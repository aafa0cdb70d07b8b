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


# --------------------------------------------------------------------------------------------
# Every form the format accepts (the JSON schema and the reference engine), checked against
# what Microsoft's reader returns for it (tests/storage/test_mltable_oracle.py compares the two
# readers on generated tables).


def _read(folder: Path, mltable: str, files: dict[str, str | bytes]) -> pd.DataFrame:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, newline="")
    (folder / "MLTable").write_text(mltable)
    return load_mltable(folder).to_pandas_dataframe()


def _csv(options: str, text: str | bytes = "a,b\n1,x\n2,y\n") -> str:
    return f"paths:\n  - file: ./d.csv\ntransformations:\n  - read_delimited: {options}\n", {"d.csv": text}


@pytest.mark.parametrize(
    "encoding",
    [
        "utf8",
        "utf-8",
        "iso88591",
        "iso-8859-1",
        "latin1",
        "latin-1",
        "ascii",
        "utf16",
        "utf-16",
        "windows1252",
        "windows-1252",
    ],
)
def test_read_delimited_accepts_every_encoding_spelling_of_the_reference(
    tmp_path: Path, encoding: str
) -> None:
    codec = {"utf16": "utf-16", "utf-16": "utf-16"}.get(
        encoding, "latin-1" if "8859" in encoding or "latin" in encoding else "utf-8"
    )
    df = _read(tmp_path, *_csv(f"{{encoding: {encoding}}}", "a,b\n1,x\n".encode(codec)))
    assert df.to_dict("list") == {"a": [True], "b": ["x"]}


@pytest.mark.parametrize(
    ("reader", "encoding"),
    [
        ("read_delimited", "utf8bom"),
        ("read_delimited", "utf-8 bom"),
        ("read_json_lines", "iso-8859-1"),
        ("read_json_lines", "utf8bom"),
    ],
)
def test_encodings_the_reference_refuses_are_refused_with_the_allowed_ones(
    tmp_path: Path, reader: str, encoding: str
) -> None:
    (tmp_path / "MLTable").write_text(
        f"paths: [{{file: ./d}}]\ntransformations:\n  - {reader}: {{encoding: '{encoding}'}}\n"
    )
    with pytest.raises(
        MLTableError, match=f"transformation '{reader}': option 'encoding' must be one of utf8, utf-8"
    ) as raised:
        load_mltable(tmp_path)
    assert raised.value.stage == "load" and encoding in str(raised.value)


def test_a_two_character_delimiter_splits_on_its_first_character(tmp_path: Path) -> None:
    df = _read(tmp_path, *_csv("{delimiter: ', '}", "a, b\n1, x\n"))
    assert df.to_dict("list") == {"a": [True], "b": [" x"]}


def test_headers_are_trimmed_and_repeats_numbered_with_one_count(tmp_path: Path) -> None:
    df = _read(tmp_path, *_csv("{}", " a ,b,a,b,,a_1\n1,2,3,4,5,6\n"))
    assert list(df.columns) == ["a", "b", "a_1", "b_2", "Column5", "a_1_3"]


def test_short_rows_get_nulls_and_long_rows_add_columns(tmp_path: Path) -> None:
    df = _read(tmp_path, *_csv("{}", "a,b\n1\n2,3,4\n5,6\n"))
    assert df.to_csv(index=False) == "a,b,Column3\n1,,\n2,3.0,4.0\n5,6.0,\n"


def test_numbers_and_booleans_are_inferred_through_surrounding_spaces_but_dates_are_not(
    tmp_path: Path,
) -> None:
    df = _read(tmp_path, *_csv("{}", "i,f,b,d\n 1 ,2.5 , true,2024-01-02 \n2, inf,F,2024-01-03\n"))
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        "i": "int64",
        "f": "float64",
        "b": "bool",
        "d": "object",
    }


def test_quoted_fields_follow_the_reference(tmp_path: Path) -> None:
    # Text after a closing quote is kept; a quote in the middle, or one never closed, is text.
    df = _read(tmp_path, *_csv("{infer_column_types: false}", 'a,b\n"q"r"s",ab"c\n"open,x\n'))
    assert df.to_dict("list") == {"a": ['qr"s"', '"open'], "b": ['ab"c', "x"]}


def test_infer_column_types_takes_a_sample_size_and_type_overrides(tmp_path: Path) -> None:
    mltable = (
        "paths: [{file: ./d.csv}]\ntransformations:\n  - read_delimited:\n      infer_column_types:\n"
        "        sample_size: 2\n        column_type_overrides:\n          - {columns: b, column_type: string}\n"
    )
    df = _read(tmp_path, mltable, {"d.csv": "a,b\n1,1\n2,2\n2.7,x\n"})
    # a is an int from the first two rows: 2.7 converts as the reference converts (truncated).
    assert df.to_dict("list") == {"a": [1, 2, 2], "b": ["1", "2", "x"]}


@pytest.mark.parametrize(
    ("selector", "kept"),
    [
        ("b", ["b"]),
        ("[c, missing, a]", ["a", "c"]),
        ("{pattern: '^b|c$'}", ["b", "bc", "c"]),
        ("{pattern: 'b', invert: true}", ["a", "c"]),
        (
            "{pattern: 'B', ignore_case: true}",
            [],
        ),  # ignore_case is accepted and, as in the reference, ignored
    ],
)
def test_keep_columns_takes_every_column_selector_form(
    tmp_path: Path, selector: str, kept: list[str]
) -> None:
    mltable = (
        f"paths: [{{file: ./d.csv}}]\ntransformations:\n  - read_delimited\n  - keep_columns: {selector}\n"
    )
    (tmp_path / "d.csv").write_text("a,b,bc,c\n1,2,3,4\n")
    (tmp_path / "MLTable").write_text(mltable)
    table = load_mltable(tmp_path)
    if kept:
        assert list(table.to_pandas_dataframe().columns) == kept
    else:
        with pytest.raises(MLTableError, match="have no columns"):
            table.to_pandas_dataframe()


def test_drop_columns_ignores_names_the_table_does_not_have(tmp_path: Path) -> None:
    mltable = "paths: [{file: ./d.csv}]\ntransformations:\n  - read_delimited\n  - drop_columns: [zz, a]\n"
    assert list(_read(tmp_path, mltable, {"d.csv": "a,b\n1,2\n"}).columns) == ["b"]


def test_convert_column_types_converts_as_the_reference(tmp_path: Path) -> None:
    mltable = (
        "paths: [{file: ./d.csv}]\ntransformations:\n  - read_delimited: {infer_column_types: false}\n"
        "  - convert_column_types:\n"
        "      - {columns: i, column_type: int}\n"
        "      - {columns: [b], column_type: boolean}\n"
        "      - {columns: {pattern: '^t$'}, column_type: {datetime: {formats: ['%H:%M:%S'], date_constant: '2020-05-06'}}}\n"
        "      - {columns: s, column_type: stream_info}\n"
    )
    df = _read(tmp_path, mltable, {"d.csv": "i,b,t,s\n2.7,T,03:04:05,x\n-2.7, no ,1:2:3,y\n1e3,N,,z\n"})
    assert df["i"].tolist() == [2, -2, 1000]  # through a float, truncated
    assert df["b"].tolist() == [True, None, False]  # the inference words, trimmed
    assert [str(v) for v in df["t"]] == ["2020-05-06 03:04:05", "2020-05-06 01:02:03", "NaT"]
    assert df["s"].tolist() == [None, None, None]  # local streams come back as None


def test_a_result_without_rows_has_no_columns_either(tmp_path: Path) -> None:
    mltable = "paths: [{file: ./d.csv}]\ntransformations:\n  - read_delimited\n  - take: 0\n"
    df = _read(tmp_path, mltable, {"d.csv": "a,b\n1,2\n"})
    assert df.shape == (0, 0)


def test_json_lines_columns_are_those_of_the_rows_left_typed_by_them(tmp_path: Path) -> None:
    mltable = "paths: [{file: ./e.jsonl}]\ntransformations:\n  - read_json_lines\n  - skip: 1\n"
    df = _read(
        tmp_path, mltable, {"e.jsonl": '{"a": "x", "b": 1}\n{"c": true, "a": 2.5}\n{"a": 3, "c": false}\n'}
    )
    assert {c: str(t) for c, t in df.dtypes.items()} == {"c": "bool", "a": "float64"}
    assert df["a"].isna().tolist() == [False, True]  # 3 is no float: null, as in the reference


def test_an_invalid_json_line_fails_only_if_it_reaches_the_result(tmp_path: Path) -> None:
    files = {"e.jsonl": 'not json\n{"a": 1}\n'}
    df = _read(
        tmp_path, "paths: [{file: ./e.jsonl}]\ntransformations:\n  - read_json_lines\n  - skip: 1\n", files
    )
    assert df.to_dict("list") == {"a": [1]}
    (tmp_path / "MLTable").write_text("paths: [{file: ./e.jsonl}]\ntransformations: [read_json_lines]\n")
    with pytest.raises(MLTableError, match=r"line 1 of .* is not a JSON object") as raised:
        load_mltable(tmp_path).to_pandas_dataframe()
    assert raised.value.stage == "read"


def test_select_partitions_picks_files_by_number(tmp_path: Path) -> None:
    mltable = (
        "paths: [{pattern: ./*.csv}]\ntransformations:\n  - read_delimited\n  - select_partitions: [2, 0]\n"
    )
    df = _read(tmp_path, mltable, {"a.csv": "n\n1\n2\n", "b.csv": "n\n3\n", "c.csv": "n\n4\n5\n"})
    assert df["n"].tolist() == [1, 2, 4, 5]


def test_sample_keeps_the_rows_whose_draw_falls_between_its_bounds(tmp_path: Path) -> None:
    rows = "n\n" + "\n".join(map(str, range(100))) + "\n"
    base = "paths: [{file: ./d.csv}]\ntransformations:\n  - read_delimited\n"
    wide = _read(tmp_path, base + "  - take_random_sample: {probability: 0.5, seed: 4}\n", {"d.csv": rows})
    narrow = _read(
        tmp_path,
        base
        + "  - sample: {sampler: random_percent, sampler_arguments: {probability: 0.5, probability_lower_bound: 0.25, seed: 4}}\n",
        {"d.csv": rows},
    )
    assert set(narrow["n"]) < set(wide["n"])


@pytest.mark.parametrize(
    ("pattern", "found"),
    [
        ("./data/*.csv", [".hidden.csv", "x.csv"]),
        ("./data/**/*.csv", [".hidden.csv", "b/y.csv", "x.csv"]),
        ("./data/**", []),
        ("./data/x**", None),
    ],
)
def test_patterns_match_hidden_files_and_take_double_stars_only_as_whole_segments(
    tmp_path: Path, pattern: str, found: list[str] | None
) -> None:
    for name in ("data/x.csv", "data/.hidden.csv", "data/b/y.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("n\n1\n")
    (tmp_path / "MLTable").write_text(
        f"paths: [{{pattern: '{pattern}'}}]\ntransformations:\n  - read_delimited: {{include_path_column: true}}\n"
    )
    table = load_mltable(tmp_path)
    if found is None:
        with pytest.raises(MLTableError, match="whole path segment"):
            table.to_pandas_dataframe()
    elif not found:
        with pytest.raises(MLTableError, match="matched no files") as raised:
            table.to_pandas_dataframe()
        assert raised.value.category == "not_found"
    else:
        paths = table.to_pandas_dataframe()["Path"].tolist()
        assert [os.path.relpath(path, tmp_path / "data") for path in paths] == found


def test_the_top_level_accepts_type_metadata_and_traits_and_refuses_query_source(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("n\n1\n")
    head = "paths: [{file: ./d.csv}]\ntransformations: [read_delimited]\n"
    (tmp_path / "MLTable").write_text(
        head + "type: mltable\nmetadata: {owner: me}\ntraits: {index_columns: [n], timestamp_column: n}\n"
    )
    assert load_mltable(tmp_path).to_pandas_dataframe()["n"].tolist() == [True]
    (tmp_path / "MLTable").write_text(head + "query_source: {handler: x, handler_arguments: {}, query: q}\n")
    with pytest.raises(MLTableError, match=r"'query_source'.*not supported"):
        load_mltable(tmp_path)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("- read_delimited:", "options must be a mapping"),
        ("- read_delimited\n  - take", "needs a value"),
        ("- read_delimited\n  - take: -1", "whole number of rows >= 0"),
        (
            "- read_delimited\n  - take_random_sample: {probability: 1, seed: 1}",
            "decimal number between 0.0 and 1.0",
        ),
        ("- read_delimited\n  - filter: 's == \"\"'", "empty string"),
        ("- read_delimited\n  - filter: 'not(a > 1)'", r"space between 'not' and '\('"),
        ("- read_delimited\n  - filter: 's.endswith(\"x\")'", r"allowed: col\(\"name\"\)"),
        ("- read_delimited\n  - convert_column_types: {columns: a, column_type: int}", "expects a list"),
        (
            "- read_delimited\n  - convert_column_types: [{columns: a, column_type: datetime}]",
            "'datetime' is not supported",
        ),
        (
            "- read_delimited\n  - convert_column_types: [{columns: a, column_type: {boolean: {true_values: [y]}}}]",
            "give both or neither",
        ),
        (
            "- read_delimited\n  - convert_column_types: [{columns: a, column_type: {boolean: {mismatch_as: false}}}]",
            "mismatch_as",
        ),
        (
            "- extract_columns_from_partition_format: 'k={k}/'\n  - read_delimited",
            "options must be a mapping",
        ),
    ],
)
def test_forms_the_schema_refuses_are_refused_at_load_with_one_clear_line(
    tmp_path: Path, step: str, message: str
) -> None:
    (tmp_path / "MLTable").write_text(f"paths: [{{file: ./d.csv}}]\ntransformations:\n  {step}\n")
    with pytest.raises(MLTableError, match=message) as raised:
        load_mltable(tmp_path)
    assert raised.value.stage == "load" and "\n" not in str(raised.value)
    assert str(tmp_path / "MLTable") in str(raised.value)


def test_non_local_paths_go_through_the_resolver_when_one_is_given(tmp_path: Path) -> None:
    (tmp_path / "mounted").mkdir()
    (tmp_path / "mounted" / "d.csv").write_text("n\n5\n")
    (tmp_path / "MLTable").write_text(
        "paths: [{file: 'azureml://datastores/ds/paths/raw/d.csv'}]\ntransformations: [read_delimited]\n"
    )
    with pytest.raises(MLTableError, match="is not a local path"):
        load_mltable(tmp_path).to_pandas_dataframe()

    def resolve(uri: str) -> str:
        prefix = "azureml://datastores/ds/paths/raw/"
        if not uri.startswith(prefix):
            raise LookupError(f"{uri} is not mounted")
        return str(tmp_path / "mounted" / uri[len(prefix) :])

    assert load_mltable(tmp_path, resolve=resolve).to_pandas_dataframe()["n"].tolist() == [5]
    (tmp_path / "MLTable").write_text(
        "paths: [{file: 'azureml://datastores/other/paths/d.csv'}]\ntransformations: [read_delimited]\n"
    )
    with pytest.raises(MLTableError, match="is not mounted") as raised:
        load_mltable(tmp_path, resolve=resolve).to_pandas_dataframe()
    assert str(tmp_path / "MLTable") in str(raised.value)
