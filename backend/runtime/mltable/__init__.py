"""``import mltable`` inside Studio jobs: the API of Microsoft's ``mltable`` package on Studio's reader.

Cloud training scripts read MLTable inputs with::

    import mltable
    tbl = mltable.load(path)          # a folder with an MLTable file, the file, or azureml://...
    df = tbl.to_pandas_dataframe()

This package offers the same names and signatures (``load``, ``from_delimited_files``,
``from_parquet_files``, ``from_json_lines_files``, ``from_paths``, ``DataType``,
``from_delta_lake``, ``MLTableHeaders``, ``MLTableFileEncoding`` and the table's ``take``, ``skip``, ``show``,
``keep_columns``, ``drop_columns``, ``filter``, ``convert_column_types``,
``take_random_sample``, ``extract_columns_from_partition_format``, ``select_partitions``,
``paths``), backed by Studio's reader, the package ``backend/storage/mltable``. Each method returns
a new table with its step added and checked by the reader's own validation, so bad input fails in
the method that got it.

A job sees its data inputs as local paths. ``azureml://`` URIs (and any other URI) resolve only
when they are, or lie under, one of the job's inputs: ``STUDIO_JOB_INPUTS`` holds the JSON object
``{"<input uri>": "<local path in the job>", ...}``. The same resolution applies to URIs in the
``paths`` of an MLTable file.

The job interpreter has no ``backend`` package: the reader's package is loaded from its folder,
once, as ``mltable._reader`` (its modules as ``mltable._reader._core`` and so on).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import sys
from collections.abc import Iterable, Mapping
from enum import Enum, auto
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

__all__ = [
    "DataType",
    "MLTable",
    "MLTableError",
    "MLTableFileEncoding",
    "MLTableHeaders",
    "UserErrorException",
    "from_delimited_files",
    "from_delta_lake",
    "from_json_lines_files",
    "from_parquet_files",
    "from_paths",
    "load",
]

JOB_INPUTS_VARIABLE = "STUDIO_JOB_INPUTS"


def _load_reader() -> ModuleType:
    name = f"{__name__}._reader"
    module = sys.modules.get(name)
    if module is not None:
        return module
    package = Path(__file__).resolve().parents[2] / "storage" / "mltable"
    # A package, not a plain module: its relative imports find its modules in its folder.
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"Studio's MLTable reader is missing at {package}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its relative imports and its dataclasses look it up there.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for loaded in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
            del sys.modules[loaded]
        raise
    return module


_reader = _load_reader()

MLTableError = _reader.MLTableError
# What scripts written for the cloud catch (azureml.dataprep.UserErrorException).
UserErrorException = MLTableError


def _error(message: str, category: str = "schema") -> MLTableError:
    return MLTableError(message, stage="load", category=category)


# --------------------------------------------------------------------------------------------
# URIs: a job's inputs are its only non-local data

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# azureml://subscriptions/<s>/resourcegroups/<g>/[providers/Microsoft.MachineLearningServices/]
# workspaces/<w>/<rest> names the same data as azureml://<rest>.
_LONG_FORM = re.compile(
    r"^azureml://subscriptions/[^/]+/resourcegroups/[^/]+/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/[^/]+/",
    re.IGNORECASE,
)


def _canonical(uri: str) -> str:
    return _LONG_FORM.sub("azureml://", uri).rstrip("/")


def _job_inputs() -> dict[str, str]:
    raw = os.environ.get(JOB_INPUTS_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        inputs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _error(f"{JOB_INPUTS_VARIABLE} is not valid JSON ({exc.msg})", "not_found") from exc
    if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
        raise _error(f"{JOB_INPUTS_VARIABLE} must be a JSON object of input URI -> local path", "not_found")
    return {_canonical(str(uri)): path for uri, path in inputs.items()}


def _is_remote(uri: str) -> bool:
    return (bool(_SCHEME.match(uri)) and not uri.startswith("file://")) or uri.startswith("azureml:")


def _resolve(uri: str) -> str:
    """The local path of ``uri`` in this job: the input it is, or lies under."""
    target = _canonical(uri)
    inputs = _job_inputs()
    for base in sorted(inputs, key=len, reverse=True):
        if target == base:
            return inputs[base]
        if target.startswith(base + "/"):
            return os.path.join(inputs[base], target[len(base) + 1 :])
    known = ", ".join(sorted(inputs)) or "none"
    raise _error(
        f"{uri} is not an input of this job, so the job cannot read it: pass it to the job as an input "
        f"(inputs: {{my_table: {{type: mltable, path: {uri}}}}}) and load the path the job is given "
        f"(${{{{inputs.my_table}}}}). This job's inputs: {known}",
        "not_found",
    )


def _local(uri: str | os.PathLike[str]) -> str:
    uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri:
        raise _error(f"expected a path or URI, got {uri!r}", "not_found")
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return _resolve(uri) if _is_remote(uri) else uri


# --------------------------------------------------------------------------------------------
# Enums and column types, as in Microsoft's package


class MLTableHeaders(Enum):
    """How column headers are read from delimited files."""

    no_header = auto()
    from_first_file = auto()
    all_files_different_headers = auto()
    all_files_same_headers = auto()


class MLTableFileEncoding(Enum):
    """File encodings of delimited and JSON-lines files."""

    utf8 = auto()
    iso88591 = auto()
    latin1 = auto()
    ascii = auto()
    utf16 = auto()
    utf8bom = auto()
    windows1252 = auto()


_ENCODING_SPELLINGS = {
    "utf8": "utf8", "utf-8": "utf8", "utf-8 bom": "utf8", "iso88591": "iso88591",
    "iso-8859-1": "iso88591", "latin1": "latin1", "latin-1": "latin1", "ascii": "ascii",
    "utf16": "utf16", "utf-16": "utf16", "windows1252": "windows1252", "windows-1252": "windows1252",
}  # fmt: skip


def _header(value: Any) -> MLTableHeaders:
    """The header mode ``value`` is, or names in any case."""
    name = value.lower() if isinstance(value, str) else None
    supported = "'no_header', 'from_first_file', 'all_files_different_headers', and 'all_files_same_headers'."
    return _member(MLTableHeaders, value, name, "header", supported)


def _encoding(value: Any) -> MLTableFileEncoding:
    """The encoding ``value`` is, or names in one of its spellings."""
    name = _ENCODING_SPELLINGS.get(value) if isinstance(value, str) else None
    supported = (
        'utf8 ("utf8", "utf-8", "utf-8 bom"), iso88591 ("iso88591", "iso-8859-1"), latin1 ("latin1", '
        '"latin-1"), ascii, utf16 ("utf16", "utf-16"), windows1252 ("windows1252", "windows-1252")'
    )
    return _member(MLTableFileEncoding, value, name, "encoding", supported)


def _member(kind: type[Enum], value: Any, name: str | None, what: str, supported: str) -> Any:
    if isinstance(value, kind):
        return value
    if name not in kind.__members__:
        raise _error(f"Given invalid {what} {value!r}, supported {what}s are: {supported}")
    return kind[name]


def _plain_type(column_type: str) -> staticmethod:
    """A ``DataType.to_...()`` for a column type that takes no settings."""

    def make() -> DataType:
        return DataType(column_type)

    return staticmethod(make)


class DataType:
    """A column type for ``convert_column_types`` and type overrides: ``DataType.to_int()`` etc."""

    _MISMATCH_AS_TYPES = ("error", "true", "false")

    def __init__(self, arguments: Any = None) -> None:
        self._arguments = arguments  # the column_type value in the MLTable file

    def __repr__(self) -> str:
        return f"DataType({self._arguments!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataType) and other._arguments == self._arguments

    def __hash__(self) -> int:
        return hash(json.dumps(self._arguments, sort_keys=True))

    @staticmethod
    def _from_raw(value: Any) -> DataType:
        if isinstance(value, DataType):
            return value
        simple = ("string", "int", "float", "boolean", "stream_info")
        if value in simple:
            return DataType(value)
        raise _error(
            f"'{value}' is not a supported string conversion for `mltable.DataType`, "
            "supported types are 'string', 'int', 'float', 'boolean', & 'stream_info'"
        )

    # The types without settings: DataType.to_string() and so on.
    to_string = _plain_type("string")
    to_int = _plain_type("int")
    to_float = _plain_type("float")
    to_stream = _plain_type("stream_info")

    @staticmethod
    def to_bool(
        true_values: list[str] | None = None,
        false_values: list[str] | None = None,
        mismatch_as: str | None = None,
    ) -> DataType:
        if mismatch_as is not None and mismatch_as not in DataType._MISMATCH_AS_TYPES:
            raise _error(f"`mismatch_as` can only be {DataType._MISMATCH_AS_TYPES}")
        true_values = _strings_or_none(true_values, "true_values")
        false_values = _strings_or_none(false_values, "false_values")
        if (true_values is None) != (false_values is None):
            raise _error("`true_values` and `false_values` must both be None or non-empty list of strings")
        if true_values and false_values and set(true_values) & set(false_values):
            raise _error("`true_values` and `false_values` can not have overlapping values")
        settings: dict[str, Any] = {}
        if true_values and false_values:
            settings = {"true_values": true_values, "false_values": false_values, "mismatch_as": "error"}
        if mismatch_as:
            settings["mismatch_as"] = mismatch_as
        return DataType({"boolean": settings} if settings else "boolean")

    @staticmethod
    def to_datetime(formats: str | list[str], date_constant: str | None = None) -> DataType:
        if isinstance(formats, str):
            formats = [formats]
        elif not (isinstance(formats, list | tuple) and all(isinstance(f, str) for f in formats)):
            raise _error("Expect `formats` to be a single string, a list of strings, or a tuple of strings")
        settings: dict[str, Any] = {"formats": list(formats)}
        if date_constant is not None:
            settings["date_constant"] = date_constant
        return DataType({"datetime": settings})


def _strings_or_none(values: Any, name: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return [values]
    if not isinstance(values, list | tuple | set) or not all(isinstance(v, str) for v in values):
        raise _error(f"`{name}` must only consists of strings")
    return list(values) or None


def _column_types(mapping: Any, *, allow_stream: bool = True) -> list[dict[str, Any]]:
    """{column or (columns...): type} -> the MLTable file's [{columns, column_type}, ...]."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise _error("Expected a non-empty dict[Union[str, tuple[str]], Union[str, mltable.DataType]]")
    seen: set[str] = set()
    entries = []
    for columns, column_type in mapping.items():
        group = (columns,) if isinstance(columns, str) else columns
        if not (isinstance(group, tuple) and group and all(isinstance(c, str) for c in group)):
            raise _error("Expect column names to be single strings or non-empty tuples of strings.")
        for column in group:
            if column in seen:
                raise _error(
                    f"Found duplicate column. Cannot convert column '{column}' to multiple `mltable.DataType`s."
                )
            seen.add(column)
        data_type = DataType._from_raw(column_type)
        if not allow_stream and data_type._arguments == "stream_info":
            raise _error(
                "Type overrides to stream are not supported, try mltable.MLTable.convert_column_types instead"
            )
        entries.append(
            {
                "columns": columns if isinstance(columns, str) else list(columns),
                "column_type": data_type._arguments,
            }
        )
    return entries


