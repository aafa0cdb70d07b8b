"""``read_delimited``: its options, the tokenizer (the reference's quoting and line ends), header
modes, and the text frame that type inference then reads."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._conversions import _validate_conversion_list
from ._core import _FIELDS, PATH_COLUMN, Fail, _object_series, _Run, _visible
from ._files import _CODECS, _apply_read, _has_utf16_bom, _read_text
from ._infer import _infer_column
from ._options import _choice, _flag, _is_int, _Option, _options, _text, _whole

_HEADERS = ("no_header", "from_first_file", "all_files_different_headers", "all_files_same_headers")
_DELIMITED_ENCODINGS = tuple(_CODECS)


_SAMPLE_SIZE = _Option(None, "a whole number of rows >= 1", lambda value: _is_int(value) and value >= 1)


def _validate_infer(value: Any, fail: Fail) -> Any:
    """infer_column_types: true/false, or {sample_size, column_type_overrides: [...]}."""
    if isinstance(value, bool):
        return {"infer": value, "sample_size": None, "overrides": ()}
    spec = {
        "sample_size": _SAMPLE_SIZE,
        "column_type_overrides": _Option(
            [], "a list of {columns, column_type}", lambda v: isinstance(v, list)
        ),
    }
    options = _options(value, spec, lambda detail: fail(f"infer_column_types: {detail}"))
    overrides = _validate_conversion_list(
        options["column_type_overrides"],
        lambda detail: fail(f"infer_column_types: column_type_overrides: {detail}"),
        names_only=True,
    )
    return {"infer": True, "sample_size": options["sample_size"], "overrides": overrides}


_DELIMITED_OPTIONS = {
    # Up to two characters are allowed, but only the first one splits fields, as in the reference.
    "delimiter": _Option(
        ",",
        "one or two characters (the first one splits fields)",
        lambda v: isinstance(v, str) and 1 <= len(v) <= 2,
    ),
    "header": _choice("all_files_same_headers", _HEADERS),
    "encoding": _choice("utf8", _DELIMITED_ENCODINGS),
    "empty_as_string": _flag(False),
    "infer_column_types": _Option(
        True,
        "true, false or a mapping with sample_size and column_type_overrides",
        lambda v: isinstance(v, bool | dict),
    ),
    "include_path_column": _flag(False),
    "support_multi_line": _flag(False),
    "path_column": _text(PATH_COLUMN),
    "partition_size": _whole(),  # how much the reference reads at once; no effect on the result
}


def _validate_delimited(value: Any, fail: Fail) -> dict[str, Any]:
    options = _options(value, _DELIMITED_OPTIONS, fail)
    options["infer_column_types"] = _validate_infer(options["infer_column_types"], fail)
    return options


def _apply_delimited(table: pd.DataFrame, options: dict[str, Any], run: _Run) -> pd.DataFrame:
    def read_all(paths: list[str]) -> tuple[pd.DataFrame, list[int]]:
        records = [_csv_records(path, options, run) for path in paths]
        frames = _frames_with_headers(records, options["header"])
        data = _text_frame(frames)
        infer = options["infer_column_types"]
        for conversion in infer["overrides"]:
            missing = [name for name in conversion.selector.names if name not in _visible(data)]
            if missing:
                raise run.fail(
                    f"infer_column_types: column_type_overrides names column '{missing[0]}', which the files do "
                    f"not have (columns: {', '.join(_visible(data))})"
                )
        columns = {}
        for name in _visible(data):
            column = data[name]
            overrides = [c for c in infer["overrides"] if name in c.selector.names]
            if overrides:
                for conversion in overrides:
                    column = conversion.convert(column)
            elif infer["infer"]:
                column = _infer_column(column, infer["sample_size"])
            columns[name] = column
        columns[_FIELDS] = data[_FIELDS]
        return pd.DataFrame(columns, index=data.index), [len(rows) for _, rows in frames]

    return _apply_read(table, options, run, read_all, partitions_first=True)


def _csv_records(path: str, options: dict[str, Any], run: _Run) -> list[list[str | None]]:
    """One file's records (header line included), each a list of fields.

    Quoting follows the reference: a field is quoted only when it starts with '"'; '""' inside
    quotes is one quote; text after a closing quote is kept; a quote that is not closed on its
    line (without support_multi_line) is plain text. An unquoted empty field is null unless
    empty_as_string; a quoted "" is always ''.
    """
    text = _read_text(path, options["encoding"], run)
    delimiter = options["delimiter"][0]
    empty = "" if options["empty_as_string"] else None
    # The reference reads a UTF-16 BOM as the start of the first record: that one is never blank.
    bom = _has_utf16_bom(path, options["encoding"], run)
    if options["support_multi_line"]:
        return _split_multi_line(text, delimiter, empty, first_is_record=bom)
    records = []
    # Lines end at "\n" (a "\r" before it goes with it; a lone "\r" is text). A blank line is
    # skipped, but in UTF-8 and ASCII files the reference reads a blank CRLF line as a record of
    # one empty field (it parses those bytes as they are, and transcodes the other encodings).
    crlf_records = _CODECS[options["encoding"]] in ("utf-8-sig", "ascii")
    for number, raw_line in enumerate(text.split("\n")):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if not line:
            if (raw_line and crlf_records) or (bom and number == 0):
                records.append([empty])
            continue
        if '"' not in line:
            records.append([item if item else empty for item in line.split(delimiter)])
        else:
            records.append(_split_line(line, delimiter, empty))
    return records


def _split_line(line: str, delimiter: str, empty: str | None) -> list[str | None]:
    fields: list[str | None] = []
    position, end_of_line = 0, len(line)
    while True:
        field, stop = _field(line, delimiter, empty, position)
        fields.append(field)
        if stop >= end_of_line:
            return fields
        position = stop + 1


def _field(text: str, delimiter: str, empty: str | None, start: int, lead: int = 0) -> tuple[str | None, int]:
    """The field at ``start`` and where it stops; ``lead`` characters there are text, never a quote."""
    if not lead and text.startswith('"', start):
        value, after = _quoted(text, start + 1)
        if value is None:  # an unclosed quote: the field is the text as written
            stop = _field_end(text, delimiter, start + 1)
            return text[start:stop], stop
        stop = _field_end(text, delimiter, after)
        return value + text[after:stop], stop
    stop = _field_end(text, delimiter, start + lead)
    return text[start:stop] or empty, stop


def _quoted(text: str, start: int) -> tuple[str | None, int]:
    """The value of a quoted field opened just before ``start`` and the position after it.

    None if the quote is never closed.
    """
    parts = []
    position = start
    while True:
        quote = text.find('"', position)
        if quote < 0:
            return None, start
        parts.append(text[position:quote])
        if text.startswith('"', quote + 1):
            parts.append('"')
            position = quote + 2
        else:
            return "".join(parts), quote + 1


def _field_end(text: str, delimiter: str, start: int) -> int:
    """Where the field starting at ``start`` ends: a delimiter, a line end ("\n" or "\r\n") or the end."""
    ends = [found for found in (text.find(delimiter, start), text.find("\n", start)) if found >= 0]
    if not ends:
        return len(text)
    end = min(ends)
    return end - 1 if text[end] == "\n" and end > start and text[end - 1] == "\r" else end


def _split_multi_line(
    text: str, delimiter: str, empty: str | None, first_is_record: bool = False
) -> list[list[str | None]]:
    """Records of a whole text where quoted fields may hold line breaks."""
    records: list[list[str | None]] = []
    fields: list[str | None] = []
    position, size = 0, len(text)
    if first_is_record and (not text or text[0] in "\r\n"):
        records.append([empty])
        position = 2 if text.startswith("\r\n") else 1
    while position < size:
        lead = 0
        if not fields:
            if text.startswith("\r\n", position):
                position += 2  # a blank CRLF line is skipped ...
                continue
            # ... but the reference keeps a blank LF line's "\n" as the start of the next field.
            lead = 1 if text[position] == "\n" else 0
        field, stop = _field(text, delimiter, empty, position, lead)
        fields.append(field)
        if stop < size and text[stop] == delimiter:
            position = stop + 1
            if position == size:
                fields.append(empty)
            continue
        records.append(fields)
        fields = []
        position = stop + (2 if text.startswith("\r\n", stop) else 1)
    if fields:
        records.append(fields)
    return records


def _frames_with_headers(
    records: list[list[list[str | None]]], header: str
) -> list[tuple[list[str], list[list[str | None]]]]:
    """Name each file's columns as the header mode says and drop the header lines."""
    frames = []
    names: list[str] = []
    for number, rows in enumerate(records):
        if header == "no_header":
            names = []
        elif header == "all_files_different_headers" or number == 0:
            names, rows = _header_names(rows[0] if rows else []), rows[1:]
        elif header == "all_files_same_headers":
            rows = rows[1:]  # the first line is a header again
        # from_first_file: every line of later files is data
        width = max([len(names), *map(len, rows)])
        # Columns past the header (or all of them without one) are named Column1..N.
        frames.append(([*names, *(f"Column{i + 1}" for i in range(len(names), width))], rows))
    return frames


