"""The Overview tab (metric tiles, confusion matrix, metrics by group) and the Fairness tab (per
sensitive feature: bars by group with the gap drawn, the disparity metrics called out, the numbers)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from studio.ui.rai import charts, common

CLASSIFICATION_TILES = ("accuracy", "precision", "recall", "f1", "roc_auc", "selection_rate", "error_rate")
REGRESSION_TILES = ("mae", "rmse", "r2", "mean_prediction", "mean_target")
GROUP_METRICS = ("accuracy", "precision", "recall", "f1", "selection_rate", "mae", "rmse", "r2")
DISPARITIES = (
    ("demographic_parity_difference", "Demographic parity difference", "lower is fairer"),
    ("demographic_parity_ratio", "Demographic parity ratio", "closer to 1 is fairer"),
    ("equalized_odds_difference", "Equalized odds difference", "lower is fairer"),
    ("equalized_odds_ratio", "Equalized odds ratio", "closer to 1 is fairer"),
)


def _missing(part: str) -> None:
    st.info(f"These insights have no {part} (it was not among the parts computed).")


def overview_tab(view: dict[str, Any], found: dict[str, Any]) -> None:
    part = view.get("model_overview")
    if not part:
        _missing("model overview")
        return
    overall = part.get("overall") or {}
    regression = found.get("task_type") == "regression"
    tiles = [m for m in (REGRESSION_TILES if regression else CLASSIFICATION_TILES) if m in overall]
    everyone = ((found.get("model_overview") or {}).get("overall")) or {}
    cols = st.columns(max(1, min(len(tiles), 7)))
    for i, metric in enumerate(tiles):
        value = overall.get(metric)
        base = everyone.get(metric)
        delta = None
        if view.get("filters") and common.finite(value) and common.finite(base):
            delta = f"{value - base:+.3f} vs all data"
        cols[i % len(cols)].metric(
            common.label(metric), common.number(value), delta, delta_color="off", border=True
        )
    st.caption(
        f"{common.number(overall.get('count'))} rows"
        + (f" · positive label `{overall['positive_label']}`" if "positive_label" in overall else "")
    )
    left, right = st.columns([2, 3])
    matrix = overall.get("confusion_matrix")
    if matrix and matrix.get("matrix"):
        left.plotly_chart(charts.confusion_matrix(matrix), key="rai_confusion")
    by_feature = part.get("by_feature") or {}
    if by_feature:
        with right:
            feature = st.selectbox("Metrics by", list(by_feature), key="rai_overview_feature")
            groups = by_feature[feature]
            metrics = [m for m in GROUP_METRICS if any(m in (g or {}) for g in groups.values())]
            st.plotly_chart(charts.metrics_by_group(groups, metrics, feature), key="rai_overview_groups")
        table = pd.DataFrame(
            [
                {"group": g, **{m: v.get(m) for m in ("count", *GROUP_METRICS) if m in v}}
                for g, v in by_feature[feature].items()
            ]
        )
        st.dataframe(table, hide_index=True, key="rai_overview_table")


def fairness_tab(view: dict[str, Any], found: dict[str, Any]) -> None:
    part = view.get("fairness")
    if not part:
        _missing("fairness assessment (name sensitive features when creating insights)")
        return
    features = list(part)
    feature = st.segmented_control(
        "Sensitive feature", features, default=features[0], key="rai_fair_feature", required=True
    )
    fair = part.get(feature or features[0]) or {}
    cols = st.columns([1.35, 1, 1.25, 1])
    for col, (key, title, _) in zip(cols, DISPARITIES, strict=True):
        col.metric(title, common.number(fair.get(key)), border=True)
    st.caption(
        "Fairlearn's disparity metrics between groups: differences closer to 0 and ratios closer to 1 "
        "are fairer. Dashed lines mark the lowest and highest group; the gap is their difference."
    )
    listed = [m for m in (fair.get("metrics") or []) if m != "count"]
    metrics = [m for m in charts.FAIRNESS_METRICS if m in listed] + [
        m for m in listed if m not in charts.FAIRNESS_METRICS
    ]
    by_group = fair.get("by_group") or {}
    rates = {g: (v or {}).get("selection_rate") for g, v in by_group.items()}
    known = {g: r for g, r in rates.items() if common.finite(r)}
    if len(known) >= 2:
        low, high = min(known, key=known.get), max(known, key=known.get)
        st.markdown(
            f"**Selection rate** ranges from **{known[low]:.3f}** (`{low}`) to **{known[high]:.3f}** "
            f"(`{high}`): a gap of **{known[high] - known[low]:.3f}**."
        )
    st.plotly_chart(charts.fairness_bars(fair, metrics), key=f"rai_fair_bars_{feature}")
    table = pd.DataFrame([{"group": g, **(v or {})} for g, v in by_group.items()])
    if not table.empty:
        summary = [
            {"group": f"({kind})", **{m: (fair.get(kind) or {}).get(m) for m in metrics}}
            for kind in ("difference", "ratio")
        ]
        table = pd.concat([table, pd.DataFrame(summary)], ignore_index=True)
        st.dataframe(
            table,
            hide_index=True,
            key=f"rai_fair_table_{feature}",
            column_config={m: st.column_config.NumberColumn(format="%.4f") for m in metrics},
        )
    if view.get("filters"):
        st.caption("Recomputed for the chosen cohort.")