# --------------------------------------------------------------------------------------------
# The table


class MLTable:
    """A lazily read table: each method adds a step; ``to_pandas_dataframe`` reads the data."""

    def __init__(self) -> None:
        self._table: Any = None  # the reader's MLTable
        self._paths: list[dict[str, str]] = []  # as the caller gave them

    @classmethod
    def _create(cls, table: Any, paths: Iterable[dict[str, str]]) -> MLTable:
        created = cls()
        created._table = table
        created._paths = [dict(entry) for entry in paths]
        return created

    def _loaded(self) -> Any:
        if self._table is None:
            raise _error(
                "MLTable does not appear to be loaded correctly. Please use MLTable.load() to load a MLTable "
                "YAML file into memory."
            )
        return self._table

    def _add_transformation_step(self, step: str, args: Any, index: int | None = None) -> MLTable:
        return MLTable._create(self._loaded().with_step(step, args, index), self._paths)

    @property
    def paths(self) -> list[dict[str, str]]:
        """The data paths as given (relative ones are relative to the MLTable file's folder)."""
        self._loaded()
        return [dict(entry) for entry in self._paths]

    def to_pandas_dataframe(self) -> Any:
        """Read every record the MLTable describes into a pandas DataFrame."""
        return self._loaded().to_pandas_dataframe()

    def take(self, count: int = 20) -> MLTable:
        if not (isinstance(count, int) and not isinstance(count, bool) and count > 0):
            raise _error(f"take(count): the number of rows must be a positive integer, got {count!r}")
        return self._add_transformation_step("take", count)

    def skip(self, count: int) -> MLTable:
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _error(f"skip(count): the number of rows must be a positive integer, got {count!r}")
        return self._add_transformation_step("skip", count)

    def show(self, count: int = 20) -> Any:
        """The first ``count`` rows as a pandas DataFrame."""
        return self.take(count).to_pandas_dataframe()

    def take_random_sample(self, probability: float, seed: int | None = None) -> MLTable:
        if not (isinstance(probability, float) and 0 < probability < 1):
            raise _error(
                f"take_random_sample(probability): must be a float greater than 0 and less than 1, got {probability!r}"
            )
        if seed is None:
            seed = random.randint(1, 1000)
        elif not isinstance(seed, int) or isinstance(seed, bool):
            raise _error(f"take_random_sample(seed): a random seed must be an integer, got {seed!r}")
        return self._add_transformation_step("take_random_sample", {"probability": probability, "seed": seed})

    def _columns(self, columns: Any) -> str | list[str]:
        if isinstance(columns, str):
            return columns
        if not (isinstance(columns, list | tuple | set) and all(isinstance(c, str) for c in columns)):
            raise _error(
                "columns: expected a column name or a list, tuple or set of column names, got "
                + repr(columns)
            )
        duplicates = {c for c in columns if list(columns).count(c) > 1}
        if duplicates:
            raise _error(f"columns: {sorted(duplicates)} given more than once")
        return list(columns)

    def drop_columns(self, columns: str | list[str] | tuple[str, ...] | set[str]) -> MLTable:
        return self._add_transformation_step("drop_columns", self._columns(columns))

    def keep_columns(self, columns: str | list[str] | tuple[str, ...] | set[str]) -> MLTable:
        return self._add_transformation_step("keep_columns", self._columns(columns))

    def filter(self, expression: str) -> MLTable:
        """Keep the rows that match ``expression``, e.g. ``'age > 30 and col("home city") == "Oslo"'``."""
        return self._add_transformation_step("filter", expression)

    def convert_column_types(self, column_types: Mapping[str | tuple[str, ...], str | DataType]) -> MLTable:
        return self._add_transformation_step("convert_column_types", _column_types(column_types))

    def extract_columns_from_partition_format(self, partition_format: str) -> MLTable:
        return self._add_transformation_step(
            "extract_columns_from_partition_format", {"partition_format": partition_format}, 0
        )

    def select_partitions(self, partition_index_list: int | list[int]) -> MLTable:
        if isinstance(partition_index_list, int) and not isinstance(partition_index_list, bool):
            partition_index_list = [partition_index_list]
        return self._add_transformation_step("select_partitions", partition_index_list)

    def __repr__(self) -> str:
        return yaml.safe_dump(self._loaded().to_dict(), sort_keys=False)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MLTable) or self._table is None or other._table is None:
            return False
        return self._table.to_dict() == other._table.to_dict() and self.paths == other.paths

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# Making tables