def _header_names(fields: list[str | None]) -> list[str]:
    names: list[str] = []
    suffix = 1  # one count for all repeats, as in the reference: a, b, a, b -> a, b, a_1, b_2
    for position, name in enumerate(fields, 1):
        name = (name or "").strip() or f"Column{position}"  # the reference trims header names
        while name in names:
            name, suffix = f"{name}_{suffix}", suffix + 1  # a, a_1, a -> a, a_1, a_1_2
        names.append(name)
    return names


def _text_frame(frames: list[tuple[list[str], list[list[str | None]]]]) -> pd.DataFrame:
    # The union of the files' columns in first-seen order (what all_files_different_headers
    # gives); a file without a column, or a short row, has nulls there.
    # A file without data rows adds no columns, even with a header line.
    order = list(dict.fromkeys(name for names, rows in frames if rows for name in names))
    columns: dict[str, list[Any]] = {name: [] for name in order}
    fields: list[tuple[str, ...]] = []
    for names, rows in frames:
        # A short row has only the fields it has values for (its record lacks the rest).
        prefixes = {width: tuple(names[:width]) for width in {len(row) for row in rows}}
        fields.extend(prefixes[len(row)] for row in rows)
        positions = {name: index for index, name in enumerate(names)}
        for name in order:
            index = positions.get(name)
            if index is None:
                columns[name].extend([None] * len(rows))
            else:
                columns[name].extend(row[index] if index < len(row) else None for row in rows)
    frame = pd.DataFrame({name: _object_series(values) for name, values in columns.items()})
    frame[_FIELDS] = _object_series(fields)
    return frame
