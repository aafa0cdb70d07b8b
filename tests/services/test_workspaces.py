from pathlib import Path

import pytest

from backend.services import (
    ConflictError,
    NotFoundError,
    ValidationError,
    datastores,
    open_session,
    workspaces,
)
from backend.services.datastores import BUILTIN_DATASTORES

pytestmark = pytest.mark.usefixtures("database")


def _create(name: str, **kwargs) -> workspaces.WorkspacePublic:
    with open_session() as s:
        return workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name=name, **kwargs))


def test_default_workspace_exists_from_the_first_start():
    with open_session() as s:
        names = [w.name for w in workspaces.list_workspaces(session=s)]
    assert names == ["default"]


def test_new_workspace_gets_its_four_builtin_datastores_as_folders():
    ws = _create("team-a", description="first", tags={"owner": "ana"})
    with open_session() as s:
        stores = datastores.list_datastores(session=s, workspace="team-a")
    assert {d.name for d in stores} == set(BUILTIN_DATASTORES)
    assert [d.name for d in stores if d.is_default] == ["workspaceblobstore"]
    for store in stores:
        assert store.built_in and Path(store.config["path"]).is_dir()
        assert Path(store.config["path"]).is_relative_to(ws.storage_root)


def test_duplicate_name_is_refused_and_changes_nothing():
    _create("team-a", description="original")
    with pytest.raises(ConflictError, match="'team-a' already exists"):
        _create("team-a", description="second")
    with open_session() as s:
        assert workspaces.get_workspace(session=s, name="team-a").description == "original"
        assert len(workspaces.list_workspaces(session=s)) == 2


@pytest.mark.parametrize("name", ["ab", "-lead", "has space", "x" * 34, "dots.not.allowed", ""])
def test_invalid_names_are_refused_with_the_rule(name):
    with pytest.raises(ValidationError, match="3 to 33 characters"):
        _create(name)
    with open_session() as s:
        assert [w.name for w in workspaces.list_workspaces(session=s)] == ["default"]


def test_update_changes_description_and_tags_only():
    _create("team-a", description="old", tags={"a": "1"})
    with open_session() as s:
        updated = workspaces.update_workspace(
            session=s, name="team-a", data=workspaces.WorkspaceUpdate(tags={"b": "2"})
        )
    assert updated.description == "old"
    assert updated.tags == {"b": "2"}
    assert updated.updated_at >= updated.created_at


def test_delete_needs_confirmation_then_removes_rows_and_folders():
    ws = _create("team-a")
    with open_session() as s, pytest.raises(ValidationError, match="confirm"):
        workspaces.delete_workspace(session=s, name="team-a", confirm="team-b")
    with open_session() as s:
        workspaces.delete_workspace(session=s, name="team-a", confirm="team-a")
    assert not Path(ws.storage_root).exists()
    with open_session() as s, pytest.raises(NotFoundError, match="'team-a' does not exist"):
        workspaces.get_workspace(session=s, name="team-a")
    with open_session() as s:
        assert datastores.list_datastores(session=s, workspace="default")  # others untouched


def test_default_workspace_cannot_be_deleted():
    with open_session() as s, pytest.raises(ValidationError, match="cannot be deleted"):
        workspaces.delete_workspace(session=s, name="default", confirm="default")


def test_delete_is_refused_while_a_job_is_queued_or_running(tmp_path):
    from backend.services import jobs
    from backend.specs.job import CommandJobSpec

    _create("team-busy")
    with open_session() as s:
        job = jobs.submit_command_job(
            session=s,
            workspace="team-busy",
            spec=CommandJobSpec(command="echo hi", environment="azureml:AzureML-x@latest"),
        )
    with (
        open_session() as s,
        pytest.raises(ConflictError, match=f"has work running \\(job {job.name} \\(Queued\\)"),
    ):
        workspaces.delete_workspace(session=s, name="team-busy", confirm="team-busy")
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="team-busy", name=job.name)
    with open_session() as s:
        workspaces.delete_workspace(session=s, name="team-busy", confirm="team-busy")
