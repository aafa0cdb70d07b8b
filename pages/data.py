"""Data: register data assets, browse their versions, preview and profile them."""

import pandas as pd
import plotly.express as px
import streamlit as st

from backend.services import data_assets, datastores, lineage, open_session
from studio.ui import shell

workspace = shell.current_workspace()
MAX_CHARTS = 12


def _human(size: int | None) -> str:
    return shell.human_size(size, unknown="unknown")


def _parse_tags(text: str) -> dict[str, str]:
    return {
        k.strip(): v.strip()
        for k, _, v in (line.partition("=") for line in text.splitlines() if line.strip())
    }


def _open(name: str, version: str | None = None) -> None:
    st.query_params["name"] = name
    if version:
        st.query_params["version"] = version
    else:
        st.query_params.pop("version", None)
    st.rerun()


def register_form() -> None:
    with st.expander("Register data", expanded=False, icon=":material/add:"):
        left, right = st.columns(2)
        name = left.text_input("Name", key="data_name", help=data_assets.NAME_RULE)
        version = right.text_input("Version (empty: next number)", key="data_version")
        kind = left.selectbox(
            "Type",
            ["uri_file", "uri_folder", "mltable"],
            key="data_type",
            help="uri_file: one file · uri_folder: a folder · mltable: a folder with an MLTable file",
        )
        source = right.radio(
            "From", ["Upload", "Datastore path", "Web URL"], key="data_source", horizontal=True
        )
        description = st.text_input("Description", key="data_description")
        tags = st.text_area("Tags (one key=value per line)", key="data_tags", height=68)
        uploads, path = None, ""
        if source == "Upload":
            uploads = st.file_uploader("Files", key="data_files", accept_multiple_files=kind != "uri_file")
        elif source == "Datastore path":
            with open_session() as s:
                stores = [d.name for d in datastores.list_datastores(session=s, workspace=workspace)]
                default = datastores.default_datastore_name(session=s, workspace=workspace)
            store = st.selectbox("Datastore", stores, index=stores.index(default), key="data_store")
            rel = st.text_input("Path on the datastore", key="data_store_path", placeholder="folder/file.csv")
            path = f"azureml://datastores/{store}/paths/{rel.strip('/')}" if rel else ""
        else:
            path = st.text_input("URL", key="data_url", placeholder="https://example.org/data.csv")
        problem = None
        if name:
            try:
                data_assets.check_name(name)
            except data_assets.ValidationError as exc:
                problem = str(exc)
                st.error(problem)
        ready = bool(name) and not problem and (bool(uploads) if source == "Upload" else bool(path))
        if st.button("Register", type="primary", key="data_register", disabled=not ready):
            spec = data_assets.DataAssetCreate(
                name=name,
                version=version or None,
                type=kind,
                path=path or "upload",
                description=description,
                tags=_parse_tags(tags),
            )

            def _create():
                with open_session() as s:
                    if source == "Upload":
                        files = uploads if isinstance(uploads, list) else [uploads]
                        return data_assets.create_data_asset_from_upload(
                            session=s,
                            workspace=workspace,
                            files=[(f.name, f.getvalue()) for f in files],
                            data=spec,
                        )
                    return data_assets.create_data_asset(session=s, workspace=workspace, data=spec)

            created = shell.attempt(_create, success=f"Registered {name}")
            if created:
                _open(created.name, created.version)


def listing() -> None:
    show_archived = st.toggle("Show archived", key="data_show_archived")

    def _load():
        with open_session() as s:
            return data_assets.list_data_assets(
                session=s, workspace=workspace, include_archived=show_archived
            )

    rows = shell.attempt(_load) or []
    register_form()
    if not rows:
        st.info("No data assets yet: register a file, a folder or an MLTable above.")
        return
    frame = pd.DataFrame(
        [
            {
                "name": r.name,
                "latest version": r.latest_version,
                "type": r.type,
                "versions": r.versions,
                "updated": r.updated_at,
                "archived": r.archived,
                "description": r.description,
            }
            for r in rows
        ]
    )
    event, shown = shell.filtered_table(
        frame,
        key="data_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"updated": st.column_config.DatetimeColumn("updated", format="YYYY-MM-DD HH:mm")},
    )
    picked = shell.selected_row(event, shown)
    if picked:
        _open(picked["name"])


def profile_charts(frame: pd.DataFrame) -> None:
    columns = list(frame.columns)[:MAX_CHARTS]
    grid = st.columns(2)
    for i, column in enumerate(columns):
        series = frame[column]
        with grid[i % 2]:
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                fig = px.histogram(frame, x=column, nbins=30, title=column)
            else:
                counts = (
                    series.astype(str).value_counts().head(20).rename_axis(column).reset_index(name="count")
                )
                fig = px.bar(counts, x=column, y="count", title=f"{column} (top values)")
            fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False)
            st.plotly_chart(fig, key=f"profile_{column}")
    if len(frame.columns) > MAX_CHARTS:
        st.caption(f"Charts for the first {MAX_CHARTS} of {len(frame.columns)} columns.")


