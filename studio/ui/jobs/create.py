"""The Create job form (also a clone of a job): code, command, environment, compute, inputs, outputs,
and the YAML it submits."""

from __future__ import annotations

import streamlit as st

from backend.services import ValidationError, job_forms
from studio.ui import run_widgets
from studio.ui.jobs import go


def _kv_lines(text: str) -> dict[str, str]:
    return {
        k.strip(): v.strip()
        for k, _, v in (line.partition("=") for line in text.splitlines() if line.strip())
    }


def _kv_text(values: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in values.items())


def _prefill(form: job_forms.JobForm) -> None:
    """Put a form (from a cloned job) into the widgets' state, once."""
    state = st.session_state
    state["jf_name"] = ""
    state["jf_display"] = form.display_name
    state["jf_experiment"] = form.experiment_name
    state["jf_description"] = form.description
    state["jf_command"] = form.command
    state["jf_env"] = form.environment
    state["jf_compute"] = form.compute
    state["jf_code_source"] = "snapshot" if form.code else "none"
    state["jf_code_uri"] = form.code
    state["jf_envvars"] = _kv_text(form.environment_variables)
    state["jf_tags"] = _kv_text(form.tags)
    state["jf_timeout"] = int(form.timeout or 0)
    state["jf_inputs"] = list(range(len(form.inputs)))
    for i, item in enumerate(form.inputs):
        state[f"jf_in_name_{i}"] = item.name
        state[f"jf_in_kind_{i}"] = item.kind
        if item.kind == "literal":
            state[f"jf_in_value_{i}"] = item.value
        else:
            state[f"jf_in_data_{i}"] = item.value
            state[f"jf_in_type_{i}"] = item.type
            state[f"jf_in_mode_{i}"] = item.mode
    state["jf_outputs"] = list(range(len(form.outputs)))
    for i, item in enumerate(form.outputs):
        state[f"jf_out_name_{i}"] = item.name
        state[f"jf_out_type_{i}"] = item.type
        state[f"jf_out_mode_{i}"] = item.mode
        state[f"jf_out_asset_{i}"] = item.asset_name
        state[f"jf_out_version_{i}"] = item.asset_version
        state[f"jf_out_path_{i}"] = item.path
    state["jf_next_id"] = max(len(form.inputs), len(form.outputs))


EXAMPLE = "python train.py --lr ${{inputs.learning_rate}} --out ${{outputs.model}}"
HINT = "${{inputs.<name>}} and ${{outputs.<name>}} become values and paths; $[[ ]] marks an optional part"
CODE_SOURCES = {
    "files": "Upload files",
    "folder": "Upload a folder",
    "datastore": "Folder on workspaceworkingdirectory",
    "snapshot": "Code of the cloned job",
    "none": "No code",
}


def _code_section(form_choices: dict) -> tuple[str, list]:
    """The code fields; returns the code URI (or "") and the uploaded files."""
    sources = [k for k in CODE_SOURCES if k != "snapshot" or st.session_state.get("jf_code_uri")]
    if st.session_state.get("jf_code_source") not in sources:
        st.session_state["jf_code_source"] = "files"
    source = st.radio("Code", sources, format_func=CODE_SOURCES.get, key="jf_code_source", horizontal=True)
    if source == "files":
        files = st.file_uploader(
            "Code files", accept_multiple_files=True, key="jf_files", help="The job's working directory"
        )
        return "", list(files or [])
    if source == "folder":
        files = st.file_uploader("Code folder", accept_multiple_files="directory", key="jf_folder")
        return "", list(files or [])
    if source == "datastore":
        folders = form_choices["folders"]
        if not folders:
            st.caption(
                "The workspaceworkingdirectory datastore has no folders yet: upload one on the "
                "Datastores page, or upload files here."
            )
            return "", []
        folder = st.selectbox("Folder", folders, key="jf_code_folder")
        return job_forms.code_folder_uri(folder), []
    if source == "snapshot":
        st.caption(f"`{st.session_state['jf_code_uri']}`")
        return st.session_state["jf_code_uri"], []
    return "", []


def _input_rows(data_choices: list) -> list[job_forms.InputField]:
    st.markdown("**Inputs**")
    ids = st.session_state.setdefault("jf_inputs", [])
    data_refs = [c.reference for c in data_choices]
    data_types = {c.reference: c.type for c in data_choices}
    labels = {c.reference: c.label for c in data_choices}
    fields = []
    for row in list(ids):
        cols = st.columns([2, 1.7, 3.2, 1.5, 0.6], vertical_alignment="bottom")
        name = cols[0].text_input("Name", key=f"jf_in_name_{row}", placeholder="learning_rate")
        kind = cols[1].selectbox(
            "Kind",
            ["literal", "data"],
            key=f"jf_in_kind_{row}",
            format_func={"literal": "Value", "data": "Data asset"}.get,
        )
        if kind == "literal":
            value = cols[2].text_input("Value", key=f"jf_in_value_{row}", placeholder="0.01")
            field = job_forms.InputField(name=name.strip(), kind="literal", value=value)
        else:
            current = st.session_state.get(f"jf_in_data_{row}")
            options = data_refs + ([current] if current and current not in data_refs else [])
            value = ""
            if options:
                value = cols[2].selectbox(
                    "Data", options, key=f"jf_in_data_{row}", format_func=lambda r: labels.get(r, r)
                )
            else:
                cols[2].caption("No data assets registered yet: register one on the Data page.")
            mode = cols[3].selectbox("Mode", job_forms.INPUT_MODES, key=f"jf_in_mode_{row}")
            kind_of = data_types.get(value) or st.session_state.get(f"jf_in_type_{row}") or "uri_folder"
            field = job_forms.InputField(
                name=name.strip(), kind="data", value=value or "", type=kind_of, mode=mode
            )
        if cols[4].button("", icon=":material/close:", key=f"jf_in_remove_{row}", help="Remove this input"):
            ids.remove(row)
            st.rerun()
        fields.append(field)
    if st.button("Add input", key="jf_in_add", icon=":material/add:"):
        ids.append(run_widgets.next_id("jf_next_id"))
        st.rerun()
    return fields


