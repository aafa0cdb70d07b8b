"""Components: list, register (uploaded YAML + code, or a YAML on the working-directory datastore),
inspect a version (interface, YAML, versions), archive/restore, run it as a job, or start a pipeline with it.

Deep link: ``?name=<component>&version=<version>``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from backend.services import (
    component_forms,
    components,
    job_forms,
    open_session,
    pipeline_composer,
)
from backend.services import compute as compute_service
from backend.services.pipeline_composer import ComposedInput
from studio.ui import shell, widgets

workspace = shell.current_workspace()
DATA_TYPES = pipeline_composer.DATA_TYPES
EXAMPLE = """$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: train
version: 1
inputs:
  epochs: {type: integer, default: 10, min: 1, max: 100}
  data: {type: uri_folder}
outputs:
  model: {type: uri_folder}
code: ./src
environment: azureml:AzureML-sklearn-1.5@latest
command: python train.py --epochs ${{inputs.epochs}} --data ${{inputs.data}} --out ${{outputs.model}}
"""


def _link(page: str, label: str, icon: str | None = None, **params: str) -> None:
    """A link to another page; a plain link when that page is not in the navigation."""
    try:
        shell.page_link(page, label, icon=icon, **params)
    except StreamlitPageNotFoundError:
        query = "&".join(f"{k}={v}" for k, v in {"ws": workspace, **params}.items())
        st.markdown(f"[{label}]({page.removesuffix('.py')}?{query})")


# ============================================================================================== listing


def listing() -> None:
    show_archived = st.toggle("Show archived", key="comp_show_archived")
    rows = widgets.load(components.list_components, workspace=workspace, include_archived=show_archived) or []
    if rows:
        frame = widgets.frame_of(
            rows,
            {
                "name": "name",
                "display name": "display_name",
                "latest version": "latest_version",
                "versions": "versions",
                "description": "description",
                "updated": "updated_at",
            },
        )
        frame["updated"] = pd.to_datetime(frame["updated"], utc=True)
        widgets.pick_and_open(frame, key="comp_table", version="latest version", dates=["updated"])
        st.caption(f"{len(rows)} component(s) in workspace {workspace}; select a row to open it.")
    else:
        st.info(
            "No components in this workspace yet. A component is a reusable command with typed inputs and "
            "outputs: register one below, or with `studio component create --file component.yml`."
        )
    _register_form(expanded=not rows)


def _register_form(*, expanded: bool) -> None:
    with st.expander("Register a component", expanded=expanded):
        source = st.radio(
            "From",
            ["upload", "datastore"],
            format_func={
                "upload": "Upload the YAML (and its code)",
                "datastore": "A YAML on workspaceworkingdirectory",
            }.get,
            horizontal=True,
            key="comp_reg_source",
        )
        if source == "upload":
            yaml_file = st.file_uploader("Component YAML", type=["yml", "yaml"], key="comp_reg_yaml")
            files = st.file_uploader(
                "Code files",
                accept_multiple_files=True,
                key="comp_reg_files",
                help="The files of the YAML's `code:` folder (loose files go into that folder).",
            )
            st.caption("A command component YAML, as the cloud's CLI v2 reads it:")
            st.code(EXAMPLE, language="yaml")
            if st.button("Register", type="primary", key="comp_reg_upload", disabled=yaml_file is None):
                _opened(
                    widgets.load(
                        component_forms.register_uploaded_component,
                        workspace=workspace,
                        yaml_name=yaml_file.name,
                        yaml_bytes=yaml_file.getvalue(),
                        files=[(f.name, f.getvalue()) for f in files or []],
                        success="Component registered",
                    )
                )
            return

        paths = widgets.load(component_forms.component_yaml_files, workspace=workspace)
        if paths is None:
            return
        if not paths:
            st.caption(
                "No YAML files on the workspaceworkingdirectory datastore yet: upload a folder with a component "
                "YAML and its code on the Datastores page."
            )
            return
        path = st.selectbox("Component YAML", paths, key="comp_reg_path")
        if st.button("Register", type="primary", key="comp_reg_ds"):
            _opened(
                widgets.load(
                    component_forms.register_component_from_datastore,
                    workspace=workspace,
                    path=path,
                    success="Component registered",
                )
            )


def _opened(created) -> None:
    """Open the component version just registered (nothing when registering failed)."""
    if created:
        widgets.open_object(created.name, created.version)


# =============================================================================================== detail


def detail(name: str, version: str | None) -> None:
    widgets.back_button("← All components", key="comp_back")

    loaded = widgets.load_together(
        lambda s: components.list_component_versions(session=s, workspace=workspace, name=name),
        lambda s: components.get_component(session=s, workspace=workspace, name=name, version=version),
    )
    if not loaded:
        return
    versions, component = loaded
    st.header(f"{component.name}:{component.version}")
    st.caption(
        f"{component.display_name} · registered {component.created_at:%Y-%m-%d %H:%M} UTC · "
        + (
            "deterministic (pipeline steps may reuse earlier results)"
            if component.is_deterministic
            else "not deterministic (always runs)"
        )
        + (" · **archived**" if component.archived else "")
    )
    if component.description:
        st.write(component.description)
    widgets.tags_caption(component.tags)

    cols = st.columns([1.4, 1.6, 1.4, 3])
    if component.version in [v.version for v in versions]:
        widgets.version_picker(name, versions, component.version, key=f"comp_version_{name}", where=cols[0])
    with cols[1]:
        st.markdown("&nbsp;")
        _link(
            "pipelines.py",
            "Use in a pipeline",
            icon=":material/account_tree:",
            compose="1",
            component=f"{component.name}:{component.version}",
        )
    with cols[2]:
        st.markdown("&nbsp;")
        _archive_button(component)

    tabs = st.tabs(["Interface", "Use in a job", "YAML", "Versions"])
    with tabs[0]:
        rows = component.interface
        if rows:
            frame = pd.DataFrame(rows)
            frame["default"] = frame["default"].map(lambda v: "" if v is None else str(v))
            st.dataframe(frame, hide_index=True, width="stretch", key="comp_interface")
        else:
            st.caption("This component has no inputs or outputs.")
        st.markdown("**Command**")
        st.code(component.spec.get("command", ""), language="bash")
        env = component.spec.get("environment")
        st.caption(
            f"environment `{env if isinstance(env, str) else 'inline'}`"
            + (f" · code snapshot `{component.spec['code']}`" if component.spec.get("code") else " · no code")
        )
    with tabs[1]:
        use_in_job(component)
    with tabs[2]:
        st.code(components.component_yaml(component), language="yaml")
    with tabs[3]:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "version": v.version,
                        "created": v.created_at,
                        "archived": v.archived,
                        "description": v.description,
                    }
                    for v in versions
                ]
            ),
            hide_index=True,
            width="stretch",
            key="comp_versions",
        )


def _archive_button(component) -> None:
    archived = component.archived

    def _do():
        with open_session() as s:
            change = components.restore_component if archived else components.archive_component
            return change(session=s, workspace=workspace, name=component.name, version=component.version)

    ref = f"{component.name}:{component.version}"
    widgets.archive_toggle(
        archived,
        archive=_do,
        restore=_do,
        keys=("comp_archive", "comp_restore"),
        labels=("Archive version", "Restore version"),
        success=(f"Archived {ref}", f"Restored {ref}"),
        icons=(":material/archive:", ":material/unarchive:"),
    )


def use_in_job(component) -> None:
    """Run this component once as a command job: pick input values, see the job YAML, submit."""
    ref = f"{component.name}:{component.version}"

    loaded = widgets.load_together(
        lambda s: [c.name for c in compute_service.list_computes(session=s, workspace=workspace)],
        lambda s: job_forms.data_choices(session=s, workspace=workspace),
    )
    if loaded is None:
        return
    computes, data = loaded
    data_refs = [c.reference for c in data]
    labels = {c.reference: c.label for c in data}
    prefix = f"cj_{component.name}_{component.version}"
    inputs: dict[str, ComposedInput] = {}
    ports = component.spec.get("inputs") or {}
    left, right = st.columns([3, 2])
    with left:
        for port_name, port in ports.items():
            is_data = port.get("type") in DATA_TYPES
            kinds = (["default"] if port.get("default") is not None or port.get("optional") else []) + (
                ["data"] if is_data else ["literal"]
            )
            cols = st.columns([1.6, 1.6, 3])
            widgets.port_label(cols[0], port_name, port)
            kind = cols[1].selectbox(
                "Source",
                kinds,
                key=f"{prefix}_kind_{port_name}",
                label_visibility="collapsed",
                format_func=lambda k, p=port: (
                    (f"Default ({p['default']})" if p.get("default") is not None else "Not set (optional)")
                    if k == "default"
                    else {"data": "Data asset", "literal": "Value"}[k]
                ),
            )
            if kind == "literal":
                inputs[port_name] = ComposedInput(
                    kind="literal",
                    value=widgets.literal_widget("Value", port, f"{prefix}_val_{port_name}", where=cols[2]),
                )
            elif kind == "data":
                if data_refs:
                    value = cols[2].selectbox(
                        "Data asset",
                        data_refs,
                        key=f"{prefix}_data_{port_name}",
                        label_visibility="collapsed",
                        format_func=lambda r: labels.get(r, r),
                    )
                else:
                    cols[2].caption("No data assets yet: register one on the Data page.")
                    value = ""
                inputs[port_name] = ComposedInput(kind="data", value=value, type=port.get("type"))
            else:
                inputs[port_name] = ComposedInput(kind="default")
        if not ports:
            st.caption("This component takes no inputs.")
        cols = st.columns(3)
        compute = cols[0].selectbox(
            "Compute",
            computes,
            key=f"{prefix}_compute",
            index=computes.index("serverless") if "serverless" in computes else 0,
        )
        display = cols[1].text_input(
            "Display name", key=f"{prefix}_display", placeholder=component.display_name
        )
        experiment = cols[2].text_input("Experiment", key=f"{prefix}_experiment", placeholder="Default")
    with right:
        st.markdown("**The command job YAML that will be submitted**")
        st.code(
            component_forms.component_job_yaml(
                component, inputs=inputs, compute=compute, display_name=display, experiment_name=experiment
            ),
            language="yaml",
            wrap_lines=True,
        )
        submitted = st.button(
            "Submit job", type="primary", key=f"{prefix}_submit", icon=":material/play_arrow:"
        )
    if submitted:

        def _submit():
            with open_session() as s:
                return component_forms.submit_component_job(
                    session=s,
                    workspace=workspace,
                    component=ref,
                    inputs=inputs,
                    compute=compute,
                    display_name=display,
                    experiment_name=experiment,
                )

        job = shell.attempt(_submit, success="Job submitted")
        if job:
            st.session_state[f"{prefix}_last_job"] = job.name
    last = st.session_state.get(f"{prefix}_last_job")
    if last:
        st.success(f"Submitted job `{last}`.")
        _link("jobs.py", f"Open job {last}", icon=":material/work:", job=last)


# ================================================================================================ route

widgets.list_or_detail("Components", listing, detail, versioned=True)
