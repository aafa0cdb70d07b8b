"""A model version's Responsible AI section: its reviews (the newest is its standing decision), where it
came from when it is a mitigated version, and its insights, with a link to create new ones."""

from __future__ import annotations

import streamlit as st

from backend.services import rai, rai_review
from backend.services.model_registry import ModelPublic
from studio.ui import charts, shell, widgets

PAGE = "responsible_ai.py"


def responsible_ai(model: ModelPublic) -> None:
    reference = f"{model.name}:{model.version}"
    workspace = shell.current_workspace()
    lineage = rai_review.lineage_of(model)
    if lineage:
        st.markdown(
            f"**Mitigated** from `{lineage.get('mitigated_from')}` by {lineage.get('method', '?')} "
            f"for {lineage.get('constraint', '?')} by {lineage.get('sensitive_feature', '?')} "
            f"(candidate {lineage.get('candidate', '?')})"
        )
        source, _, version = str(lineage.get("mitigated_from") or "").rpartition(":")
        if source:
            shell.page_link(
                "models.py",
                f"Original {source}:{version}",
                ":material/model_training:",
                name=source,
                version=version,
            )
        if lineage.get("mitigation"):
            shell.page_link(
                PAGE, f"Mitigation {lineage['mitigation']}", ":material/balance:", name=lineage["mitigation"]
            )
    st.markdown("**Reviews**")
    reviews = widgets.load(rai_review.list_reviews, workspace=workspace, model=reference) or []
    if reviews:
        latest = reviews[0]
        st.markdown(
            f"Standing decision: **{latest.decision.replace('_', ' ')}** by {latest.reviewer} "
            f"on {latest.created_at:%Y-%m-%d}"
        )
        frame = widgets.frame_of(
            reviews,
            {
                "date": "created_at",
                "reviewer": "reviewer",
                "decision": lambda r: r.decision.replace("_", " "),
                "notes": "notes",
                "insights": lambda r: r.insight or "",
            },
        )
        st.dataframe(
            frame, hide_index=True, key="model_rai_reviews", column_config=widgets.datetime_columns("date")
        )
    else:
        st.caption("Not reviewed yet: record a review on the insights' Scorecard & review tab.")
    st.markdown("**Insights**")
    found = widgets.load(rai.list_insights, workspace=workspace, model=reference) or []
    for insight in found:
        shell.page_link(
            PAGE,
            f"{insight.kind}: {insight.title} · {charts.status_label(insight.status)}",
            ":material/balance:",
            name=insight.name,
        )
    if not found:
        st.caption("No Responsible AI insights of this version yet.")
    shell.page_link(PAGE, "New insights of this version", ":material/add:", model=reference)
