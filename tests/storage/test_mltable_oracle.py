"""Studio's MLTable reader against Microsoft's reference reader (the ``mltable`` package).

Hypothesis writes small CSV / Parquet / JSON-lines files and an MLTable file with random
transformations and option forms, loads it with both readers and compares the frames: values,
dtypes, nulls and row order (rows read from a ``folder`` are compared as a set: the reference
lists folders in raw directory order). Both readers must also agree on whether a table loads.

Left out of the generated cases, each for a reason given where it applies:
- ``take_random_sample`` with a probability strictly between 0 and 1: the reference's random
  generator is its own (tested on its own below for the properties that must hold);
- ``datetime`` conversions with ``date_constant``: the reference returns only nulls when the
  formats are times of day, which is the documented use (a reference bug, see the reader);
- dates outside 1678-2261 and two-digit years (the reference overflows pandas' nanoseconds),
  parquet written with pandas' metadata and all-null parquet columns (the reference keeps or
  drops the file's own types depending on which steps follow), duplicate JSON keys (the
  reference panics), JSON numbers with 17 significant digits (its parser may be an ulp off);
- filters that read a value a conversion could not convert, and a second conversion of such a
  value: the reference keeps an error value that remembers its source (to_pandas_dataframe shows
  it as null, a filter fails on it, another conversion starts from the source), where Studio has
  a plain null; and examples where the reference crashes outright.

The number of examples per test is ``ORACLE_EXAMPLES`` (env var, default below); runs are
derandomized so a failure reproduces.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from backend.storage.mltable import MLTableError, load_mltable

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_mltable_oracle")

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "150"))
# ORACLE_RANDOM=1 explores new examples on each run; ORACLE_SHRINK=0 reports a failure unshrunk.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ORACLE_RANDOM") != "1",
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    phases=[Phase.explicit, Phase.generate] if os.environ.get("ORACLE_SHRINK") == "0" else tuple(Phase),
)


class Reference:
    """Microsoft's reader, called on a thread of its own.

    Its telemetry calls inspect.stack() several times per read, which costs time in proportion
    to the caller's stack depth; under pytest and hypothesis that is most of the test's time, on
    a fresh thread it is nothing.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mltable-oracle")

    def read(self, folder: Path) -> pd.DataFrame:
        return self.thread.submit(lambda: self.module.load(str(folder)).to_pandas_dataframe()).result()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    # The reference leaves a folder in the temporary directory for every table it reads (and its logs):
    # keep them in this run's own folder, which pytest cleans up, not in /tmp.
    import tempfile

    scratch = str(tmp_path_factory.mktemp("mltable-oracle-tmp"))
    saved = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = scratch, scratch
    try:
        yield from _reference()
    finally:
        if saved[0] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved[0]
        tempfile.tempdir = saved[1]


def _reference() -> Iterator[Reference]:
    try:
        import mltable
    except ImportError as exc:  # never skipped: the comparison is the point of this file
        pytest.fail(
            f"Microsoft's mltable package is needed as the oracle ({exc}); install the dev extra: "
            "pip install -e '.[dev]'",
            pytrace=False,
        )
    oracle = Reference(mltable)
    yield oracle
    oracle.thread.shutdown(wait=True)


# --------------------------------------------------------------------------------------------
# Running both readers and comparing


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    # The reference runs on the installed pandas; with pandas 3 its text columns get the `str`
    # dtype, where pandas 2 (which the conformance cases were made with) gives object + None.
    # Its "alternate reader" (for files whose columns differ) builds dates with pandas 3's default
    # microsecond unit, where pandas 2 gives nanoseconds.
    df = df.copy()
    for name in df.columns:
        if isinstance(df[name].dtype, pd.StringDtype):
            df[name] = df[name].astype(object).where(df[name].notna(), None)
        elif str(df[name].dtype) == "datetime64[us]":
            df[name] = df[name].astype("datetime64[ns]")
    return df


def _outcome(load: Callable[[], Any]) -> pd.DataFrame | Exception:
    try:
        return load()
    except (MLTableError, ValueError, RuntimeError, OSError) as exc:
        return exc
    except Exception as exc:  # the reference raises its own exception classes
        if type(exc).__module__.startswith(("azureml", "mltable")):
            return exc
        raise


