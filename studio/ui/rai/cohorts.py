"""The cohort bar on top of an insight: pick a saved cohort (``?cohort=<name>``) or all data, define a new
one from filters and save it; the chosen cohort's filters go to every view (``rai.cohort_view``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.runtime.rai.cohorts import OPS
from backend.services import rai
from studio.ui import shell, widgets

ALL = "All data"
MAX_FILTERS = 5
MAX_CHOICES = 50  # a column with at most this many values is picked from a list


def cohort_bar(insight: rai.InsightPublic, rows: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The chosen cohort's filters (empty for all data); an unknown ``?cohort=`` falls back to all data."""
    saved = {c["name"]: c.get("filters") or [] for c in insight.cohorts}
    wanted = st.query_params.get("cohort") or ALL
    if wanted != ALL and wanted not in saved:
        st.warning(f"No saved cohort {wanted!r}: showing all data.")
        wanted = ALL
    options = [ALL, *saved]
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    picked = left.selectbox("Cohort", options, index=options.index(wanted), key="rai_cohort_pick")
    if picked != wanted:
        _open(picked)
    if picked != ALL and middle.button("Delete cohort", key="rai_cohort_delete", icon=":material/delete:"):
        ok = widgets.done(
            rai.delete_cohort, workspace=shell.current_workspace(), name=insight.name, cohort=picked
        )
        if ok:
            _open(ALL)
    with right.popover("New cohort", icon=":material/add:", use_container_width=True):
        if rows is not None:
            new_cohort_form(insight, rows)
    return saved.get(picked, [])


def _open(cohort: str) -> None:
    if cohort == ALL:
        st.query_params.pop("cohort", None)
    else:
        st.query_params["cohort"] = cohort
    st.rerun()


def save(insight: rai.InsightPublic, cohort: str, filters: list[dict[str, Any]]) -> None:
    """Save a cohort and show it (the deep link changes to ``?cohort=``)."""
    saved = {"name": insight.name, "cohort": cohort, "filters": filters}
    ok = widgets.done(
        rai.save_cohort, workspace=shell.current_workspace(), success=f"Cohort {cohort!r} saved", **saved
    )
    if ok:
        _open(cohort.strip())


def filter_columns(rows: pd.DataFrame) -> list[str]:
    """The columns a cohort can filter on: the data's, then the prediction and the error."""
    data = [c for c in rows.columns if not str(c).startswith("_")]
    return [*data, *[c for c in ("_y_pred", "_proba", "_error") if c in rows.columns]]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def filter_inputs(rows: pd.DataFrame, i: int, prefix: str = "rai_cf") -> dict[str, Any] | None:
    """One filter's column, op and value(s) widgets (keys ``{prefix}_col_{i}``, ...); None when incomplete."""
    cols = st.columns([2, 1, 3])
    columns = filter_columns(rows)
    column = cols[0].selectbox("Column", columns, key=f"{prefix}_col_{i}")
    series = rows[column]
    choices = sorted(series.dropna().unique().tolist(), key=str) if series.nunique() <= MAX_CHOICES else None
    numeric = pd.api.types.is_numeric_dtype(series) and series.dtype != bool
    ops = [o for o in OPS if numeric or o in ("==", "!=", "in", "not_in")]
    op = cols[1].selectbox("Op", ops, key=f"{prefix}_op_{i}")
    where = cols[2]
    if op in ("in", "not_in"):
        if choices is None:
            text = where.text_input("Values (comma separated)", key=f"{prefix}_vals_{i}")
            value = [v.strip() for v in text.split(",") if v.strip()]
        else:
            value = [_plain(v) for v in where.multiselect("Values", choices, key=f"{prefix}_multi_{i}")]
        return {"column": column, "op": op, "value": value} if value else None
    if op == "between" and numeric:
        low, high = float(series.min()), float(series.max())
        a, b = where.columns(2)
        value = [
            a.number_input("From", value=low, key=f"{prefix}_low_{i}", format="%g"),
            b.number_input("To", value=high, key=f"{prefix}_high_{i}", format="%g"),
        ]
        return {"column": column, "op": op, "value": value}
    if choices is not None and (not numeric or op in ("==", "!=")):
        return {
            "column": column,
            "op": op,
            "value": _plain(where.selectbox("Value", choices, key=f"{prefix}_one_{i}")),
        }
    if numeric:
        start = float(series.median()) if len(series.dropna()) else 0.0
        value = where.number_input("Value", value=start, key=f"{prefix}_num_{i}", format="%g")
        return {"column": column, "op": op, "value": value}
    return {"column": column, "op": op, "value": where.text_input("Value", key=f"{prefix}_text_{i}")}


def new_cohort_form(insight: rai.InsightPublic, rows: pd.DataFrame) -> None:
    """Filters (ANDed) and a name; Save stores the cohort and opens it."""
    count = int(st.number_input("Filters", 1, MAX_FILTERS, 1, key="rai_cf_count"))
    filters = [filter_inputs(rows, i) for i in range(count)]
    complete = [f for f in filters if f]
    if complete:
        st.caption("Rows where " + " and ".join(_text(f) for f in complete))
    name = st.text_input("Cohort name", key="rai_cf_name")
    if st.button(
        "Save cohort",
        key="rai_cf_save",
        type="primary",
        disabled=not name.strip() or len(complete) != count,
    ):
        save(insight, name, complete)


def _text(f: dict[str, Any]) -> str:
    value = f["value"]
    if isinstance(value, list):
        value = "[" + ", ".join(map(str, value)) + "]"
    return f"`{f['column']} {f['op']} {value}`"


def describe(view: dict[str, Any], cohort: str | None) -> None:
    """One line under the bar: the cohort, its rule and its rows."""
    total = view.get("rows", 0)
    rule = view.get("description") or "all rows"
    st.caption(f"**{cohort or ALL}**: {rule} · {total:,} rows")
    if not total:
        st.warning("This cohort holds no rows: pick another one.")


def current_name() -> str | None:
    return st.query_params.get("cohort") or None
