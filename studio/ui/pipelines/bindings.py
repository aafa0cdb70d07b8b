"""The composer's steps and what feeds each input of a step: a typed value, a data asset, a pipeline input,
an upstream step's output, or the component's default."""

from __future__ import annotations

import re

import streamlit as st

from backend.services import pipeline_composer, pipeline_views
from backend.services.pipeline_composer import ComposedInput, ComposedStep, PipelineInputField
from studio.ui import run_widgets, widgets

PRIMITIVES = pipeline_composer.PRIMITIVES
DATA_TYPES = pipeline_composer.DATA_TYPES
KIND_LABELS = {
    "default": "Default",
    "literal": "Value",
    "data": "Data asset",
    "pipeline_input": "Pipeline input",
    "step_output": "Upstream output",
}


def _step_name_for(component: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", component.split(":")[0]).strip("_") or "step"
    if base[0].isdigit():
        base = f"step_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def add_step(component: str) -> None:
    steps = st.session_state.setdefault("pc_steps", [])
    taken = {st.session_state.get(f"pc_name_{s['id']}", "") for s in steps}
    sid = run_widgets.next_id("pc_next_id")
    steps.append({"id": sid, "component": component})
    st.session_state[f"pc_name_{sid}"] = _step_name_for(component, taken)


def _short(value, limit: int = 18) -> str:
    text = pipeline_views.literal_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keep_valid(key: str, options: list) -> None:
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def pipeline_inputs_section(data_refs: list[str], data_labels: dict[str, str]) -> list[PipelineInputField]:
    st.markdown("**Pipeline inputs** (optional: values several steps can share)")
    ids = st.session_state.setdefault("pc_pins", [])
    fields = []
    for pid in list(ids):
        cols = st.columns([2, 1.5, 3, 0.5])
        name = cols[0].text_input("Name", key=f"pc_pin_name_{pid}", placeholder="learning_rate")
        kind = cols[1].selectbox("Type", [*PRIMITIVES, *DATA_TYPES[:3]], key=f"pc_pin_type_{pid}")
        if kind in DATA_TYPES:
            if data_refs:
                value = cols[2].selectbox(
                    "Data", data_refs, key=f"pc_pin_data_{pid}", format_func=lambda r: data_labels.get(r, r)
                )
            else:
                value = cols[2].text_input(
                    "Data URI", key=f"pc_pin_uri_{pid}", placeholder="azureml://datastores/<ds>/paths/<path>"
                )
        else:
            value = widgets.literal_widget("Value", {"type": kind}, f"pc_pin_val_{pid}_{kind}", where=cols[2])
        if cols[3].button("✕", key=f"pc_pin_remove_{pid}", help="Remove this pipeline input"):
            ids.remove(pid)
            st.rerun()
        fields.append(PipelineInputField(name=name.strip(), type=kind, value=value))
    if st.button("Add pipeline input", key="pc_pin_add", icon=":material/add:"):
        ids.append(run_widgets.next_id("pc_next_id"))
        st.rerun()
    return fields


def _input_binding(
    sid: int,
    port_name: str,
    port: dict,
    earlier: list[tuple[str, str]],
    names: dict[int, str],
    pipeline_inputs: list[PipelineInputField],
    data_refs: list[str],
    data_labels: dict[str, str],
) -> ComposedInput:
    is_data = port.get("type") in DATA_TYPES
    has_default = port.get("default") is not None
    declared = [p.name for p in pipeline_inputs if p.name and ((p.type in DATA_TYPES) == is_data)]
    kinds = []
    if has_default or port.get("optional"):
        kinds.append("default")
    if is_data:
        if earlier:
            kinds.append("step_output")
        kinds.append("data")
    else:
        kinds.append("literal")
    if declared:
        kinds.append("pipeline_input")
    kind_key = f"pc_kind_{sid}_{port_name}"
    _keep_valid(kind_key, kinds)
    preferred = "step_output" if "step_output" in kinds else ("default" if has_default else kinds[0])

    def _kind_label(k: str) -> str:
        if k == "default":
            return f"Default: {_short(port['default'])}" if has_default else "Not set (optional)"
        return KIND_LABELS[k]

    cols = st.columns([1.5, 1.9, 2.6])
    widgets.port_label(cols[0], port_name, port)
    kind = cols[1].selectbox(
        "Source",
        kinds,
        index=kinds.index(preferred),
        key=kind_key,
        format_func=_kind_label,
        label_visibility="collapsed",
    )
    if kind == "literal":
        value = widgets.literal_widget("Value", port, f"pc_val_{sid}_{port_name}", where=cols[2])
        return ComposedInput(kind="literal", value=value)
    if kind == "data":
        if not data_refs:
            cols[2].caption("No data assets yet: register one on the Data page.")
            return ComposedInput(kind="data", value="", type=port.get("type"))
        key = f"pc_data_{sid}_{port_name}"
        _keep_valid(key, data_refs)
        value = cols[2].selectbox(
            "Data asset",
            data_refs,
            key=key,
            format_func=lambda r: data_labels.get(r, r),
            label_visibility="collapsed",
        )
        return ComposedInput(kind="data", value=value, type=port.get("type"))
    if kind == "pipeline_input":
        key = f"pc_pin_{sid}_{port_name}"
        _keep_valid(key, declared)
        value = cols[2].selectbox("Pipeline input", declared, key=key, label_visibility="collapsed")
        return ComposedInput(kind="pipeline_input", value=value)
    if kind == "step_output":
        options = [f"{step_id}:{out}" for step_id, out in earlier]
        key = f"pc_src_{sid}_{port_name}"
        _keep_valid(key, options)

        def _label(option: str) -> str:
            step_id, _, out = option.partition(":")
            return f"{names.get(int(step_id), '?')}.outputs.{out}"

        value = cols[2].selectbox(
            "Output",
            options,
            index=len(options) - 1,
            key=key,
            format_func=_label,
            label_visibility="collapsed",
        )
        step_id, _, out = value.partition(":")
        return ComposedInput(kind="step_output", value=f"{names.get(int(step_id), '')}.{out}")
    return ComposedInput(kind="default")


def steps_section(components: dict, pipeline_inputs, data_refs, data_labels) -> list[ComposedStep]:
    st.markdown("**Steps**")
    steps = st.session_state.setdefault("pc_steps", [])
    names = {s["id"]: st.session_state.get(f"pc_name_{s['id']}", "").strip() for s in steps}
    composed, earlier = [], []
    for index, entry in enumerate(list(steps)):
        sid, reference = entry["id"], entry["component"]
        component = components.get(reference)
        with st.container(border=True):
            cols = st.columns([2.4, 3, 0.6])
            cols[0].text_input("Step name", key=f"pc_name_{sid}")
            cols[1].markdown(f"**{index + 1}.** component `{reference}`")
            if component is not None and component.description:
                cols[1].caption(component.description)
            if cols[2].button("✕", key=f"pc_remove_{sid}", help="Remove this step"):
                steps.remove(entry)
                st.rerun()
            if component is None:
                st.error(f"Component {reference} is not registered (or was archived); remove this step.")
                continue
            inputs = {
                port_name: _input_binding(
                    sid, port_name, port, earlier, names, pipeline_inputs, data_refs, data_labels
                )
                for port_name, port in (component.spec.get("inputs") or {}).items()
            }
            outputs = list(component.spec.get("outputs") or {})
            promote = {}
            if outputs:
                published = st.multiselect(
                    "Publish as pipeline outputs",
                    outputs,
                    key=f"pc_pub_{sid}",
                    help="Each chosen output becomes a pipeline output named <step>_<output>.",
                )
                promote = {out: f"{names[sid]}_{out}" for out in published}
            else:
                st.caption("This component has no outputs.")
        composed.append(ComposedStep(name=names[sid], component=reference, inputs=inputs, promote=promote))
        earlier += [(sid, out) for out in outputs]
    return composed