def detail(name: str) -> None:
    if st.button("← All data", key="data_back"):
        st.query_params.pop("name", None)
        st.query_params.pop("version", None)
        st.rerun()

    def _versions():
        with open_session() as s:
            return data_assets.list_versions(session=s, workspace=workspace, name=name)

    versions = shell.attempt(_versions)
    if not versions:
        return
    labels = [v.version for v in versions]
    wanted = st.query_params.get("version") or next(
        (v.version for v in versions if not v.archived), labels[0]
    )
    if wanted not in labels:
        st.warning(f"Version {wanted!r} does not exist; showing the latest.")
        wanted = labels[0]
    version = st.selectbox(
        "Version",
        labels,
        index=labels.index(wanted),
        key=f"data_version_pick_{name}",
        format_func=lambda v: (
            v + (" (archived)" if next(x for x in versions if x.version == v).archived else "")
        ),
    )
    if version != st.query_params.get("version"):
        st.query_params["version"] = version
    asset = next(v for v in versions if v.version == version)

    st.header(f"{asset.name} : {asset.version}")
    cols = st.columns(4)
    cols[0].metric("Type", asset.type)
    cols[1].metric("Size", _human(asset.size_bytes))
    cols[2].metric("Versions", len(versions))
    cols[3].metric("Created", f"{asset.created_at:%Y-%m-%d}")
    st.markdown(f"**Path** `{asset.path}`  \n**Reference** `azureml:{asset.name}:{asset.version}`")
    if asset.description:
        st.write(asset.description)
    if asset.tags:
        st.caption(" · ".join(f"{k}={v}" for k, v in asset.tags.items()))

    act = st.columns(4)
    if asset.archived:
        if act[0].button("Restore", key="data_restore"):

            def _restore():
                with open_session() as s:
                    return data_assets.restore_data_asset(
                        session=s, workspace=workspace, name=name, version=version
                    )

            if shell.attempt(_restore, success="Restored"):
                st.rerun()
    elif act[0].button("Archive", key="data_archive"):

        def _archive():
            with open_session() as s:
                return data_assets.archive_data_asset(
                    session=s, workspace=workspace, name=name, version=version
                )

        if shell.attempt(_archive, success="Archived"):
            st.rerun()

    preview_tab, profile_tab, lineage_tab, edit_tab = st.tabs(["Preview", "Profile", "Lineage", "Details"])
    with preview_tab:

        def _preview():
            with open_session() as s:
                return data_assets.preview_data(
                    session=s, workspace=workspace, name=name, version=version, rows=100
                )

        preview = shell.attempt(_preview)
        if preview is not None:
            st.caption(
                f"First {len(preview.frame)} rows of {preview.source}"
                + (" (more rows not shown)" if preview.truncated else "")
            )
            st.dataframe(preview.frame, key="data_preview", width="stretch", hide_index=True)
    with profile_tab:

        def _profile():
            with open_session() as s:
                return data_assets.profile_data(session=s, workspace=workspace, name=name, version=version)

        loaded = shell.attempt(_profile)
        if loaded is not None:
            profile, frame = loaded
            st.caption(f"{profile.rows_profiled} rows profiled, {len(profile.columns)} columns")
            st.dataframe(
                pd.DataFrame([c.model_dump() for c in profile.columns]),
                key="data_profile",
                width="stretch",
                hide_index=True,
            )
            profile_charts(frame)
    with lineage_tab:
        st.markdown(f"**Created from** `{asset.source}` on {asset.created_at:%Y-%m-%d %H:%M} UTC")

        def _lineage():
            with open_session() as s:
                return lineage.data_lineage(session=s, workspace=workspace, name=name, version=version)

        entries = shell.attempt(_lineage) or []
        if entries:
            frame = pd.DataFrame(entries)
            frame["job"] = [f"jobs?job={j}&ws={workspace}" for j in frame["job"]]
            st.dataframe(
                frame[["relation", "job", "port", "status", "experiment", "created_at"]],
                key="data_lineage",
                hide_index=True,
                width="stretch",
                column_config={"job": st.column_config.LinkColumn("job", display_text=r"jobs\?job=([^&]+)")},
            )
        else:
            st.caption("No job has read or written this version yet.")
    with edit_tab, st.form("data_edit"):
        description = st.text_area("Description", asset.description, key="data_edit_description")
        tags = st.text_area(
            "Tags (one key=value per line)",
            "\n".join(f"{k}={v}" for k, v in asset.tags.items()),
            key="data_edit_tags",
        )
        if st.form_submit_button("Save"):

            def _save():
                with open_session() as s:
                    return data_assets.update_data_asset(
                        session=s,
                        workspace=workspace,
                        name=name,
                        version=version,
                        description=description,
                        tags=_parse_tags(tags),
                    )

            if shell.attempt(_save, success="Saved"):
                st.rerun()


st.title("Data")
selected = st.query_params.get("name")
if selected:
    detail(selected)
else:
    listing()
