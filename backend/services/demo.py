"""The demo workspace that ``make run`` prepares: sample data and code from ``assets/``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from backend.db.models import Workspace
from backend.errors import StudioError
from backend.services import data_assets
from backend.services.datastores import builtin_folder
from backend.services.workspaces import WorkspaceCreate, create_workspace

DEMO_WORKSPACE = "demo"
ASSETS = Path(__file__).resolve().parents[2] / "assets"


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
    files = builtin_folder(DEMO_WORKSPACE, "workspaceworkingdirectory")
    shutil.copytree(ASSETS / "sample_code", files / "iris-demo", dirs_exist_ok=True)
    shutil.copytree(ASSETS / "sample_data", files / "sample_data", dirs_exist_ok=True)
    if not data_assets.list_data_assets(session=session, workspace=DEMO_WORKSPACE, include_archived=True):
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
    return DEMO_WORKSPACE


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
