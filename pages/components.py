"""Components: list, register (uploaded YAML + code, or a YAML on the working-directory datastore),
inspect a version (interface, YAML, versions), archive/restore, run it as a job, or start a pipeline with it.

Deep link: ``?name=<component>&version=<version>``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from backend.services import components, job_forms, open_session, pipeline_views
from backend.services import compute as compute_service
from backend.services.pipeline_views import ComposedInput
from studio.ui import shell

workspace = shell.current_workspace()
DATA_TYPES = pipeline_views.DATA_TYPES
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


def _open(name: str, version: str | None = None) -> None:
    st.query_params["name"] = name
    if version:
        st.query_params["version"] = version
    else:
        st.query_params.pop("version", None)
    st.rerun()


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

    def _load():
        with open_session() as s:
            return components.list_components(session=s, workspace=workspace, include_archived=show_archived)

    rows = shell.attempt(_load) or []
    if rows:
        frame = pd.DataFrame(
            [
                {
                    "name": c.name,
                    "display name": c.display_name,
                    "latest version": c.latest_version,
                    "versions": c.versions,
                    "description": c.description,
                    "updated": c.updated_at,
                }
                for c in rows
            ]
        )
        frame["updated"] = pd.to_datetime(frame["updated"], utc=True)
        event, shown = shell.filtered_table(
            frame,
            key="comp_table",
            on_select="rerun",
            selection_mode="single-row",
            column_config={"updated": st.column_config.DatetimeColumn("updated", format="YYYY-MM-DD HH:mm")},
        )
        picked = shell.selected_row(event, shown)
        if picked:
            _open(picked["name"], picked["latest version"])
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

                def _register():
                    with open_session() as s:
                        return pipeline_views.register_uploaded_component(
                            session=s,
                            workspace=workspace,
                            yaml_name=yaml_file.name,
                            yaml_bytes=yaml_file.getvalue(),
                            files=[(f.name, f.getvalue()) for f in files or []],
                        )

                created = shell.attempt(_register, success="Component registered")
                if created:
                    _open(created.name, created.version)
            return

        def _files():
            with open_session() as s:
                return pipeline_views.component_yaml_files(session=s, workspace=workspace)

        paths = shell.attempt(_files)
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

            def _register_ds():
                with open_session() as s:
                    return pipeline_views.register_component_from_datastore(
                        session=s, workspace=workspace, path=path
                    )

            created = shell.attempt(_register_ds, success="Component registered")
            if created:
                _open(created.name, created.version)


# =============================================================================================== detail


def detail(name: str, version: str | None) -> None:
    if st.button("← All components", key="comp_back"):
        st.query_params.pop("name", None)
        st.query_params.pop("version", None)
        st.rerun()

    def _load():
        with open_session() as s:
            versions = components.list_component_versions(session=s, workspace=workspace, name=name)
            chosen = components.get_component(session=s, workspace=workspace, name=name, version=version)
            return versions, chosen

    loaded = shell.attempt(_load)
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
    if component.tags:
        st.caption(" · ".join(f"{k}={v}" for k, v in component.tags.items()))

    cols = st.columns([1.4, 1.6, 1.4, 3])
    labels = [v.version for v in versions]
    if component.version in labels:
        picked = cols[0].selectbox(
            "Version",
            labels,
            index=labels.index(component.version),
            key=f"comp_version_{name}",
            format_func=lambda v: (
                v + (" (archived)" if next(x for x in versions if x.version == v).archived else "")
            ),
        )
        if picked != component.version:
            _open(name, picked)
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
    label = "Restore version" if archived else "Archive version"
    if st.button(
        label,
        key="comp_restore" if archived else "comp_archive",
        icon=":material/unarchive:" if archived else ":material/archive:",
    ):

        def _do():
            with open_session() as s:
                return components.archive_component(
                    session=s,
                    workspace=workspace,
                    name=component.name,
                    version=component.version,
                    archived=not archived,
                )

        if shell.attempt(
            _do, success=f"{'Restored' if archived else 'Archived'} {component.name}:{component.version}"
        ):
            st.rerun()


def _literal_widget(label: str, port: dict, key: str, where=st):
    """A typed value widget for a component input: number/integer/boolean/string (an enum as a select)."""
    kind, default = port.get("type"), port.get("default")
    low, high = port.get("min"), port.get("max")
    if kind == "integer":
        start = int(default) if default is not None else int(low) if low is not None else 0
        return where.number_input(
            label,
            value=start,
            step=1,
            key=key,
            min_value=int(low) if low is not None else None,
            max_value=int(high) if high is not None else None,
        )
    if kind == "number":
        start = float(default) if default is not None else float(low) if low is not None else 0.0
        return where.number_input(
            label,
            value=start,
            key=key,
            format="%g",
            min_value=float(low) if low is not None else None,
            max_value=float(high) if high is not None else None,
        )
    if kind == "boolean":
        return where.selectbox(
            label, [True, False], index=0 if default in (True, "true", None) else 1, key=key
        )
    if port.get("enum"):
        options = list(port["enum"])
        return where.selectbox(
            label, options, index=options.index(default) if default in options else 0, key=key
        )
    return where.text_input(label, value="" if default is None else str(default), key=key)


def use_in_job(component) -> None:
    """Run this component once as a command job: pick input values, see the job YAML, submit."""
    ref = f"{component.name}:{component.version}"

    def _choices():
        with open_session() as s:
            return (
                [c.name for c in compute_service.list_computes(session=s, workspace=workspace)],
                job_forms.data_choices(session=s, workspace=workspace),
            )

    loaded = shell.attempt(_choices)
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
            cols[0].markdown(
                f"`{port_name}` · {port.get('type')}" + (" · optional" if port.get("optional") else ""),
                help=port.get("description") or None,
            )
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
                    value=_literal_widget("Value", port, f"{prefix}_val_{port_name}", where=cols[2]),
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
            pipeline_views.component_job_yaml(
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
                return pipeline_views.submit_component_job(
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

st.title("Components")
selected = st.query_params.get("name")
if selected:
    detail(selected, st.query_params.get("version"))
else:
    listing()
