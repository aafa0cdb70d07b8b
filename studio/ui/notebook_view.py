"""A read-only render of a Jupyter notebook (nbformat v4 JSON) with Streamlit elements.

Used by the job page (the executed notebook of a notebook job) and the Notebooks page. A notebook is
someone else's content: nothing in it is rendered as HTML. Markdown goes through ``st.markdown`` (which
does not render HTML) with its HTML tags removed; an HTML output is shown as the table it holds (read as
text by the standard library's parser), else as its ``text/plain`` alternative, else as escaped source.
SVG images can carry scripts too: they are not drawn.
"""

from __future__ import annotations

import base64
import binascii
import re
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import streamlit as st

MAX_CELLS = 500  # cells drawn; a longer notebook says how many more it has
MAX_TEXT_CHARS = 20_000  # of one stream or text output: its end is shown, as a log's would be
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CODE_SPANS = re.compile(r"(```[\s\S]*?```|`[^`\n]*`)")
_SCRIPTS = re.compile(r"<(script|style)\b[\s\S]*?</\1\s*>", re.I)
_TAGS = re.compile(r"<!--[\s\S]*?-->|</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
ERROR_CELL_TAG = "papermill-error-cell-tag"  # papermill's note at the top of a notebook that failed
CELL_NOTES = {"injected-parameters": "injected parameters", "parameters": "parameters"}  # papermill's tags


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def markdown_without_html(text: str) -> str:
    """Markdown with its HTML tags (and scripts and styles, whole) removed, code spans left as written."""
    parts = _CODE_SPANS.split(text)
    return "".join(
        part if part.startswith("`") else _TAGS.sub("", _SCRIPTS.sub("", part))
        for part in parts
        if part is not None
    )


class _TableParser(HTMLParser):
    """The text of the cells of the first ``<table>`` of an HTML fragment; nothing is ever rendered."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.spans = False
        self._cell: list[str] | None = None
        self._depth = 0  # inside the first table (nested tables make it unreadable: spans)
        self._done = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self._done:
            return
        if tag == "table":
            self._depth += 1
            self.spans |= self._depth > 1
        elif self._depth and tag == "tr":
            self.rows.append([])
        elif self._depth and tag in ("td", "th") and self.rows:
            self.spans |= any(k in ("colspan", "rowspan") and v not in (None, "1") for k, v in attrs)
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._done:
            return
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._depth:
            self._depth -= 1
            self._done = self._depth == 0

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_table(html: str) -> pd.DataFrame | None:
    """The first table of an HTML output (a pandas frame's ``_repr_html_``) as text cells, when it is a
    plain grid: a header row, then rows of the same width. None otherwise."""
    if "<table" not in html.lower():
        return None
    parser = _TableParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the parser is lenient; anything it still refuses is not a table to show
        return None
    rows = [row for row in parser.rows if row]
    if parser.spans or len(rows) < 2 or len({len(row) for row in rows}) != 1:
        return None
    columns: list[str] = []
    for name in rows[0]:
        unique, n = name, 1
        while unique in columns:  # (an empty index header, or a repeated name)
            n += 1
            unique = f"{name} ({n})" if name else " " * n
        columns.append(unique)
    return pd.DataFrame(rows[1:], columns=columns)


def _image(data: Any) -> bytes | None:
    try:
        return base64.b64decode(_text(data).encode())
    except (binascii.Error, ValueError):
        return None


def _long_text(text: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        st.caption(f"… the last {MAX_TEXT_CHARS:,} of {len(text):,} characters")
        text = text[-MAX_TEXT_CHARS:]
    st.code(text.rstrip("\n"), language=None, wrap_lines=True)


def _rich(data: dict[str, Any], key: str) -> None:
    """One ``display_data`` / ``execute_result``: the richest of its forms that is safe to show."""
    for mime in IMAGE_TYPES:
        if mime in data and (image := _image(data[mime])) is not None:
            st.image(image)
            return
    if "text/html" in data:
        table = html_table(_text(data["text/html"]))
        if table is not None:
            st.dataframe(table, hide_index=True, key=key)
            return
    if "text/markdown" in data:
        st.markdown(markdown_without_html(_text(data["text/markdown"])))
        return
    if "application/json" in data:
        st.json(data["application/json"], expanded=False)
        return
    if "text/plain" in data:
        _long_text(strip_ansi(_text(data["text/plain"])))
        return
    if "text/html" in data:
        with st.expander("HTML output (not rendered)"):
            st.code(_text(data["text/html"]), language="html")
        return
    kinds = ", ".join(sorted(data)) or "nothing"
    st.caption(f"An output of type {kinds}, which this view does not show.")


def _outputs(outputs: list, key: str) -> None:
    for j, out in enumerate(outputs or []):
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            text = strip_ansi(_text(out.get("text")))
            if out.get("name") == "stderr":
                st.caption("stderr")
            _long_text(text)
        elif kind in ("display_data", "execute_result"):
            if kind == "execute_result" and out.get("execution_count") is not None:
                st.caption(f"Out [{out['execution_count']}]")
            _rich(out.get("data") or {}, key=f"{key}_{j}")
        elif kind == "error":
            st.error(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}", icon=":material/error:")
            traceback = "\n".join(strip_ansi(_text(line)) for line in out.get("traceback") or [])
            if traceback.strip():
                _long_text(traceback)


def _code_cell(cell: dict[str, Any], key: str) -> None:
    count = cell.get("execution_count")
    tags = (cell.get("metadata") or {}).get("tags") or []
    note = next((label for tag, label in CELL_NOTES.items() if tag in tags), "")
    st.caption(f"In [{count if count is not None else ' '}]" + (f" · {note}" if note else ""))
    st.code(_text(cell.get("source")), language="python")
    _outputs(cell.get("outputs") or [], key)


def render_notebook(notebook: dict, *, key: str) -> None:
    """Draw ``notebook`` (an .ipynb file's JSON) read-only: markdown, code with its execution count, and
    outputs (text, tables, images, errors). ``key`` keeps the elements of two notebooks on a page apart."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        st.error("This is not a notebook (an .ipynb file has a list of cells).")
        return
    if not cells:
        st.caption("This notebook has no cells.")
        return
    for i, cell in enumerate(cells[:MAX_CELLS]):
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source"))
        kind = cell.get("cell_type")
        if kind == "markdown":
            text = markdown_without_html(source)
            if ERROR_CELL_TAG in ((cell.get("metadata") or {}).get("tags") or []):
                st.error(" ".join(text.split()), icon=":material/error:")
            elif text.strip():
                st.markdown(text)
        elif kind == "code":
            _code_cell(cell, f"{key}_cell{i}")
        elif source.strip():  # raw cells: as written
            st.code(source, language=None)
    if len(cells) > MAX_CELLS:
        st.caption(f"… and {len(cells) - MAX_CELLS:,} more cells, not shown.")


__all__ = ["html_table", "markdown_without_html", "render_notebook", "strip_ansi"]
