"""Registering a model: from files uploaded here, a job's output or an MLflow run; and a job output's
Register model form on the job page."""

from __future__ import annotations

import streamlit as st

from backend.services import models
from studio.ui import shell, widgets

TYPES = ["custom_model", "mlflow_model", "triton_model"]
TYPE_HELP = (
    "custom_model: any file or folder · mlflow_model: a folder saved by MLflow (with an MLmodel file) · "
    "triton_model: a Triton model repository"
)
SOURCES = ["Upload", "Job output", "MLflow run"]


def register_form() -> None:
    workspace = shell.current_workspace()
    with st.expander("Register model", expanded=False, icon=":material/add:"):
        form = widgets.register_inputs(
            "model",
            name_rule=models.NAME_RULE,
            version_help="MLflow numbers versions 1, 2, 3, ...",
            types=TYPES,
            type_help=TYPE_HELP,
            sources=SOURCES,
        )
        name, source = form.name, form.source
        uploads, path = None, ""
        if source == "Upload":
            uploads = st.file_uploader("Files", key="model_files", accept_multiple_files=True)
        elif source == "Job output":
            job = st.text_input("Job name", key="model_job")
            output = st.text_input("Output name", key="model_output")
            path = f"azureml://jobs/{job.strip()}/outputs/{output.strip()}" if job and output else ""
        else:
            run = st.text_input("Run id", key="model_run")
            artifact = st.text_input("Artifact path", key="model_run_path", placeholder="model")
            path = f"runs:/{run.strip()}/{artifact.strip('/')}" if run else ""
        if form.register_button(
            check=models.check_name, error=models.ValidationError, uploads=uploads, path=path
        ):
            data = models.ModelCreate(**form.fields(path))
            if source == "Upload":
                created = widgets.load(
                    models.create_model_from_upload,
                    workspace=workspace,
                    files=[(f.name, f.getvalue()) for f in uploads],
                    data=data,
                    success=f"Registered {name}",
                )
            else:
                created = widgets.load(
                    models.create_model, workspace=workspace, data=data, success=f"Registered {name}"
                )
            widgets.open_created(created)


def register_job_output_form(job) -> None:
    """On a completed job's page: register one of its outputs as a model version."""
    if not job.outputs:
        return
    with st.popover("Register model", icon=":material/model_training:"):
        outputs = list(job.outputs)
        output = st.selectbox("Output", outputs, key="job_model_output")
        out = job.outputs[output] or {}
        kinds = TYPES
        default = out.get("type") if out.get("type") in TYPES else "custom_model"
        kind = st.selectbox("Type", kinds, index=kinds.index(default), key="job_model_type", help=TYPE_HELP)
        name = st.text_input("Model name", value=out.get("asset_name") or "", key="job_model_name")
        if st.button("Register", type="primary", key="job_model_register", disabled=not name):
            created = widgets.load(
                models.register_job_output,
                workspace=shell.current_workspace(),
                job=job.name,
                output=output,
                name=name,
                type=kind,
                success=f"Registered {name}",
            )
            if created:
                shell.page_link(
                    "models.py",
                    f"Model {created.name}:{created.version}",
                    icon=":material/model_training:",
                    name=created.name,
                    version=created.version,
                )
