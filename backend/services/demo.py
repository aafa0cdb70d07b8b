"""The demo workspace that ``make run`` prepares: sample data and code from ``assets/``."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session, select

from backend.db.models import Workspace
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
