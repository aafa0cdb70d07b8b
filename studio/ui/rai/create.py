"""The "New insights" form: a model version, test (and train) data, the columns' roles and the parts'
settings; it queues the insight job (``rai.create_insights``) and links to it."""

from __future__ import annotations

import streamlit as st

from backend.services import data_assets, models, rai
from studio.ui import shell, widgets
from studio.ui.rai import common

NONE = "(none)"
DEFAULT_PARTS = [p for p in rai.PARTS if p != "causal"]  # causal needs treatment features


def _split(reference: str | None) -> tuple[str | None, str | None]:
    if not reference:
        return None, None
    name, _, version = reference.removeprefix("azureml:").partition(":")
    return name, version or None


def _model_inputs(prefill: str | None) -> str | None:
    workspace = shell.current_workspace()
    names = [m.name for m in widgets.load(models.list_models, workspace=workspace) or []]
    if not names:
        st.info("No models registered yet: register one on the Models page first.")
        return None
    wanted, wanted_version = _split(prefill)
    left, right = st.columns([3, 1])
    name = left.selectbox(
        "Model", names, index=names.index(wanted) if wanted in names else 0, key="rai_new_model"
    )
    versions = [
        v.version for v in widgets.load(models.list_model_versions, workspace=workspace, name=name) or []
    ]
    if not versions:
        return None
    start = versions.index(wanted_version) if name == wanted and wanted_version in versions else 0
    version = right.selectbox("Version", versions, index=start, key="rai_new_version")
    return f"{name}:{version}"


def _columns(reference: str) -> list[str]:
    name, version = _split(reference)
    preview = widgets.load(
        data_assets.preview_data, workspace=shell.current_workspace(), name=name, version=version, rows=5
    )
    return [str(c) for c in preview.frame.columns] if preview is not None else []


def create_form(prefill: str | None) -> None:
    model = _model_inputs(prefill)
    assets = widgets.load(data_assets.list_data_assets, workspace=shell.current_workspace()) or []
    choices = [f"{a.name}:{a.latest_version}" for a in assets]
    if not choices:
        st.info("No data assets yet: register the test data on the Data page first.")
        return
    left, right = st.columns(2)
    test = left.selectbox("Test data", choices, key="rai_new_test")
    train = right.selectbox("Train data (optional)", [NONE, *choices], key="rai_new_train")
    columns = _columns(test) if test else []
    cols = st.columns([2, 1])
    if columns:
        target = cols[0].selectbox("Target column", columns, index=len(columns) - 1, key="rai_new_target")
    else:
        target = cols[0].text_input("Target column", key="rai_new_target_text")
    task = cols[1].radio("Task", ["classification", "regression"], horizontal=True, key="rai_new_task")
    others = [c for c in columns if c != target]
    left, right = st.columns(2)
    categorical = left.multiselect("Categorical features", others, key="rai_new_categorical")
    sensitive = right.multiselect("Sensitive features", others, key="rai_new_sensitive")
    treatment = left.multiselect(
        "Treatment features (causal analysis)", others, key="rai_new_treatment", help="empty: no causal part"
    )
    parts = right.multiselect("Parts", rai.PARTS, default=DEFAULT_PARTS, key="rai_new_parts")
    with st.expander("Error analysis settings"):
        c = st.columns(3)
        depth = c[0].number_input("Max depth", 1, 10, 3, key="rai_new_depth")
        leaves = c[1].number_input("Leaves", 2, 255, 31, key="rai_new_leaves")
        minimum = c[2].number_input("Min rows a leaf", 1, 100_000, 20, key="rai_new_min_rows")
        filters = st.multiselect("Features to split on (empty: all)", others, key="rai_new_filter_features")
        heatmap = st.multiselect(
            "Heat map features (at most two; empty: the tree's first splits)",
            others,
            max_selections=2,
            key="rai_new_heatmap",
        )
    if treatment and "causal" not in parts:
        parts = [*parts, "causal"]
    ready = bool(model and test and target and parts)
    if not st.button("Create insights", type="primary", key="rai_new_create", disabled=not ready):
        return
    try:
        request = rai.InsightRequest(
            model=model,
            test_data=test,
            train_data=None if train == NONE else train,
            target_column=target,
            task_type=task,
            categorical_features=categorical,
            sensitive_features=sensitive,
            parts=parts,
            error_analysis=rai.ErrorAnalysisSettings(
                max_depth=int(depth),
                num_leaves=int(leaves),
                min_child_samples=int(minimum),
                filter_features=filters,
                heatmap_features=heatmap,
            ),
            causal=rai.CausalSettings(treatment_features=treatment),
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError: one line, not a traceback
        st.error(str(exc).splitlines()[-1] if str(exc) else "invalid request", icon="⚠️")
        return
    created = widgets.load(
        rai.create_insights, workspace=shell.current_workspace(), request=request, success="Insights queued"
    )
    if created:
        st.success(f"Queued insights {created.name}: the job computes them.")
        common.insight_link(created.name, f"Open insights {created.name}")
        common.job_link(created.job)
