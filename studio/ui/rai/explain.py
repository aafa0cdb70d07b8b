"""The Explanations tab (global importance, local contributions), the Counterfactuals tab (each explained
row against its counterfactuals, changed cells highlighted) and the Causal tab (effects with intervals,
heterogeneity). These parts need the model, so they are the job's, computed on all the test rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from studio.ui.rai import charts, common

CHANGED_STYLE = "background-color: #ffe08a; font-weight: 600"
ALL_ROWS_NOTE = "Computed by the job on all test rows (it needs the model); cohorts do not change it."


def _missing(part: str, hint: str = "") -> None:
    st.info(f"These insights have no {part}." + (f" {hint}" if hint else ""))


def explanations_tab(found: dict[str, Any], selected: pd.DataFrame) -> None:
    part = found.get("feature_importance")
    if not part:
        _missing("feature importance", "Add the part feature_importance when creating insights.")
        return
    st.caption(ALL_ROWS_NOTE)
    glob = part.get("global") or {}
    if glob.get("features"):
        st.plotly_chart(charts.importance_bars(glob), key="rai_importance")
        st.caption(glob.get("method", ""))
    local = part.get("local") or {}
    explained = local.get("rows") or []
    if not explained:
        st.info("No rows were explained locally (feature_importance.local_rows is empty).")
        return
    st.markdown("**Local contributions**")
    inside = set(selected.index)
    options = list(range(len(explained)))
    pick = st.selectbox(
        "Explained row",
        options,
        format_func=lambda i: (
            f"row {explained[i].get('index')}"
            + ("" if explained[i].get("index") in inside else " (outside the cohort)")
        ),
        key="rai_local_row",
    )
    row = explained[pick]
    left, right = st.columns(3)[:2]
    left.metric("Base value", common.number(row.get("base_value")))
    right.metric(
        "Prediction",
        common.number(row.get("prediction")),
        common.number((row.get("prediction") or 0) - (row.get("base_value") or 0)),
        delta_color="off",
    )
    st.plotly_chart(charts.local_waterfall(row, local.get("output") or "prediction"), key="rai_waterfall")
    st.caption(local.get("method", ""))


def counterfactuals_tab(found: dict[str, Any]) -> None:
    part = found.get("counterfactuals")
    if not part:
        _missing("counterfactuals", "Add the part counterfactuals when creating insights.")
        return
    st.caption(ALL_ROWS_NOTE + " " + str(part.get("method") or ""))
    explained = part.get("rows") or []
    if not explained:
        st.info("No rows were explained.")
        return
    for i, row in enumerate(explained):
        found_cfs = row.get("counterfactuals") or []
        st.markdown(
            f"**Row {row.get('index')}**: predicted `{row.get('prediction')}`, wanted `{row.get('desired')}` "
            f"· {len(found_cfs)} counterfactual{'s' if len(found_cfs) != 1 else ''}"
        )
        if not found_cfs:
            st.caption("None found within the permitted ranges.")
            continue
        st.dataframe(counterfactual_table(row), key=f"rai_cf_table_{i}", height=35 * (len(found_cfs) + 2) + 3)


def counterfactual_table(row: dict[str, Any]):
    """The original row on top, each counterfactual under it; the cells that changed highlighted."""
    original = row.get("original") or {}
    columns = list(original)
    records = [{**original, "prediction": row.get("prediction"), "distance": 0.0}]
    changed: list[set[str]] = [set()]
    for cf in row.get("counterfactuals") or []:
        values = cf.get("values") or {}
        records.append(
            {
                **{c: values.get(c, original.get(c)) for c in columns},
                "prediction": cf.get("prediction"),
                "distance": cf.get("distance"),
            }
        )
        changed.append(
            set(
                cf.get("changed") or [c for c in columns if values.get(c, original.get(c)) != original.get(c)]
            )
        )
    frame = pd.DataFrame(records, index=["original", *[f"#{i}" for i in range(1, len(records))]])
    frame = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})

    def style(data: pd.DataFrame) -> pd.DataFrame:
        styles = pd.DataFrame("", index=data.index, columns=data.columns)
        for position, names in enumerate(changed):
            for name in names:
                if name in styles.columns:
                    styles.iloc[position, styles.columns.get_loc(name)] = CHANGED_STYLE
        if len(styles) > 1:
            styles.iloc[1:, styles.columns.get_loc("prediction")] = CHANGED_STYLE
        return styles

    return frame.style.apply(style, axis=None).format(
        precision=4, subset=frame.select_dtypes("number").columns
    )


def causal_tab(found: dict[str, Any]) -> None:
    part = found.get("causal")
    if not part:
        _missing("causal analysis", "Name treatment features when creating insights.")
        return
    st.caption(
        f"{ALL_ROWS_NOTE} {part.get('method') or ''} · intervals at {1 - float(part.get('alpha') or 0.05):.0%}"
    )
    effects = part.get("effects") or []
    if effects:
        st.plotly_chart(charts.causal_effects(effects), key="rai_causal_effects")
        st.dataframe(
            pd.DataFrame(effects),
            hide_index=True,
            key="rai_causal_table",
            column_config={
                c: st.column_config.NumberColumn(format="%.4g")
                for c in ("point", "stderr", "z", "p_value", "ci_lower", "ci_upper")
            },
        )
    heterogeneity = part.get("heterogeneity") or []
    if heterogeneity:
        st.markdown("**Heterogeneity: the effect by group**")
        table = pd.DataFrame(
            [
                {"treatment": h.get("treatment"), "level": h.get("level"), "by": h.get("by"), **g}
                for h in heterogeneity
                for g in h.get("groups") or []
            ]
        )
        st.dataframe(table, hide_index=True, key="rai_causal_heterogeneity")