def load(uri: str | os.PathLike[str], storage_options: dict | None = None, ml_client: Any = None) -> MLTable:
    """Load the MLTable at ``uri``: a folder holding an ``MLTable`` file, the file itself, or a URI
    that is (or lies under) one of the job's inputs. ``storage_options`` and ``ml_client`` are
    accepted for compatibility and not needed: a job reads its inputs locally."""
    table = _reader.load_mltable(_local(uri), resolve=_resolve)
    return MLTable._create(table, table.paths)


def _from_document(paths: Any, transformations: list[Any]) -> MLTable:
    if not isinstance(paths, list) or not all(isinstance(entry, dict) for entry in paths):
        raise _error("paths must be a list of dicts such as [{'file': './data.csv'}]")
    # Relative local paths are relative to the working directory now, as in Microsoft's package.
    absolute = [
        {kind: value if _is_remote(value) or value.startswith("file://") else os.path.abspath(value)}
        for entry in paths
        for kind, value in entry.items()
        if isinstance(value, str)
    ]
    if len(absolute) != len(paths):
        raise _error("each paths entry needs one key (file, folder or pattern) with a path string")
    document: dict[str, Any] = {"paths": absolute}
    if transformations:
        document["transformations"] = transformations
    table = _reader.mltable_from_dict(
        document, Path.cwd() / "MLTable", resolve=_resolve, label="MLTable built in code"
    )
    return MLTable._create(table, paths)


