"""The Scorecard & review tab: targets in the cloud's ``pdf_generation_config`` shape queue a scorecard job;
a completed scorecard downloads as PDF and HTML; reviews (reviewer, decision, notes) are recorded with
the model version and listed here and on the model's page."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.services import rai, rai_review
from backend.statuses import JobStatus
from studio.ui import charts as studio_charts
from studio.ui import shell, widgets
from studio.ui.rai import common

CLASSIFICATION_METRICS = ("accuracy_score", "precision_score", "recall_score", "f1_score", "roc_auc_score")
REGRESSION_METRICS = ("mean_absolute_error", "mean_squared_error", "root_mean_squared_error", "r2_score")
FAIRNESS_METRICS = (
    "accuracy_score",
    "selection_rate",
    "false_positive_rate",
    "false_negative_rate",
    "demographic_parity_difference",
    "equalized_odds_difference",
)
OPS = (">=", "<=", ">", "<")
FILES = (("scorecard.pdf", "application/pdf", "PDF"), ("scorecard.html", "text/html", "HTML"))


def scorecard_tab(insight: rai.InsightPublic, found: dict[str, Any]) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### Scorecard")
        _form(insight, found)
        _scorecards(insight)
    with right:
        st.markdown("#### Review")
        review_form(insight)
        reviews_table(insight.model, key="rai_reviews_table")


def _form(insight: rai.InsightPublic, found: dict[str, Any]) -> None:
    regression = insight.task_type == "regression"
    metrics = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS
    with st.container(border=True):
        summary = st.text_area("Model summary", key="rai_sc_summary", height=68)
        targets = st.data_editor(
            pd.DataFrame(
                [
                    {"metric": m, "op": "<=" if regression else ">=", "threshold": 0.7 if i == 0 else None}
                    for i, m in enumerate(metrics)
                ]
            ),
            key="rai_sc_targets",
            hide_index=True,
            num_rows="dynamic",
            column_config={
                "metric": st.column_config.SelectboxColumn(options=list(metrics), required=True),
                "op": st.column_config.SelectboxColumn(options=list(OPS), required=True),
                "threshold": st.column_config.NumberColumn(help="empty: reported, no target"),
            },
        )
        sensitive = list(found.get("sensitive_features") or [])
        cols = st.columns(2)
        fair_metrics = cols[0].multiselect(
            "Fairness metrics", FAIRNESS_METRICS, default=["selection_rate"], key="rai_sc_fair_metrics"
        )
        features = cols[1].multiselect(
            "Sensitive features", sensitive, default=sensitive, key="rai_sc_features"
        )
        kind = cols[0].selectbox("Evaluation", ["difference", "ratio"], key="rai_sc_kind")
        limit = cols[1].text_input("Target", "<=0.2", key="rai_sc_threshold", help="e.g. <=0.1 (empty: none)")
        submitted = st.button("Create scorecard", type="primary", key="rai_sc_create")
    if not submitted:
        return
    config = scorecard_config(insight, summary, targets, fair_metrics, features, kind, limit)
    created = widgets.load(
        rai_review.create_scorecard,
        workspace=shell.current_workspace(),
        name=insight.name,
        config=config,
        success="Scorecard queued",
    )
    if created:
        st.success(f"Scorecard {created.name} queued.")


def scorecard_config(
    insight: rai.InsightPublic,
    summary: str,
    targets: pd.DataFrame,
    fair_metrics: list[str],
    features: list[str],
    kind: str,
    limit: str,
) -> dict[str, Any]:
    """The cloud's ``pdf_generation_config`` from the form."""
    metrics: dict[str, dict[str, str]] = {}
    for row in targets.to_dict("records"):
        if not row.get("metric"):
            continue
        threshold = row.get("threshold")
        known = threshold is not None and threshold == threshold
        metrics[row["metric"]] = {"threshold": f"{row.get('op') or '>='}{threshold:g}"} if known else {}
    config: dict[str, Any] = {
        "Model": {
            "ModelName": insight.model,
            "ModelType": insight.task_type,
            "ModelSummary": summary.strip(),
        },
        "Metrics": metrics,
    }
    if fair_metrics and features:
        config["Fairness"] = {
            "metric": fair_metrics,
            "sensitive_features": features,
            "fairness_evaluation_kind": kind,
            **({"threshold": limit.strip()} if limit.strip() else {}),
        }
    return config


def _scorecards(insight: rai.InsightPublic) -> None:
    found = widgets.load(
        rai.list_insights, workspace=shell.current_workspace(), model=insight.model, kind="scorecard"
    )
    mine = [s for s in found or [] if (s.config or {}).get("insights") == insight.name]
    if not mine:
        st.caption("No scorecards of these insights yet.")
        return
    for i, card in enumerate(mine):
        st.markdown(
            f"**{card.name}** · {studio_charts.status_label(card.status)} · {card.created:%Y-%m-%d %H:%M}"
        )
        downloads(card, key=f"rai_sc_{i}", status=False)


def downloads(card: rai.InsightPublic, *, key: str = "rai_sc", status: bool = True) -> None:
    """PDF and HTML download buttons once the scorecard job completed; its job link until then."""
    if status and not common.status_line(card):
        return
    if card.status != JobStatus.COMPLETED:
        common.job_link(card.job)
        return
    cols = st.columns(len(FILES))
    for col, (file, mime, label) in zip(cols, FILES, strict=True):
        data = widgets.load(
            rai.read_artifact_file, workspace=shell.current_workspace(), name=card.name, file=file
        )
        if data:
            col.download_button(
                f"Download {label}",
                data,
                file_name=f"{card.name}-{file}",
                mime=mime,
                key=f"{key}_{label.lower()}",
                icon=":material/download:",
            )


def review_form(insight: rai.InsightPublic) -> None:
    reviewer = st.text_input("Reviewer", key="rai_review_reviewer")
    decision = st.selectbox(
        "Decision", rai_review.DECISIONS, key="rai_review_decision", format_func=lambda d: d.replace("_", " ")
    )
    notes = st.text_area("Notes", key="rai_review_notes", height=100)
    submitted = st.button(
        "Record review", type="primary", key="rai_review_save", disabled=not reviewer.strip()
    )
    if submitted:
        review = dict(
            model=insight.model, reviewer=reviewer, decision=decision, notes=notes, insight=insight.name
        )
        widgets.load(
            rai_review.add_review, workspace=shell.current_workspace(), success="Review recorded", **review
        )


def reviews_table(model: str, *, key: str) -> None:
    """The reviews of a model version (``name:version``), newest first."""
    found = widgets.load(rai_review.list_reviews, workspace=shell.current_workspace(), model=model)
    if not found:
        st.caption("No reviews yet.")
        return
    latest = found[0]
    st.markdown(f"Standing decision: **{latest.decision.replace('_', ' ')}** by {latest.reviewer}")
    frame = widgets.frame_of(
        found,
        {
            "date": "created_at",
            "reviewer": "reviewer",
            "decision": lambda r: r.decision.replace("_", " "),
            "notes": "notes",
            "insights": lambda r: r.insight or "",
        },
    )
    st.dataframe(frame, hide_index=True, key=key, column_config=widgets.datetime_columns("date"))
