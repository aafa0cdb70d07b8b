"""The Error analysis tab: the surrogate error tree (tree map or sunburst coloured by error rate), its
highest-error leaves (each can be saved as a cohort), and the error heat map."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.services import rai
from studio.ui.rai import charts, cohorts, common

TOP_LEAVES = 5


def error_tab(insight: rai.InsightPublic, view: dict[str, Any], filters: list[dict]) -> None:
    part = view.get("error_analysis")
    if not part:
        st.info("These insights have no error analysis (it was not among the parts computed).")
        return
    nodes = part.get("nodes") or []
    metric = part.get("metric") or "error_rate"
    settings = part.get("settings") or {}
    if not nodes:
        st.info("The error tree is empty.")
        return
    root = nodes[0]
    st.caption(
        f"A tree fit on the per-row errors over {', '.join(settings.get('features') or []) or 'the features'}"
        f" (max depth {settings.get('max_depth', '?')}, at least {settings.get('min_child_samples', '?')} "
        f"rows a leaf): area is rows, red is a higher {metric.replace('_', ' ')} "
        f"(overall {common.number(root.get(metric))})."
    )
    kind = st.segmented_control(
        "Draw as", ["treemap", "sunburst"], default="treemap", key="rai_tree_kind", required=True
    )
    st.plotly_chart(charts.error_tree(nodes, kind=kind or "treemap", metric=metric), key="rai_error_tree")
    leaves(insight, nodes, metric, filters)
    heatmap = part.get("heatmap")
    if heatmap and heatmap.get("error_rate"):
        st.plotly_chart(charts.error_heatmap(heatmap), key="rai_error_heatmap")


def leaves(insight: rai.InsightPublic, nodes: list[dict], metric: str, filters: list[dict]) -> None:
    """The leaves with the highest error rate, largest share of errors first among equals."""
    found = sorted(
        (n for n in nodes if n.get("leaf") and common.finite(n.get(metric))),
        key=lambda n: (-n[metric], -(n.get("size") or 0)),
    )[:TOP_LEAVES]
    if not found:
        return
    st.markdown("**Highest-error leaves**")
    table = pd.DataFrame(
        [
            {
                "cohort": charts.cohort_text(n),
                "rows": n.get("size"),
                "errors": n.get("errors"),
                metric.replace("_", " "): n.get(metric),
                "share of errors": n.get("share_of_errors"),
            }
            for n in found
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        key="rai_leaves_table",
        column_config={
            metric.replace("_", " "): st.column_config.ProgressColumn(
                format="%.3f", min_value=0.0, max_value=1.0 if metric == "error_rate" else None
            ),
            "share of errors": st.column_config.NumberColumn(format="percent"),
        },
    )
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    options = list(range(len(found)))
    chosen = left.selectbox(
        "Leaf",
        options,
        format_func=lambda i: f"{charts.cohort_text(found[i])} ({found[i][metric]:.3f})",
        key="rai_leaf_pick",
    )
    name = right.text_input("Cohort name", value=f"error leaf {found[chosen]['id']}", key="rai_leaf_name")
    if st.button("Save leaf as cohort", key="rai_leaf_save", icon=":material/bookmark_add:"):
        cohorts.save(insight, name, _combined(filters, found[chosen].get("filters") or []))


def _combined(current: list[dict], node: list[dict]) -> list[dict]:
    """The current cohort's filters and the node's (the tree was fit inside the cohort)."""
    return [*current, *[f for f in node if f not in current]]
