"""Environments: list (built-in, curated, custom), create, inspect a version, build it and watch the log."""

import functools

import pandas as pd
import streamlit as st
import yaml

from backend.services import environment_builds, environments, open_session
from backend.statuses import BuildStatus
from studio.ui import shell, widgets

LOG_REFRESH_S = 2
LOG_TAIL_LINES = 400
# The conda file box's placeholder: an example the environment spec's conda file model reads.
CONDA_EXAMPLE = yaml.safe_dump(
    environments.CondaFile(
        name="my-env",
        channels=["conda-forge"],
        dependencies=["python=3.11", "scikit-learn=1.5", "pip", {"pip": ["mlflow"]}],
    ).model_dump(exclude_none=True),
    sort_keys=False,
)

workspace = shell.current_workspace()


# ---------------------------------------------------------------------------------------------- listing


def _builtin_explained() -> None:
    builtin = environments.builtin_environment()
    with st.expander("The curated base environment", expanded=False):
        st.write(
            "Curated cloud environments (every `AzureML-*` name, and "
            "`azureml://registries/azureml/environments/...`) and environments that name only a container "
            "image run in the curated base environment: a virtual environment Studio builds once with uv, "
            "apart from the interpreter Studio itself runs in. It carries what code written for the cloud's "
            "curated scikit-learn environment expects, at the versions Studio runs. Each job gets a thin "
            "layer of its own on top, so `pip install` in a command changes that job only."
        )
        if not builtin.ready:
            st.caption("Not built yet: the first job that needs it builds it (about a minute).")
        st.caption(f"Python {builtin.python_version} · `{builtin.python}`")
        st.dataframe(
            pd.DataFrame([{"package": k, "version": v} for k, v in builtin.packages.items()]),
            hide_index=True,
            key="env_builtin_packages",
        )


def listing() -> None:
    show_archived = st.toggle("Show archived", key="env_show_archived")
    rows = (
        widgets.load(environments.list_environments, workspace=workspace, include_archived=show_archived)
        or []
    )
    records = [
        {
            "name": b.name,
            "version": "",
            "kind": b.kind,
            "runs in": "curated base environment",
            "build status": "",
            "python": b.python_version,
            "description": b.description,
            "created": None,
        }
        for b in environments.list_builtin_environments()
    ]
    records += [
        {
            "name": e.name,
            "version": e.version + (" (archived)" if e.archived else ""),
            "kind": e.kind,
            "runs in": "curated base environment" if e.uses_builtin else f"venv {e.spec_hash[:12]}",
            "build status": e.build_status or "",
            "python": e.python_version or "",
            "description": e.description,
            "created": e.created_at,
        }
        for e in rows
    ]
    frame = pd.DataFrame(records)
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    picked = widgets.picked_row(frame, key="env_table", dates=["created"])
    if picked:
        widgets.open_object(picked["name"], picked["version"].removesuffix(" (archived)") or None)
    st.caption(f"{len(rows)} custom environment(s) in workspace {workspace}; select a row to open it.")
    _builtin_explained()
    _create_form(expanded=not rows)


def _create_form(*, expanded: bool) -> None:
    with st.expander("Create environment", expanded=expanded):
        left, right = st.columns(2)
        name = left.text_input("Name", key="new_env_name", help=environments.NAME_RULE)
        version = right.text_input("Version", key="new_env_version", help="Leave empty for the next integer.")
        description = st.text_input("Description", key="new_env_description")
        source = st.radio(
            "Packages from",
            ["Conda file", "pip requirements", "Image only"],
            horizontal=True,
            key="new_env_source",
        )
        conda_text, pip_text = "", ""
        if source == "Conda file":
            conda_text = st.text_area(
                "Conda file (YAML)",
                key="new_env_conda",
                height=220,
                placeholder=CONDA_EXAMPLE,
                help="A `python=3.x` pin, conda packages (mapped to pip) and a `pip:` list.",
            )
        elif source == "pip requirements":
            pip_text = st.text_area(
                "pip requirements (one per line)",
                key="new_env_pip",
                height=160,
                placeholder="scikit-learn>=1.5",
            )
        image = st.text_input(
            "Image",
            key="new_env_image",
            help="Recorded; Studio runs no containers. An image-only environment uses the built-in one.",
        )
        tags = widgets.tags_input("new_env_tags")
        build_now = st.checkbox("Build it now", value=True, key="new_env_build")
        if st.button("Create", type="primary", key="new_env_create", disabled=not name.strip()):

            def _create():
                form = environments.EnvironmentForm(
                    name=name,
                    version=version or None,
                    description=description,
                    tags=tags,
                    image=image or None,
                    conda_yaml=conda_text or None,
                    pip_requirements=[line for line in pip_text.splitlines() if line.strip()],
                )
                with open_session() as s:
                    return environments.create_environment_from_form(
                        session=s, workspace=workspace, form=form
                    )

            created = shell.attempt(_create, success=f"Created environment {name}")
            if created:
                if build_now and created.spec_hash:
                    widgets.load(
                        environments.request_build,
                        workspace=workspace,
                        name=created.name,
                        version=created.version,
                    )
                widgets.open_object(created.name, created.version)


# ---------------------------------------------------------------------------------------------- detail


