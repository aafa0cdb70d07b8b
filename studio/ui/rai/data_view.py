"""The Data tab (a feature's distribution, and split by the target and by the prediction) and the What-if
tab (edit a stored row, ask the model, compare with the original prediction)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from backend.services import rai, rai_review
from studio.ui import shell, widgets
from studio.ui.rai import charts, common

MAX_ROW_CHOICES = 2000
MAX_CATEGORIES = 50


def data_tab(view: dict[str, Any], found: dict[str, Any], selected: pd.DataFrame) -> None:
    part = view.get("data_analysis") or {}
    columns = part.get("columns") or {}
    names = list(columns) or [c for c in found.get("features") or [] if c in selected.columns]
    if not names:
        st.info("These insights have no data analysis.")
        return
    target = found.get("target_column")
    left, right = st.columns([2, 3])
    feature = left.selectbox("Feature", names, key="rai_data_feature")
    split = right.segmented_control(
        "Split by",
        ["target", "prediction"],
        default="target",
        key="rai_data_split",
        required=True,
        format_func=lambda s: f"target ({target})" if s == "target" else "prediction",
    )
    summary = columns.get(feature) or {}
    tiles = [("rows", summary.get("count")), ("missing", summary.get("missing"))]
    if summary.get("kind") == "numeric":
        tiles += [(k, summary.get(k)) for k in ("mean", "std", "min", "max")]
    cols = st.columns(len(tiles))
    for col, (key, value) in zip(cols, tiles, strict=True):
        col.metric(key, common.number(value))
    by = target if split == "target" else "_y_pred"
    if feature in selected.columns and by in selected.columns and len(selected):
        frame = selected[[feature, by]].rename(columns={"_y_pred": "prediction"})
        categorical = summary.get("kind") == "categorical" or feature in (
            found.get("categorical_features") or []
        )
        st.plotly_chart(
            charts.distribution(
                frame, feature, "prediction" if by == "_y_pred" else by, categorical=categorical
            ),
            key="rai_data_distribution",
        )
    left, right = st.columns(2)
    for where, key, title in ((left, "target", f"Target ({target})"), (right, "prediction", "Predictions")):
        dist = part.get(key) or {}
        if dist.get("counts"):
            where.markdown(f"**{title}**")
            where.bar_chart(pd.Series(dist["counts"], name="rows"), height=220)


def _row_choice(selected: pd.DataFrame) -> int | None:
    positions = list(selected.index[:MAX_ROW_CHOICES])
    if not positions:
        st.info("The cohort holds no rows.")
        return None
    return st.selectbox(
        "Row of the test data",
        positions,
        key="rai_wi_row",
        help="Rows of the chosen cohort (the first 2,000)",
    )


def what_if_tab(insight: rai.InsightPublic, found: dict[str, Any], selected: pd.DataFrame) -> None:
    features = [f for f in found.get("features") or [] if f in selected.columns]
    if not features:
        st.info("The stored rows have no feature columns to edit.")
        return
    position = _row_choice(selected)
    if position is None:
        return
    original = selected.loc[position]
    target = found.get("target_column")
    probability = (
        f", P({found.get('positive_label')}) {original['_proba']:.3f}" if "_proba" in original.index else ""
    )
    st.markdown(
        f"Row {position}: predicted **{_plain(original.get('_y_pred'))}**{probability}, "
        f"actual {target} **{_plain(original.get(target))}**"
    )
    st.caption("Edit the values, then press Predict: the model answers from a sandboxed process.")
    edited = {}
    cols = st.columns(4)
    for i, feature in enumerate(features):
        edited[feature] = _input(cols[i % 4], feature, original[feature], selected[feature], position)
    extra = {
        c: _plain(original[c])
        for c in found.get("sensitive_features") or []
        if c in selected.columns and c not in edited
    }
    asked = repr((insight.name, position, sorted(edited.items())))
    if st.button("Predict", key="rai_wi_predict", type="primary", icon=":material/play_arrow:"):
        answer = widgets.load(
            rai_review.what_if,
            workspace=shell.current_workspace(),
            name=insight.name,
            rows=[{**edited, **extra}],
        )
        st.session_state["rai_wi_answer"] = (asked, answer)
    last = st.session_state.get("rai_wi_answer")
    if last and last[0] == asked and last[1]:  # the answer stays until a value changes
        _show_answer(last[1], original, found)


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def _input(where, feature: str, value: Any, column: pd.Series, position: int) -> Any:
    key = f"rai_wi_{feature}_{position}"  # a new row starts from its own values
    value = _plain(value)
    numeric = pd.api.types.is_numeric_dtype(column) and column.dtype != bool
    if not numeric:
        choices = sorted(column.dropna().astype(str).unique().tolist())[:MAX_CATEGORIES]
        if value is not None and str(value) not in choices:
            choices.append(str(value))
        return where.selectbox(
            feature, choices, index=choices.index(str(value)) if value is not None else 0, key=key
        )
    if pd.api.types.is_integer_dtype(column):
        return int(where.number_input(feature, value=int(value or 0), step=1, key=key))
    return float(where.number_input(feature, value=float(value or 0.0), key=key, format="%g"))


def _positive_probability(answer: dict[str, Any], found: dict[str, Any]) -> float | None:
    probabilities = answer.get("probabilities")
    if not probabilities:
        return None
    first = probabilities[0]
    if not isinstance(first, list):
        return float(first) if common.finite(first) else None
    classes = answer.get("classes") or found.get("classes") or []
    positive = found.get("positive_label")
    if positive in classes:
        return first[classes.index(positive)]
    return first[-1] if first else None


def _show_answer(answer: dict[str, Any], original: pd.Series, found: dict[str, Any]) -> None:
    predictions = answer.get("predictions") or []
    prediction = predictions[0] if predictions else None
    before = _plain(original.get("_y_pred"))
    left, middle, right = st.columns(3)
    changed = prediction != before and str(prediction) != str(before)
    left.metric(
        "Prediction",
        str(prediction),
        f"was {before}" + (" (changed)" if changed else ""),
        delta_color="inverse" if changed else "off",
        border=True,
    )
    probability = _positive_probability(answer, found)
    was = _plain(original.get("_proba")) if "_proba" in original.index else None
    if probability is not None:
        middle.metric(
            f"P({found.get('positive_label')})",
            f"{probability:.3f}",
            f"{probability - was:+.3f}" if common.finite(was) else None,
            border=True,
        )
    right.metric("Actual", str(_plain(original.get(found.get("target_column")))), border=True)