def _compare(folder: Path, reference: Reference, *, unordered: bool = False) -> None:
    expected = _outcome(lambda: reference.read(folder))
    actual = _outcome(lambda: load_mltable(folder).to_pandas_dataframe())
    mltable_text = (folder / "MLTable").read_text()
    if isinstance(expected, Exception) and "UnexpectedFailure" in str(expected):
        # The reference crashed (a panic or a bug in its Python layer, such as converting the
        # Path column of include_path_column): there is no behaviour to compare with.
        reject()
    if (
        isinstance(expected, Exception)
        and "Microsoft.DPrep.ErrorValues" in str(expected)
        and "filter" in mltable_text
    ):
        # A value that does not convert to its column's type (from a conversion or from type
        # inference on a sample) is an error value in the reference: null in the frame, but a
        # filter that reads it fails. Studio reads it as null there too (see the module docstring).
        reject()
    if isinstance(expected, Exception) or isinstance(actual, Exception):
        assert isinstance(expected, Exception) and isinstance(actual, Exception), (
            f"one reader failed:\nMLTable:\n{mltable_text}\nreference: {_short(expected)}\nstudio: {_short(actual)}"
        )
        return
    expected = _normalise(expected)
    assert list(actual.columns) == list(expected.columns), (
        f"columns differ\n{mltable_text}\n{expected}\n{actual}"
    )
    assert dict(actual.dtypes.astype(str)) == dict(expected.dtypes.astype(str)), (
        f"dtypes differ\n{mltable_text}\nreference: {dict(expected.dtypes.astype(str))}\n"
        f"studio: {dict(actual.dtypes.astype(str))}\n{expected}\n{actual}"
    )
    assert actual.isna().sum().to_dict() == expected.isna().sum().to_dict(), (
        f"nulls differ\n{mltable_text}\n{expected}\n{actual}"
    )
    expected_text, actual_text = expected.to_csv(index=False), actual.to_csv(index=False)
    if unordered:
        expected_text = "\n".join(sorted(expected_text.split("\n")))
        actual_text = "\n".join(sorted(actual_text.split("\n")))
    assert actual_text == expected_text, (
        f"values differ\n{mltable_text}\nreference:\n{expected}\nstudio:\n{actual}"
    )


def _short(outcome: Any) -> str:
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {' '.join(str(outcome).split())[:400]}"
    return f"a frame:\n{outcome}"


def _write_mltable(folder: Path, paths: list[dict], transformations: list[Any]) -> None:
    (folder / "MLTable").write_text(yaml.safe_dump({"paths": paths, "transformations": transformations}))


# --------------------------------------------------------------------------------------------
# Cell values: raw text for CSV, typed values for parquet and JSON lines

WORDS = st.sampled_from(
    ["x", "apple", "Banana", "b c", "ä ö", "naïve", "", " pad ", "a,b", 'say "hi"', "yes", "NA"]
)
INTS = st.integers(-(10**6), 10**6)


def _int_text(value: int, style: int) -> str:
    return [str(value), f"+{value}" if value >= 0 else str(value), f" {value} ", f"{value:04d}"][style]


def _float_text(value: float, style: int) -> str:
    return [repr(value), f"{value:.3e}", f" {value} ", f"{value:g}"][style]


DATES = st.builds(
    lambda y, m, d, hh, mm, ss, style: _date_text(y, m, d, hh, mm, ss, style),
    st.integers(1990, 2030),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 9),
)


def _date_text(y: int, m: int, d: int, hh: int, mm: int, ss: int, style: int) -> str:
    return [
        f"{y:04d}-{m:02d}-{d:02d}",
        f"{y}-{m}-{d}",
        f"{y:04d}/{m:02d}/{d:02d}",
        f"{y:04d}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}",
        f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z",
        f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.125",
        f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}+02:00",
        f"{m:02d}/{d:02d}/{y}",  # month first; ambiguous when the day is <= 12
        f"{d:02d}/{m:02d}/{y}",  # day first
        f"{d:02d}-{['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1]}-{y}",
    ][style]