def from_paths(paths: list[dict[str, str]]) -> MLTable:
    """A table of the files at ``paths`` (``[{'file': ...}, {'folder': ...}, {'pattern': ...}]``)."""
    return _from_document(paths, [])


def from_delimited_files(
    paths: list[dict[str, str]],
    header: str | MLTableHeaders = "all_files_same_headers",
    delimiter: str = ",",
    support_multi_line: bool = False,
    empty_as_string: bool = False,
    encoding: str | MLTableFileEncoding = "utf8",
    include_path_column: bool = False,
    infer_column_types: bool | dict[str, Any] = True,
) -> MLTable:
    """A table read from delimited files, like ``read_delimited`` in an MLTable file."""
    if not isinstance(infer_column_types, bool | dict):
        raise _error("`infer_column_types` must be a bool or a dictionary.")
    if isinstance(infer_column_types, dict):
        infer_column_types = _infer_settings(infer_column_types)
    options = {
        "delimiter": delimiter,
        "header": _header(header).name,
        "support_multi_line": support_multi_line,
        "empty_as_string": empty_as_string,
        "encoding": _encoding(encoding).name,
        "include_path_column": include_path_column,
        "infer_column_types": infer_column_types,
    }
    return _from_document(paths, [{"read_delimited": options}])


def _infer_settings(settings: dict[str, Any]) -> bool | dict[str, Any]:
    if not settings:
        return True
    unknown = set(settings) - {"sample_size", "column_type_overrides"}
    if unknown:
        raise _error(
            "If `infer_column_types` is a dictionary, may only contain keys `sample_size` and "
            "`column_type_overrides`."
        )
    result = dict(settings)
    if "column_type_overrides" in settings:
        if not isinstance(settings["column_type_overrides"], dict):
            raise _error(
                "If `infer_column_types` is a dictionary with a `column_type_overrides` key, its value must be "
                "a dictionary of strings to `mltable.DataType`s or strings."
            )
        result["column_type_overrides"] = _column_types(settings["column_type_overrides"], allow_stream=False)
    return result