def _output_rows() -> list[job_forms.OutputField]:
    st.markdown("**Outputs**")
    ids = st.session_state.setdefault("jf_outputs", [])
    fields = []
    for row in list(ids):
        cols = st.columns([2, 1.5, 1.5, 2, 1.2, 0.6], vertical_alignment="bottom")
        name = cols[0].text_input("Name", key=f"jf_out_name_{row}", placeholder="model")
        kind = cols[1].selectbox("Type", job_forms.DATA_TYPES, key=f"jf_out_type_{row}")
        mode = cols[2].selectbox("Mode", job_forms.OUTPUT_MODES, key=f"jf_out_mode_{row}")
        asset = cols[3].text_input(
            "Register as (data asset)", key=f"jf_out_asset_{row}", placeholder="optional asset name"
        )
        version = cols[4].text_input("Version", key=f"jf_out_version_{row}", placeholder="next")
        if cols[5].button("", icon=":material/close:", key=f"jf_out_remove_{row}", help="Remove this output"):
            ids.remove(row)
            st.rerun()
        fields.append(
            job_forms.OutputField(
                name=name.strip(),
                type=kind,
                mode=mode,
                asset_name=asset,
                asset_version=version,
                path=st.session_state.get(f"jf_out_path_{row}", ""),
            )
        )
    if st.button("Add output", key="jf_out_add", icon=":material/add:"):
        ids.append(run_widgets.next_id("jf_next_id"))
        st.rerun()
    return fields


def _details() -> dict:
    """The optional fields: names, description, tags, environment variables and timeout."""
    fields = run_widgets.name_fields(
        "jf_", noun="Job", experiment_placeholder="the code folder's name, else Default"
    )
    cols = st.columns(2)
    envvars = cols[0].text_area("Environment variables (KEY=value per line)", key="jf_envvars")
    tags = cols[1].text_area("Tags (key=value per line)", key="jf_tags")
    timeout = st.number_input("Timeout (seconds, 0: none)", min_value=0, step=60, key="jf_timeout")
    return fields | {
        "environment_variables": _kv_lines(envvars),
        "tags": _kv_lines(tags),
        "timeout": int(timeout) or None,
    }


def create_view(clone: str | None) -> None:
    if st.button("← All jobs", key="jf_back"):
        go()
    st.header(f"Clone {clone}" if clone else "Create job")
    if clone and st.session_state.get("jf_prefilled") != clone:
        form = run_widgets.call(job_forms.form_from_job, name=clone)
        if form is None:
            return
        _prefill(form)
        st.session_state["jf_prefilled"] = clone

    def _choices(session, workspace):
        return {
            "envs": job_forms.environment_choices(session=session, workspace=workspace),
            "computes": run_widgets.compute_names(session),
            "data": job_forms.data_choices(session=session, workspace=workspace),
            "folders": job_forms.code_folders(session=session, workspace=workspace),
        }

    choices = run_widgets.call(_choices)
    if choices is None:
        return
    left, right = st.columns([3, 2])
    with left:
        code_uri, files = _code_section(choices)
        command = st.text_area("Command", key="jf_command", height=90, placeholder=EXAMPLE, help=HINT)
        cols = st.columns(2)
        environment = run_widgets.environment_select(choices["envs"], key="jf_env", notes=True, where=cols[0])
        compute = run_widgets.compute_select(choices["computes"], key="jf_compute", where=cols[1])
        inputs = _input_rows(choices["data"])
        outputs = _output_rows()
        with st.expander("Name, experiment, description, tags, environment variables, timeout"):
            details = _details()
    form = job_forms.JobForm(
        **details,
        command=command,
        environment=environment or "",
        compute=compute,
        code=code_uri,
        inputs=inputs,
        outputs=outputs,
    )
    uploaded = [f.name for f in files]
    with right:
        st.markdown("**The job YAML that will be submitted**")
        try:
            st.code(job_forms.form_yaml(form, uploaded=uploaded), language="yaml", wrap_lines=True)
        except ValidationError:  # an unusable upload name: the check below says which
            pass
        if uploaded:
            st.caption(f"code: {run_widgets.plural(len(uploaded), 'uploaded file')}, snapshot on submit")
    submitted = st.button("Submit", type="primary", key="jf_submit", icon=":material/play_arrow:")
    problem = None
    try:
        job_forms.validate_form(form, uploaded=uploaded)
    except ValidationError as exc:
        problem = str(exc)
    if problem and (submitted or command.strip()):
        st.error(problem, icon="⚠️")
        return
    if submitted and not problem:
        job = run_widgets.submit(
            job_forms.submit_job_form,
            success="Job submitted",
            prefix="jf_",
            form=form,
            files=[(f.name, f.getvalue()) for f in files],
        )
        if job:
            go(job=job.name)
