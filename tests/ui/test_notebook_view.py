"""The read-only notebook render (``studio/ui/notebook_view.py``) through AppTest: every kind of cell and
output, and nothing of a notebook's HTML ever rendered as HTML."""

import base64
import io

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio.ui.notebook_view import html_table, markdown_without_html

FRAME_HTML = (
    '<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style><table border="1" class="dataframe">'
    '<thead><tr style="text-align: right;"><th></th><th>a</th><th>b</th></tr></thead>'
    "<tbody><tr><th>0</th><td>1</td><td>x &amp; y</td></tr><tr><th>1</th><td>2</td><td>z</td></tr></tbody>"
    "</table></div>"
)


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {"tags": ["papermill-error-cell-tag"]},
            "source": '<span style="color:red">An Exception was encountered at <a href="#e">In [5]</a>.</span>',
        },
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["# Report\n", "Some **bold** text<script>alert('md')</script> and `<b>code</b>`.\n"],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {"tags": ["injected-parameters"]},
            "source": "# Parameters\nalpha = 2\n",
            "outputs": [],
        },
        {
            "cell_type": "code",
            "execution_count": 3,
            "metadata": {},
            "source": ["print('hello')\n", "frame"],
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["hello\n"]},
                {
                    "output_type": "execute_result",
                    "execution_count": 3,
                    "metadata": {},
                    "data": {"text/html": FRAME_HTML, "text/plain": "   a  b\n0  1  x & y\n1  2  z"},
                },
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": "<script>alert(1)</script><b>hi</b>", "text/plain": "<Widget hi>"},
                },
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": "<div onclick='x()'>only html</div>"},
                },
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": _png()}},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/svg+xml": "<svg><script>alert(2)</script></svg>"},
                },
            ],
        },
        {
            "cell_type": "code",
            "execution_count": 5,
            "metadata": {},
            "source": "raise ValueError('alpha must be positive')",
            "outputs": [
                {
                    "output_type": "error",
                    "ename": "ValueError",
                    "evalue": "alpha must be positive",
                    "traceback": [
                        "\x1b[0;31m---------------------------------------------------------------\x1b[0m",
                        "\x1b[0;31mValueError\x1b[0m  Traceback (most recent call last)",
                        "\x1b[0;31mValueError\x1b[0m: alpha must be positive",
                    ],
                }
            ],
        },
        {"cell_type": "raw", "metadata": {}, "source": "raw text"},
    ],
}


def _page(notebook: dict) -> None:
    from studio.ui.notebook_view import render_notebook

    render_notebook(notebook, key="nb")


def _all_text(at: AppTest) -> list[str]:
    """Every string a rendered element carries (markdown, code, captions, alerts)."""
    found = []
    for kind in ("markdown", "code", "caption", "error", "text"):
        found += [str(e.value) for e in at.get(kind)]
    return found


def _kinds(node) -> set[str]:
    """The types of the elements under ``node`` (an ``html`` or ``iframe`` one would render HTML)."""
    found = set()
    for child in getattr(node, "children", {}).values():
        found |= {child.type} | _kinds(child)
    return found


def test_a_notebook_renders_its_cells_and_outputs():
    at = AppTest.from_function(_page, kwargs={"notebook": NOTEBOOK}, default_timeout=30).run()
    assert not at.exception, at.exception
    codes = [c.value for c in at.code]
    assert "# Parameters\nalpha = 2" in codes and "print('hello')\nframe" in codes
    captions = [c.value for c in at.caption]
    assert "In [2] · injected parameters" in captions and "In [3]" in captions and "Out [3]" in captions
    assert "hello" in codes  # stdout
    table = at.dataframe[0].value
    assert list(table.columns) == ["", "a", "b"] and table["b"].tolist() == ["x & y", "z"]
    assert "<Widget hi>" in codes  # a script in HTML: its text/plain form instead
    assert len(at.get("image")) == 1  # the PNG, and not the SVG
    assert any("image/svg+xml" in c and "does not show" in c for c in captions)
    errors = [e.value for e in at.error]
    assert errors[0] == "An Exception was encountered at In [5]."  # papermill's note, without its HTML
    assert "ValueError: alpha must be positive" in errors
    traceback = next(c for c in codes if "Traceback" in c)
    assert "\x1b" not in traceback and "ValueError: alpha must be positive" in traceback
    assert any(m.value.startswith("# Report") for m in at.markdown)
    assert "raw text" in codes
    # No HTML from the notebook as HTML: not in markdown, nor as an HTML element. The only HTML shown is
    # the escaped source of an output that has nothing else, in a code block.
    assert _kinds(at.main) <= {"error", "markdown", "caption", "code", "dataframe", "expander", "image"}
    assert not any("<script" in m.value or "<span" in m.value for m in at.markdown)
    assert [c for c in codes if "onclick" in c] == ["<div onclick='x()'>only html</div>"]
    assert not any("alert(1)" in t or "alert(2)" in t for t in _all_text(at))


def test_what_is_not_a_notebook_is_one_message():
    at = AppTest.from_function(_page, kwargs={"notebook": {"cells": "x"}}, default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This is not a notebook (an .ipynb file has a list of cells)."]


def test_html_tables_are_read_as_text_and_odd_ones_refused():
    table = html_table(FRAME_HTML)
    assert table.values.tolist() == [["0", "1", "x & y"], ["1", "2", "z"]]
    assert html_table("<table><tr><td colspan='2'>x</td></tr><tr><td>1</td><td>2</td></tr></table>") is None
    assert html_table("<table><tr><th>a</th></tr><tr><td>1</td><td>2</td></tr></table>") is None
    assert html_table("<b>no table</b>") is None
    assert markdown_without_html("a <i>b</i> <!-- c --> `<i>d</i>` e < f") == "a b  `<i>d</i>` e < f"