def from_parquet_files(paths: list[dict[str, str]], include_path_column: bool = False) -> MLTable:
    """A table read from parquet files, like ``read_parquet`` in an MLTable file."""
    return _from_document(paths, [{"read_parquet": {"include_path_column": include_path_column}}])


def from_json_lines_files(
    paths: list[dict[str, str]],
    invalid_lines: str = "error",
    encoding: str | MLTableFileEncoding = "utf8",
    include_path_column: bool = False,
) -> MLTable:
    """A table read from JSON-lines files, like ``read_json_lines`` in an MLTable file."""
    if invalid_lines not in ("error", "drop"):
        raise _error("Invalid value for invalid_lines, the supported values are ['error', 'drop']")
    options = {
        "invalid_lines": invalid_lines,
        "encoding": _encoding(encoding).name,
        "include_path_column": include_path_column,
    }
    return _from_document(paths, [{"read_json_lines": options}])


def from_delta_lake(
    delta_table_uri: str,
    timestamp_as_of: str | None = None,
    version_as_of: int | None = None,
    include_path_column: bool = False,
) -> MLTable:
    """A table read from a Delta table's folder, at its latest version or the one asked for."""
    if timestamp_as_of and version_as_of is not None:
        raise _error(
            "Both timestamp_as_of and version_as_of parameters were provided, but only one of "
            "version_as_of or timestamp_as_of can be specified."
        )
    options: dict[str, Any] = {"include_path_column": include_path_column}
    if version_as_of is not None:
        options["version_as_of"] = version_as_of
    if timestamp_as_of:
        options["timestamp_as_of"] = timestamp_as_of
    return _from_document([{"folder": delta_table_uri}], [{"read_delta_lake": options}])
