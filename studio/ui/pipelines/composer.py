"""The pipeline composer: settings, pipeline inputs, steps from registered components, and the pipeline
YAML it submits."""

from __future__ import annotations

import streamlit as st

from backend.services import NotFoundError, component_forms, job_forms, pipeline_composer
from backend.services.pipeline_composer import ComposedPipeline
from studio.ui import run_widgets, shell
from studio.ui.pipelines import go
from studio.ui.pipelines.bindings import add_step, pipeline_inputs_section, steps_section


def _choices(session, workspace: str, *, seed: str | None) -> dict:
    """The registered components (and those the composed steps or ``seed`` name), computes and data."""
    refs = component_forms.component_references(session=session, workspace=workspace)
    wanted = (
        set(refs)
        | {e["component"] for e in st.session_state.get("pc_steps", [])}
        | ({seed} if seed else set())
    )
    found = {}
    for ref in wanted:
        try:
            found[ref] = component_forms.get_component_ref(
                session=session, workspace=workspace, reference=ref
            )
        except NotFoundError:
            continue
    return {
        "refs": refs,
        "components": found,
        "computes": run_widgets.compute_names(session),
        "data": job_forms.data_choices(session=session, workspace=workspace),
    }


def _settings(computes: list[str]) -> dict:
    names = run_widgets.name_fields("pc_")
    compute = run_widgets.compute_select(computes, key="pc_compute", label="Default compute")
    keep_going = st.checkbox(
        "Continue on step failure",
        key="pc_continue",
        help="Independent branches keep running when a step fails.",
    )
    force = st.checkbox(
        "Force rerun",
        key="pc_force",
        help="Run every step even when an identical earlier step could be reused.",
    )
    return names | {
        "default_compute": compute or "serverless",
        "continue_on_step_failure": keep_going,
        "force_rerun": force,
    }


def composer(seed: str | None) -> None:
    if st.button("← All pipelines", key="pc_back"):
        go()
    st.header("Compose a pipeline")

    choices = run_widgets.call(_choices, seed=seed)
    if choices is None:
        return
    if seed and st.session_state.get("pc_seeded") != seed:
        st.session_state["pc_seeded"] = seed
        if seed in choices["components"]:
            add_step(seed)
        else:
            st.warning(f"Component {seed} is not registered in workspace {shell.current_workspace()}.")
    if not choices["refs"] and not st.session_state.get("pc_steps"):
        st.info("No components are registered in this workspace yet: register one on the Components page.")
        run_widgets.link("components.py", "Components", icon=":material/widgets:")
        return
    data_refs = [c.reference for c in choices["data"]]
    data_labels = {c.reference: c.label for c in choices["data"]}
    left, right = st.columns([3, 2])
    with left:
        with st.expander("Settings: name, experiment, compute, failure handling, reuse", expanded=False):
            settings = _settings(choices["computes"])
        pipeline_inputs = pipeline_inputs_section(data_refs, data_labels)
        steps = steps_section(choices["components"], pipeline_inputs, data_refs, data_labels)
        cols = st.columns([3, 1])
        refs = choices["refs"]
        if refs:
            pick = cols[0].selectbox("Component to add", refs, key="pc_add_component")
            cols[1].markdown("&nbsp;")
            if cols[1].button("Add step", key="pc_add", icon=":material/add:", type="secondary"):
                add_step(pick)
                st.rerun()
    pipeline = ComposedPipeline(**settings, inputs=pipeline_inputs, steps=steps)
    problems = pipeline_composer.check_composed(pipeline)
    with right:
        st.markdown("**The pipeline YAML that will be submitted**")
        st.code(pipeline_composer.compose_pipeline_yaml(pipeline), language="yaml", wrap_lines=True)
        for problem in problems:
            st.caption(f"⚠️ {problem}")
        submitted = st.button(
            "Submit", type="primary", key="pc_submit", icon=":material/play_arrow:", disabled=bool(problems)
        )
    if submitted:
        job = run_widgets.submit(
            pipeline_composer.submit_composed, success="Pipeline submitted", prefix="pc_", pipeline=pipeline
        )
        if job:
            go(pipeline=job.name)