# Each family makes a column's cells as CSV text; None is an empty (unquoted) field.
FAMILIES: dict[str, st.SearchStrategy[str]] = {
    "int": st.builds(_int_text, INTS, st.integers(0, 3)),
    "small_int": st.builds(str, st.integers(-2, 3)),
    "float": st.builds(
        _float_text, st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), st.integers(0, 3)
    )
    | st.sampled_from(["nan", "NaN", "inf", "-Infinity", ".5", "1.", "1e3"]),
    "bool": st.sampled_from(
        ["true", "false", "True", "FALSE", "t", "F", "Y", "N", "1", "0", " true ", "01", "y"]
    ),
    "date": DATES,
    "text": WORDS,
}


@st.composite
def text_columns(draw: st.DrawFn, rows: int, min_columns: int = 1) -> dict[str, list[str | None]]:
    """Columns of CSV text: each from one family, with nulls and now and then a stray value."""
    count = draw(st.integers(min_columns, 4))
    names = draw(
        st.lists(
            st.sampled_from(["a", "b", "c d", " e ", "Path2", "f_1", "a"]), min_size=count, max_size=count
        )
    )
    columns = {}
    for position, name in enumerate(names):
        family = draw(st.sampled_from(sorted(FAMILIES)))
        cell = FAMILIES[family] | st.none() if draw(st.booleans()) else FAMILIES[family]
        if draw(st.integers(0, 5)) == 0:
            cell = cell | FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
        key = name if name not in columns else f"{name}\x00{position}"  # duplicate headers are kept
        columns[key] = [draw(cell) for _ in range(rows)]
    return columns


def _csv_field(value: str | None, delimiter: str, quote: bool) -> str:
    if value is None:
        return ""
    if (
        quote
        or value == ""
        or any(c in value for c in (delimiter, '"', "\n", "\r"))
        or value != value.strip()
    ):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_text(draw: st.DrawFn, columns: dict[str, list[str | None]], delimiter: str, header: bool) -> str:
    names = [name.split("\x00")[0] for name in columns]
    lines = []
    if header:
        lines.append(delimiter.join(_csv_field(name, delimiter, False) for name in names))
    rows = len(next(iter(columns.values())))
    quote_all = draw(st.booleans())
    for row in range(rows):
        lines.append(
            delimiter.join(_csv_field(values[row], delimiter, quote_all) for values in columns.values())
        )
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


# --------------------------------------------------------------------------------------------
# Transformations after the read step


@st.composite
def selector(draw: st.DrawFn, names: list[str]) -> Any:
    name = st.sampled_from([*names, "missing"])
    return draw(
        st.one_of(
            name,
            st.lists(name, max_size=3),
            st.builds(
                lambda pattern, invert, ignore: {"pattern": pattern, "invert": invert, "ignore_case": ignore},
                st.sampled_from(["a", "^b", "d$", "[ce]", "Column", "A"]),
                st.booleans(),
                st.booleans(),
            ),
        )
    )


