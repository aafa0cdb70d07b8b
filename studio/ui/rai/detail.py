"""One insight (``?name=N``): its header and status, the cohort bar, and a tab per part
(``&tab=Fairness`` opens one; only the open tab's view runs). Mitigation and scorecard rows open their
own short views."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from backend.runtime.rai.cohorts import mask
from backend.services import rai
from studio.ui import widgets
from studio.ui.rai import cohorts, common, data_view, errors, explain, mitigation, overview, scorecard

TABS = (
    "Overview",
    "Fairness",
    "Error analysis",
    "Explanations",
    "Counterfactuals",
    "Causal",
    "Data",
    "What-if",
    "Mitigation",
    "Scorecard & review",
)


def detail(name: str) -> None:
    widgets.back_button("← All insights", key="rai_back", clear=(*common.ROUTES[1:], "tab"))
    insight = common.get_insight(name)
    if insight is None:
        return
    header(insight)
    if insight.kind == "mitigation":
        mitigation.result_view(insight)
        return
    if insight.kind == "scorecard":
        scorecard.downloads(insight)
        return
    if not common.status_line(insight):
        return
    found = common.insights(name)
    rows = common.rows(name)
    if found is None or rows is None:
        return
    filters = cohorts.cohort_bar(insight, rows)
    view = common.cohort_view(name, filters)
    if view is None:
        return
    cohorts.describe(view, cohorts.current_name())
    selected = _cohort_rows(rows, filters)
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    views = {
        "Overview": lambda: overview.overview_tab(view, found),
        "Fairness": lambda: overview.fairness_tab(view, found),
        "Error analysis": lambda: errors.error_tab(insight, view, filters),
        "Explanations": lambda: explain.explanations_tab(found, selected),
        "Counterfactuals": lambda: explain.counterfactuals_tab(found),
        "Causal": lambda: explain.causal_tab(found),
        "Data": lambda: data_view.data_tab(view, found, selected),
        "What-if": lambda: data_view.what_if_tab(insight, found, selected),
        "Mitigation": lambda: mitigation.mitigation_tab(insight, found),
        "Scorecard & review": lambda: scorecard.scorecard_tab(insight, found),
    }
    for label, tab in zip(TABS, tabs, strict=True):
        if tab.open is not False:
            with tab:
                if not view.get("rows") and label in ("Overview", "Fairness", "Error analysis", "Data"):
                    st.info("The cohort holds no rows.")
                    continue
                views[label]()


def header(insight: rai.InsightPublic) -> None:
    st.subheader(insight.title or insight.name)
    cols = st.columns([2, 2, 2, 1])
    with cols[0]:
        common.model_link(insight.model)
    cols[1].markdown(
        f"**Data** `{insight.data}`" + (f"  \n**Train** `{insight.train_data}`" if insight.train_data else "")
    )
    with cols[2]:
        common.job_link(insight.job)
    cols[3].markdown(f"**Kind**  \n{insight.kind}")
    st.caption(
        f"{insight.name} · {insight.task_type} · target `{insight.target_column}` · "
        f"created {insight.created:%Y-%m-%d %H:%M}"
    )


def _cohort_rows(rows: pd.DataFrame, filters: list[dict]) -> pd.DataFrame:
    """The stored rows inside the cohort, with their position in the test data as the index."""
    return rows[mask(rows, filters)] if filters else rows