def _builtin_detail(name: str) -> None:
    resolved = widgets.load(environments.resolve_environment, workspace=workspace, reference=name)
    if not resolved:
        return
    builtin = environments.builtin_environment()
    st.header(name)
    kind = "built-in" if name == environments.BUILTIN_NAME else "curated"
    cols = st.columns(3)
    cols[0].metric("Kind", kind)
    cols[1].metric("Python", builtin.python_version)
    cols[2].metric("Build", "none needed")
    st.info(resolved.reason, icon=":material/info:")
    st.caption(f"Interpreter: `{resolved.python}`")
    st.dataframe(
        pd.DataFrame([{"package": k, "version": v} for k, v in builtin.packages.items()]),
        hide_index=True,
        key="env_detail_packages",
    )


def _build_panel(env: environments.EnvironmentPublic) -> None:
    build = widgets.load(environment_builds.get_build, spec_hash=env.spec_hash)
    if not build:
        return
    active = build.status in environment_builds.ACTIVE_BUILD_STATES
    done = build.status == BuildStatus.SUCCEEDED
    label = {"Succeeded": "Built", "Queued": "Queued…", "Building": "Building…"}.get(build.status, "Build")
    if st.button(
        label, key="env_build", type="primary", disabled=active or done, icon=":material/construction:"
    ):
        widgets.rerun_if(
            widgets.load(
                environments.request_build,
                workspace=workspace,
                name=env.name,
                version=env.version,
                success="Build started",
            )
        )
    st.caption(
        f"Virtual environment `{build.venv_path}` · shared by every environment with spec `{build.spec_hash[:12]}`"
    )

    @st.fragment(run_every=LOG_REFRESH_S if active else None)
    def _live_log() -> None:
        loaded = widgets.load_together(
            lambda s: environment_builds.get_build(session=s, spec_hash=env.spec_hash),
            lambda s: environment_builds.read_build_log(
                session=s, spec_hash=env.spec_hash, tail_lines=LOG_TAIL_LINES
            ),
        )
        if not loaded:
            return
        now, log = loaded
        st.markdown(f"**Status:** {now.status}")
        if now.status == BuildStatus.FAILED and now.error:
            st.error(now.error.strip().splitlines()[-1], icon="⚠️")
        if log:
            st.code(log, language="text")
        else:
            st.caption("No build has run yet.")
        if active and now.status not in environment_builds.ACTIVE_BUILD_STATES:
            st.rerun()  # the build ended: refresh the whole page (status, button)

    _live_log()


def _env_detail(name: str, version: str | None) -> None:
    loaded = widgets.load_together(
        lambda s: environments.get_environment(session=s, workspace=workspace, name=name, version=version),
        lambda s: environments.list_environments(
            session=s, workspace=workspace, name=name, include_archived=True
        ),
    )
    if not loaded:
        return
    env, versions = loaded
    st.header(f"{env.name}:{env.version}")
    widgets.version_picker(name, versions, env.version, key="env_version", mark_archived=False)
    if env.archived:
        st.warning(
            "This version is archived: it is hidden from lists and from @latest.",
            icon=":material/inventory_2:",
        )

    cols = st.columns(4)
    cols[0].metric("Kind", env.kind)
    cols[1].metric("Runs in", "built-in" if env.uses_builtin else "own venv")
    cols[2].metric("Python", env.python_version or environments.builtin_environment().python_version)
    cols[3].metric("Build", env.build_status or "none needed")
    st.info(env.reason, icon=":material/info:")

    spec_tab, yaml_tab, build_tab, manage_tab = st.tabs(["Spec", "YAML", "Build", "Manage"])
    with spec_tab:
        if env.image:
            st.markdown(f"**Image:** `{env.image}`")
        if env.conda_file:
            st.markdown("**Conda file**")
            st.json(env.conda_file)
        if env.pip_requirements:
            st.markdown("**pip requirements**")
            st.code("\n".join(env.pip_requirements), language="text")
        resolved = env.details.get("resolved_requirements")
        if resolved:
            st.markdown("**Installed with uv** (plus `mlflow-skinny` when MLflow is not listed)")
            st.code("\n".join(resolved), language="text")
        recorded = {k: v for k, v in env.details.items() if k not in ("resolved_requirements",)}
        if recorded:
            st.markdown("**Recorded cloud fields**")
            st.json(recorded)
        if env.description:
            st.markdown(f"**Description:** {env.description}")
    with yaml_tab:
        st.code(environments.environment_yaml(env), language="yaml")
    with build_tab:
        if env.spec_hash:
            _build_panel(env)
        else:
            st.write(
                "This environment runs in the curated base environment: there is nothing to build for it."
            )
    with manage_tab:
        update = functools.partial(
            environments.update_environment, workspace=workspace, name=env.name, version=env.version
        )
        widgets.details_form(env, form="env_update", prefix="env", update=update)

        def _restore():
            with open_session() as s:
                return environments.restore_environment(
                    session=s, workspace=workspace, name=env.name, version=env.version
                )

        def _archive():
            with open_session() as s:
                return environments.archive_environment(
                    session=s, workspace=workspace, name=env.name, version=env.version
                )

        widgets.archive_toggle(
            env.archived,
            archive=_archive,
            restore=_restore,
            keys=("env_archive", "env_restore"),
            labels=("Archive this version", "Restore this version"),
        )


def detail(name: str, version: str | None) -> None:
    widgets.back_button("← All environments", key="env_back")
    if name == environments.BUILTIN_NAME or environments.is_curated(name):
        _builtin_detail(name)
    else:
        _env_detail(name, version)


widgets.list_or_detail("Environments", listing, detail, versioned=True)