COLUMN_TYPES = st.sampled_from(
    [
        "int",
        "float",
        "string",
        "boolean",
        "stream_info",
        {"boolean": {}},
        {
            "boolean": {
                "true_values": ["true", "1", "x"],
                "false_values": ["false", "0"],
                "mismatch_as": "false",
            }
        },
        {"boolean": {"true_values": ["Y", "apple"], "false_values": ["N"], "mismatch_as": "error"}},
        {"boolean": {"mismatch_as": "true"}},
        {"datetime": {"formats": "%Y-%m-%d"}},
        {"datetime": {"formats": ["%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]}},
    ]
)


def _literal(draw: st.DrawFn) -> str:
    return draw(
        st.sampled_from(
            ["0", "1", "2.5", "-3", "1000", '"x"', '"apple"', '""', "True", "False", "datetime(2010, 1, 1)"]
        )
    )


@st.composite
def filter_expression(draw: st.DrawFn, names: list[str]) -> str:
    def reference_to(name: str) -> str:
        return name if name.isidentifier() else f'col("{name}")'

    def atom() -> str:
        name = reference_to(draw(st.sampled_from(names)))
        op = draw(st.sampled_from(["==", "!=", ">", "<", ">=", "<="]))
        literal = _literal(draw)
        if op not in ("==", "!=") and (literal.startswith('"') or literal in ("True", "False")):
            op = "=="  # ordering across text and numbers is left out (see the module docstring)
        # No arithmetic: on text it fails in Studio at once, in the reference only if a row is
        # ever pulled through it (it is lazy), so the two part on "take: 0" after it.
        return f"{name} {op} {literal}"

    parts = [atom() for _ in range(draw(st.integers(1, 3)))]
    expression = parts[0]
    for part in parts[1:]:
        expression = f"{expression} {draw(st.sampled_from(['and', 'or']))} {part}"
    return f"not ({expression})" if draw(st.integers(0, 3)) == 0 else expression


def _selected(selector: Any, names: list[str]) -> set[str]:
    if isinstance(selector, str):
        return {selector}
    if isinstance(selector, list):
        return set(selector)
    return {name for name in names if bool(re.search(selector["pattern"], name)) != selector["invert"]}


@st.composite
def steps_after_read(draw: st.DrawFn, names: list[str], ordered: bool) -> list[Any]:
    steps: list[Any] = []
    # A value that a conversion could not convert is an error value in the reference: null in the
    # frame, but a filter that reads it fails. Studio has plain nulls there, so filters keep to
    # the columns no conversion touched.
    converted: set[str] = set()
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["take", "skip", "keep", "drop", "convert", "filter", "sample"]))
        if kind in ("take", "skip", "sample") and not ordered:
            continue  # which rows come first depends on the folder listing order
        if kind == "take":
            steps.append({"take": draw(st.integers(0, 5))})
        elif kind == "skip":
            steps.append({"skip": draw(st.integers(0, 5))})
        elif kind == "sample":
            # Only the probabilities whose result does not depend on the random generator.
            steps.append(
                {"take_random_sample": {"probability": draw(st.sampled_from([0.0, 1.0])), "seed": 7}}
            )
        elif kind == "keep":
            steps.append({"keep_columns": draw(selector(names))})
        elif kind == "drop":
            steps.append({"drop_columns": draw(selector(names))})
        elif kind == "convert":
            entries = []
            for _ in range(draw(st.integers(1, 2))):
                columns = draw(selector(names))
                # A value that fails to convert keeps its source in the reference, and a later
                # conversion of the same column starts from that source again: each column is
                # converted once here (module docstring).
                if _selected(columns, names) & converted:
                    continue
                entries.append({"columns": columns, "column_type": draw(COLUMN_TYPES)})
                converted |= _selected(columns, names)
            steps.append({"convert_column_types": entries})
        elif set(names) - converted - {"Path"}:
            # Not on Path: without include_path_column the reference still filters on the file's
            # stream there (and it orders after every value), Studio has no such column.
            steps.append({"filter": draw(filter_expression(sorted(set(names) - converted - {"Path"})))})
    return steps


# --------------------------------------------------------------------------------------------
# CSV

ENCODINGS = {
    "utf8": "utf-8", "utf-8": "utf-8", "iso88591": "latin-1", "iso-8859-1": "latin-1",
    "latin1": "latin-1", "latin-1": "latin-1", "ascii": "ascii", "utf16": "utf-16",
    "utf-16": "utf-16", "windows1252": "cp1252", "windows-1252": "cp1252",
}  # fmt: skip


def _encode(text: str, codec: str) -> bytes:
    return text.encode(codec, errors="replace")


@st.composite
def delimited_case(draw: st.DrawFn, tmp: Path) -> tuple[bool]:
    """Writes a delimited MLTable case into ``tmp``; returns whether rows may come back in any order."""
    rows = draw(st.integers(0, 5))
    files = draw(st.integers(1, 3))
    header = draw(
        st.sampled_from(
            ["all_files_same_headers", "no_header", "from_first_file", "all_files_different_headers"]
        )
    )
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    written_delimiter = delimiter + draw(st.sampled_from(["", "", "#"]))  # 2 characters: the first one splits
    encoding = draw(st.sampled_from(sorted(ENCODINGS)))
    layout = draw(st.sampled_from(["files", "pattern", "folder"]))
    same_columns = layout == "folder" or draw(st.booleans())
    first = draw(text_columns(rows))
    data = tmp / "data"
    data.mkdir()
    for number in range(files):
        columns = first if same_columns else draw(text_columns(rows))
        if same_columns and number:
            columns = {
                name: [draw(FAMILIES["int"]) for _ in range(rows)] if i % 2 else values
                for i, (name, values) in enumerate(columns.items())
            }
        text = draw(csv_text(columns, delimiter, header != "no_header" or draw(st.booleans())))
        (data / f"part{number}.csv").write_bytes(_encode(text, ENCODINGS[encoding]))
    if layout == "folder":
        paths = [{"folder": draw(st.sampled_from(["./data", "data", "data/", f"file://{data}"]))}]
    elif layout == "pattern":
        paths = [
            {
                "pattern": draw(
                    st.sampled_from(["./data/*.csv", "data/**/*.csv", "./data/part?.csv", f"{data}/*"])
                )
            }
        ]
    else:
        paths = [
            {
                "file": draw(
                    st.sampled_from(
                        [
                            f"./data/part{n}.csv",
                            f"data/part{n}.csv",
                            f"{data}/part{n}.csv",
                            f"file://{data}/part{n}.csv",
                        ]
                    )
                )
            }
            for n in draw(st.permutations(range(files)))
        ]
    if layout == "folder" and header in ("from_first_file", "all_files_different_headers"):
        header = "all_files_same_headers"  # which file is first depends on the listing order
    options: dict[str, Any] = {}
    for key, value in (
        ("delimiter", written_delimiter),
        ("header", header),
        ("encoding", encoding),
        ("empty_as_string", draw(st.booleans())),
        ("include_path_column", draw(st.booleans())),
        ("support_multi_line", draw(st.booleans())),
    ):
        if value != {"delimiter": ",", "header": "all_files_same_headers", "encoding": "utf8"}.get(
            key
        ) or draw(st.booleans()):
            options[key] = value
    infer = draw(st.sampled_from(["default", "true", "false", "sample", "overrides"]))
    names = [name.split("\x00")[0].strip() or "Column1" for name in first]
    if infer in ("true", "false"):
        options["infer_column_types"] = infer == "true"
    elif infer == "sample" and files == 1:
        # One file only: values that do not fit the type a sample settled are error values in the
        # reference, and a file whose column holds nothing else gets another type in its frame
        # (the files' frames then disagree and are concatenated by pandas); not modelled.
        options["infer_column_types"] = {"sample_size": draw(st.integers(1, 4))}
    elif infer == "overrides":
        options["infer_column_types"] = {
            "column_type_overrides": [
                {
                    "columns": draw(st.sampled_from(names)),
                    "column_type": draw(st.sampled_from(["int", "float", "string", "boolean"])),
                }
            ]
        }
    read = {"read_delimited": options} if options or draw(st.booleans()) else "read_delimited"
    names = [*names, "Column1", "Column2", "Path"]
    _write_mltable(tmp, paths, [read, *draw(steps_after_read(names, layout != "folder"))])
    return layout == "folder"


@SETTINGS
@given(data=st.data())
def test_delimited_files_read_as_the_reference_reads_them(
    reference: Any, tmp_path_factory: Any, data: Any
) -> None:
    tmp = tmp_path_factory.mktemp("csv")
    unordered = data.draw(delimited_case(tmp))
    _compare(tmp, reference, unordered=unordered)


# --------------------------------------------------------------------------------------------
# JSON lines

# Floats with two decimals: the reference's JSON parser can be one unit in the last place off on
# other numbers (it reads 1e-30 as 9.999999999999999e-31), which is no behaviour to copy.
JSON_VALUES = st.one_of(
    st.none(),
    st.integers(-1000, 1000),
    st.integers(-(10**6), 10**6).map(lambda value: value / 100),
    st.booleans(),
    WORDS,
    DATES,
)


@SETTINGS
@given(data=st.data())
def test_json_lines_read_as_the_reference_reads_them(
    reference: Any, tmp_path_factory: Any, data: Any
) -> None:
    tmp = tmp_path_factory.mktemp("jsonl")
    encoding = data.draw(
        st.sampled_from(["utf8", "utf-8", "iso88591", "latin1", "ascii", "utf16", "windows1252"])
    )
    keys = ["a", "b", "c d", "e"]
    files = data.draw(st.integers(1, 2))
    options = {"encoding": encoding}
    for key, value in (
        ("invalid_lines", data.draw(st.sampled_from(["error", "drop"]))),
        ("include_path_column", data.draw(st.booleans())),
    ):
        if data.draw(st.booleans()):
            options[key] = value
    steps = data.draw(steps_after_read(keys, ordered=True))
    # The reference pulls rows lazily through a filter: whether a bad line behind it fails the
    # read depends on how far later steps pull, which is not modelled.
    bad_lines = options.get("invalid_lines") == "drop" or not any("filter" in step for step in steps)
    for number in range(files):
        lines = []
        # (A UTF-16 file without records is a bad line too: its BOM, alone on the first line.)
        for _ in range(data.draw(st.integers(0 if bad_lines or encoding != "utf16" else 1, 5))):
            record = {
                key: data.draw(JSON_VALUES) for key in data.draw(st.lists(st.sampled_from(keys), unique=True))
            }
            lines.append(json.dumps(record, ensure_ascii=data.draw(st.booleans())))
            if bad_lines and data.draw(st.integers(0, 6)) == 0:
                lines.append(data.draw(st.sampled_from(["not json", "[1, 2]", "3", "{", "   "])))
        text = "\n".join(lines) + "\n"
        (tmp / f"e{number}.jsonl").write_bytes(_encode(text, ENCODINGS[encoding]))
    paths = [{"file": f"./e{number}.jsonl"} for number in range(files)]
    _write_mltable(tmp, paths, [{"read_json_lines": options}, *steps])
    _compare(tmp, reference)


# --------------------------------------------------------------------------------------------
# Parquet (written with pyarrow: no pandas metadata), with partitions in the folder names

PARQUET_TYPES = {
    "int64": (pa.int64(), INTS),
    "int32": (pa.int32(), st.integers(-1000, 1000)),
    "float64": (pa.float64(), st.floats(-1e6, 1e6, allow_nan=False)),
    "float32": (pa.float32(), st.floats(-1000, 1000, allow_nan=False, width=32)),
    "bool": (pa.bool_(), st.booleans()),
    "string": (pa.string(), WORDS),
    "timestamp": (
        pa.timestamp("ms"),
        st.datetimes(
            min_value=pd.Timestamp(1990, 1, 1).to_pydatetime(),
            max_value=pd.Timestamp(2030, 1, 1).to_pydatetime(),
        ),
    ),
}


@SETTINGS
@given(data=st.data())
def test_parquet_and_partitions_read_as_the_reference_reads_them(
    reference: Any, tmp_path_factory: Any, data: Any
) -> None:
    tmp = tmp_path_factory.mktemp("parquet")
    names = data.draw(st.lists(st.sampled_from(["a", "b", "c d", "e"]), min_size=1, max_size=4, unique=True))
    types = {name: data.draw(st.sampled_from(sorted(PARQUET_TYPES))) for name in names}
    parts = data.draw(
        st.lists(
            st.tuples(st.sampled_from(["2023", "2024"]), st.sampled_from(["01", "1", "x y"])),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    for year, kind in parts:
        rows = data.draw(st.integers(1, 4))
        columns = {}
        for name, type_name in types.items():
            arrow_type, values = PARQUET_TYPES[type_name]
            cells = [data.draw(values | st.none()) for _ in range(rows)]
            if all(cell is None for cell in cells):
                cells[0] = data.draw(values)  # all-null parquet columns are left out (module docstring)
            columns[name] = pa.array(cells, arrow_type)
        folder = tmp / "data" / f"year={year}" / f"kind={kind}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table(columns), folder / "part.parquet")
    include_path = data.draw(st.booleans())
    partition = data.draw(st.sampled_from(["none", "before", "after"]))
    read = (
        {"read_parquet": {"include_path_column": include_path}}
        if include_path or data.draw(st.booleans())
        else "read_parquet"
    )
    steps: list[Any] = [read]
    extract = {
        "extract_columns_from_partition_format": {
            "partition_format": data.draw(
                st.sampled_from(
                    [
                        "year={year}/kind={kind}/part.parquet",
                        "/kind={kind}/part.parquet",
                        "{y}={year}/kind={kind}/{name}.parquet",
                    ]
                )
            )
        }
    }
    if partition == "before":
        steps.insert(0, extract)
    elif partition == "after":
        steps.append(extract)
    # Extracted after the read without include_path_column, the partition columns are null in the
    # frame, but a filter in the reference still sees their values (from the hidden file stream).
    visible = [*names, "year", "kind", "Path"] if partition != "after" or include_path else [*names, "Path"]
    steps += data.draw(steps_after_read(visible, ordered=True))
    if data.draw(st.integers(0, 4)) == 0 and not any("filter" in step for step in steps[1:]):
        # A filter on partition columns prunes whole files in the reference (they are no longer
        # partitions), which is not modelled: select_partitions is tried without filters.
        steps.append({"select_partitions": [data.draw(st.integers(0, len(parts)))]})
    _write_mltable(
        tmp,
        [{"pattern": data.draw(st.sampled_from(["./data/**/*.parquet", "data/*/*/part.parquet"]))}],
        steps,
    )
    _compare(tmp, reference)


# --------------------------------------------------------------------------------------------
# take_random_sample: the rows differ from the reference's, so the properties are checked.


def test_random_samples_keep_order_and_repeat_with_their_seed(tmp_path: Path) -> None:
    rows = "\n".join(str(number) for number in range(200))
    (tmp_path / "d.csv").write_text(f"n\n{rows}\n")

    def sample(probability: float, seed: int) -> list[int]:
        _write_mltable(
            tmp_path,
            [{"file": "./d.csv"}],
            ["read_delimited", {"take_random_sample": {"probability": probability, "seed": seed}}],
        )
        frame = load_mltable(tmp_path).to_pandas_dataframe()
        return [] if frame.empty else frame["n"].tolist()

    kept = sample(0.3, 5)
    assert kept == sorted(kept) and 30 < len(kept) < 90
    assert sample(0.3, 5) == kept
    assert sample(0.3, 6) != kept
    assert sample(1.0, 5) == list(range(200))
    assert sample(0.0, 5) == []


# --------------------------------------------------------------------------------------------
# read_delta_lake: a small Delta table with two versions, every option


def _delta_table(folder: Path) -> None:
    fields = [
        {"name": n, "type": t, "nullable": True, "metadata": {}}
        for n, t in [("n", "long"), ("region", "string"), ("s", "string")]
    ]
    schema = json.dumps({"type": "struct", "fields": fields})

    def add(path: str, region: str, at: int) -> dict:
        return {
            "add": {
                "path": path,
                "partitionValues": {"region": region},
                "size": 1,
                "modificationTime": at,
                "dataChange": True,
            }
        }

    versions = [
        [
            {"commitInfo": {"timestamp": 1_600_000_000_000, "operation": "WRITE"}},
            {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
            {"metaData": {"id": "t", "format": {"provider": "parquet", "options": {}}, "schemaString": schema,
                          "partitionColumns": ["region"], "configuration": {}, "createdTime": 0}},
            add("region=b/p2.parquet", "b", 1_600_000_000_000),
            add("region=a/p1.parquet", "a", 1_600_000_000_000),
        ],
        [
            {"commitInfo": {"timestamp": 1_700_000_000_000, "operation": "WRITE"}},
            add("region=a%20x/p3.parquet", "a x", 1_700_000_000_000),
            {"remove": {"path": "region=b/p2.parquet", "deletionTimestamp": 1_700_000_000_000, "dataChange": True}},
        ],
    ]  # fmt: skip
    log = folder / "t" / "_delta_log"
    log.mkdir(parents=True)
    for number, actions in enumerate(versions):
        (log / f"{number:020d}.json").write_text("".join(json.dumps(action) + "\n" for action in actions))
    for path, table in [
        ("region=b/p2.parquet", {"n": [1, 2], "s": ["x", None]}),
        ("region=a/p1.parquet", {"n": [3], "s": ["y"]}),
        ("region=a x/p3.parquet", {"n": [4, None], "s": ["z", "w"]}),
    ]:
        (folder / "t" / path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), folder / "t" / path)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"version_as_of": 0},
        {"version_as_of": 7},
        {"timestamp_as_of": "2021-01-01T00:00:00Z"},
        {"timestamp_as_of": "2024-01-01T00:00:00+02:00"},
        {"version_as_of": 0, "timestamp_as_of": "2021-01-01T00:00:00Z"},
        {"include_path_column": True},
    ],
)
@pytest.mark.parametrize("after", [[], [{"take": 2}], [{"keep_columns": "n"}]])
def test_delta_tables_read_as_the_reference_reads_them(
    reference: Reference, tmp_path: Path, options: dict, after: list
) -> None:
    _delta_table(tmp_path)
    _write_mltable(tmp_path, [{"folder": "./t"}], [{"read_delta_lake": options}, *after])
    _compare(tmp_path, reference)
