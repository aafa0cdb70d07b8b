"""The Mitigation tab: queue a Fairlearn mitigation job for the insight's model, and for a completed one
the accuracy/disparity trade-off of its candidates against the original, each candidate registrable as a
new model version (its lineage in the version's properties)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.services import rai, rai_review
from studio.ui import charts as studio_charts
from studio.ui import shell, widgets
from studio.ui.rai import charts, common

METHODS = {
    "threshold_optimizer": "Threshold optimizer (post-processing)",
    "exponentiated_gradient": "Exponentiated gradient (reduction, refits)",
}


def mitigation_tab(insight: rai.InsightPublic, found: dict[str, Any]) -> None:
    if insight.task_type != "classification":
        st.info("Mitigation applies to classifiers.")
        return
    done = widgets.load(
        rai.list_insights, workspace=shell.current_workspace(), model=insight.model, kind="mitigation"
    )
    _form(insight, found, expanded=not done)
    if not done:
        st.caption("No mitigations of this model yet.")
        return
    st.markdown("**Mitigations of this model**")
    names = [m.name for m in done]
    by_name = {m.name: m for m in done}
    picked = st.selectbox(
        "Mitigation",
        names,
        key="rai_mit_pick",
        format_func=lambda n: f"{by_name[n].title} · {studio_charts.status_label(by_name[n].status)} · {n}",
    )
    chosen = by_name[picked]
    common.insight_link(chosen.name, f"Open mitigation {chosen.name}")
    if common.status_line(chosen):
        tradeoff_view(chosen)
    else:
        common.job_link(chosen.job)


def _form(insight: rai.InsightPublic, found: dict[str, Any], *, expanded: bool) -> None:
    sensitive = list(found.get("sensitive_features") or [])
    with st.expander("New mitigation", icon=":material/tune:", expanded=expanded):
        if not sensitive:
            st.info("These insights name no sensitive feature to mitigate for.")
            return
        with st.container():
            cols = st.columns(3)
            feature = cols[0].selectbox("Sensitive feature", sensitive, key="rai_mit_feature")
            method = cols[1].selectbox("Method", list(METHODS), format_func=METHODS.get, key="rai_mit_method")
            constraint = cols[2].selectbox("Constraint", rai_review.CONSTRAINTS, key="rai_mit_constraint")
            grid = st.number_input("Grid size", 10, 100_000, 1000, key="rai_mit_grid")
            train = insight.train_data or insight.data
            st.caption(f"Fits on `{train}`, evaluates on `{insight.data}`.")
            if not st.button("Start mitigation", type="primary", key="rai_mit_start"):
                return
        request = rai_review.MitigationRequest(
            model=insight.model,
            test_data=insight.data,
            train_data=train,
            target_column=insight.target_column,
            sensitive_feature=feature,
            method=method,
            constraint=constraint,
            grid_size=int(grid),
        )
        created = widgets.load(
            rai_review.create_mitigation,
            workspace=shell.current_workspace(),
            request=request,
            success="Mitigation queued",
        )
        if created:
            st.success(f"Queued mitigation {created.name}.")
            common.job_link(created.job)


def result_view(insight: rai.InsightPublic) -> None:
    """A mitigation row opened from the list: its status, then its trade-off."""
    if common.status_line(insight):
        tradeoff_view(insight)


def _candidates(tradeoff: dict[str, Any]) -> list[dict[str, Any]]:
    candidates = [dict(c) for c in tradeoff.get("candidates") or []]
    for i, c in enumerate(candidates):
        c.setdefault("index", i)
    original = tradeoff.get("original")
    if original and not any(c["index"] == 0 for c in candidates):
        candidates.insert(0, {**original, "index": 0, "name": original.get("name", "original")})
    return candidates


def tradeoff_view(insight: rai.InsightPublic) -> None:
    tradeoff = widgets.load(rai_review.read_tradeoff, workspace=shell.current_workspace(), name=insight.name)
    if not tradeoff:
        return
    candidates = _candidates(tradeoff)
    if not candidates:
        st.info("The mitigation found no candidates.")
        return
    metric = tradeoff.get("disparity_metric") or tradeoff.get("constraint")
    st.plotly_chart(charts.tradeoff(candidates, metric), key=f"rai_tradeoff_{insight.name}")
    table = pd.DataFrame(
        [
            {
                "#": c["index"],
                "candidate": c.get("name") or ("original" if c["index"] == 0 else str(c["index"])),
                "accuracy": c.get("accuracy"),
                "disparity": c.get("disparity"),
                "demographic parity diff.": c.get("demographic_parity_difference"),
                "equalized odds diff.": c.get("equalized_odds_difference"),
            }
            for c in candidates
        ]
    )
    st.dataframe(table, hide_index=True, key=f"rai_tradeoff_table_{insight.name}")
    registrable = [c for c in candidates if c.get("path")]
    if not registrable:
        return
    st.markdown("**Register a candidate as a new version**")
    model_name = st.text_input("Model name", insight.model_name, key="rai_mit_model_name")
    for c in registrable:
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].markdown(
            f"#{c['index']} {c.get('name') or ''}: accuracy {common.number(c.get('accuracy'))}, "
            f"disparity {common.number(c.get('disparity'))}"
        )
        if cols[1].button("Register", key=f"rai_mit_register_{c['index']}", icon=":material/publish:"):
            created = widgets.load(
                rai_review.register_mitigated,
                workspace=shell.current_workspace(),
                name=insight.name,
                candidate=int(c["index"]),
                model_name=model_name.strip() or None,
                success="Registered",
            )
            if created:
                st.session_state["rai_mit_registered"] = (created.name, created.version)
    registered = st.session_state.get("rai_mit_registered")
    if registered:
        shell.page_link(
            "models.py",
            f"Registered {registered[0]}:{registered[1]}: open it",
            icon=":material/model_training:",
            name=registered[0],
            version=registered[1],
        )
