"""Data: register data assets, browse their versions, preview and profile them."""

import functools

import pandas as pd
import plotly.express as px
import streamlit as st

from backend.services import data_assets, datastores, lineage, open_session
from studio.ui import asset_pager, shell, widgets

workspace = shell.current_workspace()
MAX_CHARTS = 12


def _human(size: int | None) -> str:
    return shell.human_size(size, unknown="unknown")


def register_form() -> None:
    with st.expander("Register data", expanded=False, icon=":material/add:"):
        form = widgets.register_inputs(
            "data",
            name_rule=data_assets.NAME_RULE,
            types=["uri_file", "uri_folder", "mltable"],
            type_help="uri_file: one file · uri_folder: a folder · mltable: a folder with an MLTable file",
            sources=["Upload", "Datastore path", "Web URL"],
        )
        name, kind, source = form.name, form.type, form.source
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
        if form.register_button(
            check=data_assets.check_name, error=data_assets.ValidationError, uploads=uploads, path=path
        ):
            spec = data_assets.DataAssetCreate(**form.fields(path))

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

            widgets.open_created(shell.attempt(_create, success=f"Registered {name}"))


def listing() -> None:
    asset_pager.paged_asset_listing(
        data_assets.page_data_assets,
        keys=("data_show_archived", "data_table"),
        register=register_form,
        empty="No data assets yet: register a file, a folder or an MLTable above.",
        noun="data asset",
    )


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
    widgets.back_button("← All data", key="data_back")
    versions = widgets.load(data_assets.list_data_asset_versions, workspace=workspace, name=name)
    if not versions:
        return
    labels = [v.version for v in versions]
    wanted = st.query_params.get("version") or next(
        (v.version for v in versions if not v.archived), labels[0]
    )
    if wanted not in labels:
        st.warning(f"Version {wanted!r} does not exist; showing the latest.")
        wanted = labels[0]
    version = widgets.version_select(versions, wanted, key=f"data_version_pick_{name}")
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
    widgets.tags_caption(asset.tags)

    def _restore():
        with open_session() as s:
            return data_assets.restore_data_asset(session=s, workspace=workspace, name=name, version=version)

    def _archive():
        with open_session() as s:
            return data_assets.archive_data_asset(session=s, workspace=workspace, name=name, version=version)

    act = st.columns(4)
    widgets.archive_toggle(
        asset.archived,
        archive=_archive,
        restore=_restore,
        keys=("data_archive", "data_restore"),
        where=act[0],
    )

    preview_tab, profile_tab, lineage_tab, edit_tab = st.tabs(["Preview", "Profile", "Lineage", "Details"])
    with preview_tab:
        preview = widgets.load(
            data_assets.preview_data, workspace=workspace, name=name, version=version, rows=100
        )
        if preview is not None:
            st.caption(
                f"First {len(preview.frame)} rows of {preview.source}"
                + (" (more rows not shown)" if preview.truncated else "")
            )
            st.dataframe(preview.frame, key="data_preview", width="stretch", hide_index=True)
    with profile_tab:
        loaded = widgets.load(data_assets.profile_data, workspace=workspace, name=name, version=version)
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
        entries = widgets.load(lineage.data_lineage, workspace=workspace, name=name, version=version) or []
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
    with edit_tab:
        update = functools.partial(
            data_assets.update_data_asset, workspace=workspace, name=name, version=version
        )
        widgets.details_form(asset, form="data_edit", prefix="data_edit", update=update, rerun=True)


widgets.list_or_detail("Data", listing, detail)
