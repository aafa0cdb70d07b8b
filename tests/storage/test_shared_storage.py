"""Shared storage (``STUDIO_STORAGE_URL``, Azurite here): new workspaces' built-in datastores and the MLflow
artifact root live in one Azure Blob container, so agents with separate homes see the same files.

Real Azurite, PostgreSQL, tracking server and agents; the account key stays in the environment of Studio's
processes and never reaches the database.
"""

from __future__ import annotations

import pytest

from backend.services import datastores, open_session, workspaces
from tests.conftest import reset_caches


def test_built_in_datastores_of_new_workspaces_are_folders_of_the_shared_container(shared, studio_home):
    from backend.db import ensure_schema

    azurite, container = shared
    ensure_schema()
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="team"))
        stores = {d.name: d for d in datastores.list_datastores(session=s, workspace="team")}
        datastores.upload_bytes(
            session=s, workspace="team", name="workspaceblobstore", path="in/a.txt", data=b"hello"
        )
        listed = datastores.list_files(session=s, workspace="team", name="workspaceblobstore", path="in")
    assert {d.type for d in stores.values()} == {"azure_blob"} and all(d.built_in for d in stores.values())
    assert (
        stores["workspaceblobstore"]
        .config["url"]
        .endswith(f"/{container}/studio/workspaces/team/workspaceblobstore")
    )
    assert [e.name for e in listed.entries] == ["a.txt"]
    with open_session() as s:  # a built-in that holds nothing yet lists as empty
        empty = datastores.list_files(session=s, workspace="team", name="workspaceworkingdirectory")
    assert empty.entries == [] and empty.total == 0
    assert "studio/workspaces/team/workspaceblobstore/in/a.txt" in azurite.blob_names(container)
    # The key is the studio's, from its environment: nowhere in the database.
    database = (studio_home / "studio.db").read_bytes() + (studio_home / "studio.db-wal").read_bytes()
    assert azurite.account_key.encode() not in database


def test_the_demo_workspace_puts_its_sample_files_on_the_shared_storage(shared, studio_home):
    from backend.db import ensure_schema
    from backend.services import demo

    azurite, container = shared
    ensure_schema()
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)
    names = azurite.blob_names(container)
    assert any(n.startswith("studio/workspaces/demo/workspaceworkingdirectory/iris-demo/") for n in names)
    assert any(n.startswith("studio/workspaces/demo/workspaceworkingdirectory/sample_data/") for n in names)


def test_a_bad_storage_url_is_one_line_naming_the_variable(monkeypatch, studio_home):
    from backend.errors import ValidationError
    from backend.storage import shared

    monkeypatch.setenv("STUDIO_STORAGE_URL", "ftp://nowhere")
    reset_caches()
    with pytest.raises(ValidationError, match=r"STUDIO_STORAGE_URL: 'ftp://nowhere' is not a blob URL"):
        shared.configured()
    monkeypatch.setenv("STUDIO_STORAGE_URL", "https://acct.blob.core.windows.net/box/studio")
    monkeypatch.delenv("STUDIO_STORAGE_KEY", raising=False)
    reset_caches()
    with pytest.raises(
        ValidationError, match="STUDIO_STORAGE_KEY: the shared storage's account key is required"
    ):
        shared.configured()
