"""Datastore services on both databases (local datastores), the YAML format, secrets, and the CLI."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from backend.errors import ConflictError, NotFoundError, StudioError, ValidationError
from backend.services import datastores, open_session
from studio.cli import main

WS = "default"


def _local(name: str, folder: Path, *, make: bool = True, **fields) -> datastores.DatastorePublic:
    if make:
        folder.mkdir(parents=True, exist_ok=True)
    spec = datastores.parse_datastore(
        {"name": name, "type": "local", "path": str(folder), **fields}, source="t"
    )
    with open_session() as s:
        return datastores.create_datastore(session=s, workspace=WS, spec=spec)


def _names() -> list[str]:
    with open_session() as s:
        return [d.name for d in datastores.list_datastores(session=s, workspace=WS)]


def _defaults() -> list[str]:
    with open_session() as s:
        return [d.name for d in datastores.list_datastores(session=s, workspace=WS) if d.is_default]


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _add_data_asset(path: str, name: str = "iris", version: str = "1") -> None:
    from backend.db.models import DataAsset
    from backend.services.lookup import get_workspace_row

    with open_session() as s:
        ws = get_workspace_row(session=s, name=WS)
        s.add(DataAsset(workspace_id=ws.id, name=name, version=version, type="uri_file", path=path))


# ------------------------------------------------------------------------------------ registration


@pytest.mark.usefixtures("database")
def test_a_local_datastore_on_an_existing_folder_is_created_and_listed(tmp_path):
    created = _local(
        "shared_data", tmp_path / "new" / "folder", description="team files", tags={"team": "ml"}
    )
    assert (tmp_path / "new" / "folder").is_dir()
    assert created.type == "local" and not created.built_in and not created.is_default
    assert created.config == {"path": str(tmp_path / "new" / "folder")}
    assert created.credential_type == "none" and created.secret_set is False
    assert "shared_data" in _names()
    shown = _call(datastores.get_datastore, name="shared_data")
    assert (shown.description, shown.tags) == ("team files", {"team": "ml"})


@pytest.mark.usefixtures("database")
def test_a_path_that_is_a_file_is_refused_and_nothing_is_created(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(
        ValidationError, match=r"datastore 'filestore': path .*a\.txt is a file; give a folder"
    ):
        _local("filestore", tmp_path / "a.txt", make=False)
    assert "filestore" not in _names()


@pytest.mark.usefixtures("database")
def test_a_local_datastore_on_a_missing_folder_is_refused_and_makes_no_folder(tmp_path):
    missing = tmp_path / "typo" / "folder"
    with pytest.raises(ValidationError) as caught:
        _local("shared", missing, make=False)
    assert str(caught.value) == (
        f"datastore 'shared': path {missing} does not exist; create the folder first, or give an existing one"
    )
    assert "shared" not in _names() and not (tmp_path / "typo").exists()


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("name", ["workspaceblobstore", "mine"])
def test_a_taken_name_is_a_conflict(tmp_path, name):
    _local("mine", tmp_path / "one")
    with pytest.raises(ConflictError, match=f"datastore '{name}' already exists in workspace 'default'"):
        _local(name, tmp_path / "two", make=False)
    assert not (tmp_path / "two").exists()


@pytest.mark.usefixtures("database")
def test_set_default_keeps_exactly_one_default(tmp_path):
    assert _defaults() == ["workspaceblobstore"]
    _local("mine", tmp_path / "mine")
    assert _call(datastores.set_default_datastore, name="mine").is_default
    assert _defaults() == ["mine"]
    with open_session() as s:
        assert datastores.default_datastore_name(session=s, workspace=WS) == "mine"
    _call(datastores.set_default_datastore, name="mine")  # again: still one
    _call(datastores.set_default_datastore, name="workspacefilestore")
    assert _defaults() == ["workspacefilestore"]


@pytest.mark.usefixtures("database")
def test_update_changes_description_and_tags_but_a_local_store_takes_no_credential(tmp_path):
    _local("mine", tmp_path / "mine", description="old")
    updated = _call(
        datastores.update_datastore,
        name="mine",
        data=datastores.DatastoreUpdate(description="new", tags={"k": "v"}),
    )
    assert (updated.description, updated.tags) == ("new", {"k": "v"})
    with pytest.raises(ValidationError, match="'mine' is a local folder and takes no credential"):
        _call(
            datastores.update_datastore,
            name="mine",
            data=datastores.DatastoreUpdate(
                credentials=datastores.parse_credentials({"account_key": "abcd"})
            ),
        )


# ------------------------------------------------------------------------------------------ delete


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("name", sorted(datastores.BUILTIN_DATASTORES))
def test_builtin_datastores_cannot_be_deleted(name):
    with pytest.raises(ConflictError, match=f"datastore '{name}' is built in and cannot be deleted"):
        _call(datastores.delete_datastore, name=name)
    assert name in _names()


@pytest.mark.usefixtures("database")
def test_the_default_datastore_cannot_be_deleted_until_another_is_default(tmp_path):
    _local("mine", tmp_path / "mine")
    _call(datastores.set_default_datastore, name="mine")
    with pytest.raises(ConflictError, match="'mine' is the default datastore; make another"):
        _call(datastores.delete_datastore, name="mine")
    _call(datastores.set_default_datastore, name="workspaceblobstore")
    _call(datastores.delete_datastore, name="mine")
    assert "mine" not in _names()


@pytest.mark.usefixtures("database")
def test_a_datastore_used_by_a_data_asset_cannot_be_deleted(tmp_path):
    _local("my_store", tmp_path / "a")
    _local("myxstore", tmp_path / "b")
    _add_data_asset("azureml://datastores/my_store/paths/iris/iris.csv", name="iris", version="3")
    with pytest.raises(ConflictError, match=r"'my_store' is used by data assets \(iris:3\)"):
        _call(datastores.delete_datastore, name="my_store")
    # '_' is no wildcard: an asset on my_store does not pin myxstore
    _call(datastores.delete_datastore, name="myxstore")
    assert "my_store" in _names() and "myxstore" not in _names()


@pytest.mark.usefixtures("database")
def test_deleting_unregisters_the_datastore_and_keeps_its_files(tmp_path):
    _local("mine", tmp_path / "mine")
    (tmp_path / "mine" / "keep.txt").write_text("still here")
    assert _call(datastores.delete_refusal, name="mine") is None
    _call(datastores.delete_datastore, name="mine")
    assert "mine" not in _names()
    assert (tmp_path / "mine" / "keep.txt").read_text() == "still here"
    with pytest.raises(NotFoundError, match="datastore 'mine' does not exist in workspace 'default'"):
        _call(datastores.get_datastore, name="mine")


# ------------------------------------------------------------------------------------- file access


@pytest.fixture
def local_files(tmp_path) -> Path:
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "iris.csv").write_text("sepal,species\n5.1,setosa\n4.9,setosa\n6.3,virginica\n")
    (src / "nested" / "m.tsv").write_text("a\tb\n1\tx\n2\ty\n")
    (src / "nested" / "e.jsonl").write_text('{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n')
    pd.DataFrame({"n": [1, 2, 3], "s": ["p", "q", "r"]}).to_parquet(src / "nested" / "t.parquet")
    return src


@pytest.mark.usefixtures("database")
def test_upload_list_download_and_delete_on_a_local_datastore(tmp_path, local_files):
    _local("files", tmp_path / "store")
    written = _call(datastores.upload, name="files", src=local_files, dest="in")
    assert written == ["in/iris.csv", "in/nested/e.jsonl", "in/nested/m.tsv", "in/nested/t.parquet"]
    assert (tmp_path / "store" / "in" / "nested" / "t.parquet").is_file()
    # a file into an existing folder keeps its name; to a new path it takes that name
    assert _call(datastores.upload, name="files", src=local_files / "iris.csv", dest="in/nested") == [
        "in/nested/iris.csv"
    ]
    assert _call(datastores.upload, name="files", src=local_files / "iris.csv", dest="copy.csv") == [
        "copy.csv"
    ]

    listing = _call(datastores.list_files, name="files", path="in")
    assert [(e.name, e.is_dir) for e in listing.entries] == [("nested", True), ("iris.csv", False)]
    assert listing.entries[1].size == (local_files / "iris.csv").stat().st_size
    assert listing.entries[1].modified is not None and listing.total == 2 and not listing.truncated

    out = _call(datastores.download, name="files", src="in/nested", dest=tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["e.jsonl", "iris.csv", "m.tsv", "t.parquet"]
    (tmp_path / "dl").mkdir()
    single = _call(datastores.download, name="files", src="in/iris.csv", dest=tmp_path / "dl")
    assert single == tmp_path / "dl" / "iris.csv" and single.read_text().startswith("sepal,species")

    _call(datastores.delete_file, name="files", path="in/nested")
    assert [e.name for e in _call(datastores.list_files, name="files", path="in").entries] == ["iris.csv"]
    with pytest.raises(NotFoundError, match="in/nested does not exist on datastore 'files'"):
        _call(datastores.delete_file, name="files", path="in/nested")
    with pytest.raises(ValidationError, match="the root of datastore 'files' cannot be deleted"):
        _call(datastores.delete_file, name="files", path="/")


@pytest.mark.usefixtures("database")
def test_bytes_written_from_a_browser_can_be_read_back(tmp_path):
    _local("files", tmp_path / "store")
    info = _call(datastores.upload_bytes, name="files", path="up/notes.txt", data=b"hello")
    assert (info.path, info.size) == ("up/notes.txt", 5)
    assert _call(datastores.read_bytes, name="files", path="up/notes.txt") == b"hello"
    with pytest.raises(ValidationError, match="more than the 0 MB a page downloads"):
        _call(datastores.read_bytes, name="files", path="up/notes.txt", max_bytes=1)
    with pytest.raises(NotFoundError, match="file up does not exist"):
        _call(datastores.read_bytes, name="files", path="up")


@pytest.mark.usefixtures("database")
def test_builtin_datastores_hold_files_too():
    _call(
        datastores.upload_bytes, name="workspaceworkingdirectory", path="notebooks/a.py", data=b"print(1)\n"
    )
    listing = _call(datastores.list_files, name="workspaceworkingdirectory", path="notebooks")
    assert [e.path for e in listing.entries] == ["notebooks/a.py"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("in/iris.csv", {"sepal": [5.1, 4.9], "species": ["setosa", "setosa"]}),
        ("in/nested/m.tsv", {"a": [1, 2], "b": ["x", "y"]}),
        ("in/nested/e.jsonl", {"a": [1, 2], "b": ["x", "y"]}),
        ("in/nested/t.parquet", {"n": [1, 2], "s": ["p", "q"]}),
    ],
)
def test_preview_reads_the_first_rows_of_tabular_files(tmp_path, local_files, path, expected):
    _local("files", tmp_path / "store")
    _call(datastores.upload, name="files", src=local_files, dest="in")
    frame = _call(datastores.preview_file, name="files", path=path, rows=2)
    assert {c: frame[c].tolist() for c in frame.columns} == expected


def test_preview_refuses_other_files_and_says_which_can_be_previewed(tmp_path):
    _local("files", tmp_path / "store")
    _call(datastores.upload_bytes, name="files", path="a.txt", data=b"words")
    with pytest.raises(ValidationError, match=r"a\.txt: only csv, tsv, parquet and json lines"):
        _call(datastores.preview_file, name="files", path="a.txt")
    _call(datastores.upload_bytes, name="files", path="bad.parquet", data=b"not parquet")
    with pytest.raises(ValidationError, match=r"bad\.parquet cannot be read as parquet"):
        _call(datastores.preview_file, name="files", path="bad.parquet")


def test_a_large_folder_listing_is_capped_but_counted(tmp_path):
    folder = tmp_path / "store" / "many"
    folder.mkdir(parents=True)
    for i in range(25):
        (folder / f"f{i:03}.txt").write_text(str(i))
    _local("files", tmp_path / "store")
    listing = _call(datastores.list_files, name="files", path="many", limit=10)
    assert len(listing.entries) == 10 and listing.total == 25 and listing.truncated
    assert listing.entries[0].name == "f000.txt"


@pytest.mark.parametrize("path", ["../outside.txt", "a/../../outside.txt", "/outside.txt"])
def test_paths_stay_inside_the_datastore(tmp_path, path):
    _local("files", tmp_path / "store")
    info = _call(datastores.upload_bytes, name="files", path=path, data=b"x")
    assert info.path == "outside.txt"
    assert (tmp_path / "store" / "outside.txt").is_file() and not (tmp_path / "outside.txt").exists()


def test_listing_a_file_or_a_missing_folder_is_a_clear_error(tmp_path):
    _local("files", tmp_path / "store")
    _call(datastores.upload_bytes, name="files", path="a.csv", data=b"x\n1\n")
    with pytest.raises(ValidationError, match=r"a\.csv on datastore 'files' is a file, not a folder"):
        _call(datastores.list_files, name="files", path="a.csv")
    with pytest.raises(NotFoundError, match="nope does not exist on datastore 'files'"):
        _call(datastores.list_files, name="files", path="nope")


def test_a_datastore_uri_resolves_to_its_store_and_path(tmp_path):
    _local("files", tmp_path / "store")
    store, path = _call(datastores.resolve_uri, uri="azureml://datastores/files/paths/a/b.csv")
    assert (store.name, path) == ("files", "a/b.csv")
    assert store.local_path(path) == tmp_path / "store" / "a" / "b.csv"
    with pytest.raises(ValidationError, match="is not a datastore path"):
        _call(datastores.resolve_uri, uri="azureml:iris:1")
    with pytest.raises(NotFoundError, match="datastore 'ghost' does not exist"):
        _call(datastores.resolve_uri, uri="azureml://datastores/ghost/paths/x")


# ---------------------------------------------------------------------------------------- the YAML


def test_the_clouds_blob_yaml_loads_with_its_schema_and_credential(tmp_path):
    (tmp_path / "blob.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json\n"
        "name: blob_example\ntype: azure_blob\ndescription: Datastore pointing to a blob container.\n"
        "account_name: mytestblobstore\ncontainer_name: data-container\n"
        "credentials:\n  account_key: XXXxxxXXXxXXXXxxXXXXXxXXXXXX\n"
    )
    spec = datastores.load_datastore(tmp_path / "blob.yml")
    assert (spec.name, spec.type, spec.account_name, spec.container_name) == (
        "blob_example",
        "azure_blob",
        "mytestblobstore",
        "data-container",
    )
    assert (spec.endpoint, spec.protocol, spec.credential_kind) == (
        "core.windows.net",
        "https",
        "account_key",
    )
    assert "XXXxxx" not in repr(spec) and "XXXxxx" not in spec.model_dump_json()


def test_gen2_yaml_with_a_service_principal_and_cloud_protocol_names(tmp_path):
    (tmp_path / "adls.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/azureDataLakeGen2.schema.json\n"
        "name: adls_gen2_example\ntype: azure_data_lake_gen2\naccount_name: mytestdatalakegen2\n"
        "filesystem: my-gen2-container\nprotocol: abfss\n"
        "credentials:\n  tenant_id: 00000000-0000-0000-0000-000000000000\n"
        "  client_id: 11111111-1111-1111-1111-111111111111\n  client_secret: s3cr3t-value\n"
    )
    spec = datastores.load_datastore(tmp_path / "adls.yml")
    assert (spec.filesystem, spec.protocol, spec.credential_kind) == (
        "my-gen2-container",
        "https",
        "service_principal",
    )


def test_a_local_path_in_yaml_is_relative_to_the_file_and_set_overrides_apply(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "local.yml").write_text("name: near\ntype: local\npath: ./data\n")
    spec = datastores.load_datastore(tmp_path / "conf" / "local.yml", ["name=renamed", "tags.team=ml"])
    assert (spec.name, spec.path, spec.tags) == ("renamed", str(tmp_path / "conf" / "data"), {"team": "ml"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "type": "table"}, "ds.yml: field 'type': must be one of 'local', 'azure_blob'"),
        ({"name": "x"}, "ds.yml: field 'type' is required"),
        ({"name": "x", "type": "azure_file", "account_name": "acct"}, "'azure_file' is not supported"),
        ({"name": "has space", "type": "local", "path": "/x"}, "field 'name': use 1 to 255 characters"),
        (
            {"name": "x", "type": "azure_blob", "account_name": "Bad_Name", "container_name": "c1c"},
            "field 'account_name': must be 3 to 24 lowercase letters and digits (got 'Bad_Name')",
        ),
        (
            {"name": "x", "type": "azure_blob", "account_name": "acct", "container_name": "A"},
            "field 'container_name': must be 3 to 63 lowercase letters",
        ),
        (
            {
                "name": "x",
                "type": "azure_blob",
                "account_name": "acct",
                "container_name": "data",
                "protocol": "ftp",
            },
            "field 'protocol': must be one of 'https'",
        ),
        (
            {
                "name": "x",
                "type": "azure_blob",
                "account_name": "acct",
                "container_name": "data",
                "endpoint": "https://h",
            },
            "field 'endpoint': must be a host suffix such as core.windows.net, or host:port",
        ),
        (
            {
                "name": "x",
                "type": "azure_blob",
                "account_name": "acct",
                "container_name": "data",
                "credentials": {"account_key": "TOPSECRETKEY", "sas_token": "TOPSECRETSAS"},
            },
            "field 'credentials': give one kind of credential, not account_key and sas_token",
        ),
        (
            {
                "name": "x",
                "type": "azure_blob",
                "account_name": "acct",
                "container_name": "data",
                "credentials": {"account_key": "TOPSECRETKEY", "password": "TOPSECRETPW"},
            },
            "field 'credentials.password' is not allowed here",
        ),
        ({"name": "x", "type": "local", "path": "/x", "color": "red"}, "field 'color' is not allowed here"),
    ],
)
def test_a_bad_datastore_yaml_names_the_field_and_never_the_secret(data, message):
    with pytest.raises(ValidationError) as caught:
        datastores.parse_datastore(data, source="ds.yml")
    assert message in str(caught.value)
    assert "TOPSECRET" not in str(caught.value)


# ----------------------------------------------------------------------------------------- secrets


def test_secrets_round_trip_with_a_key_file_created_private(studio_home):
    from backend.storage import secrets

    token = secrets.encrypt("the-account-key")
    assert "the-account-key" not in token
    assert secrets.decrypt(token) == "the-account-key"
    key_file = studio_home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secrets.decrypt(secrets.encrypt("again")) == "again"
    assert key_file.read_bytes() == key_file.read_bytes()  # created once, reused


def test_a_secret_under_another_key_is_a_clear_error_without_the_token(monkeypatch):
    from backend.settings import reset_settings
    from backend.storage import secrets

    monkeypatch.setenv("STUDIO_SECRET_KEY", "first key")
    reset_settings()
    token = secrets.encrypt("value")
    assert secrets.decrypt(token) == "value"
    monkeypatch.setenv("STUDIO_SECRET_KEY", "another key")
    reset_settings()
    with pytest.raises(StudioError) as caught:
        secrets.decrypt(token, what="the credential of datastore 'blob'")
    message = str(caught.value)
    assert message.startswith("the credential of datastore 'blob' cannot be decrypted with the current key")
    assert "STUDIO_SECRET_KEY" in message and token not in message and "value" not in message


# --------------------------------------------------------------------------------------------- CLI


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("database")
def test_cli_creates_lists_shows_and_sets_the_default(capsys, tmp_path):
    (tmp_path / "t").mkdir()
    code, out, err = run(
        capsys,
        "datastore",
        "create",
        "--name",
        "team",
        "--type",
        "local",
        "--path",
        str(tmp_path / "t"),
        "-o",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["config"] == {"path": str(tmp_path / "t")}
    code, out, _ = run(capsys, "datastore", "list", "-o", "json")
    assert sorted(d["name"] for d in json.loads(out)) == sorted([*datastores.BUILTIN_DATASTORES, "team"])
    assert (
        run(capsys, "datastore", "set-default", "--name", "team")[1].strip()
        == "team is now the default datastore"
    )
    code, out, _ = run(capsys, "datastore", "show", "--name", "team", "-o", "json")
    assert json.loads(out)["is_default"] is True
    code, out, _ = run(capsys, "datastore", "list")
    assert code == 0 and "team" in out and "location" in out


def test_cli_create_from_a_file_with_overrides(capsys, tmp_path):
    (tmp_path / "ds.yml").write_text("name: fromfile\ntype: local\npath: ./here\ndescription: from yaml\n")
    (tmp_path / "here").mkdir()
    code, out, err = run(
        capsys,
        "datastore",
        "create",
        "--file",
        str(tmp_path / "ds.yml"),
        "--set",
        "description=changed",
        "-o",
        "json",
    )
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["name"], shown["description"]) == ("fromfile", "changed")
    assert shown["config"]["path"] == str(tmp_path / "here") and (tmp_path / "here").is_dir()


def test_cli_moves_files_both_ways_and_lists_them(capsys, tmp_path, local_files):
    (tmp_path / "s").mkdir()
    assert (
        run(capsys, "datastore", "create", "-n", "files", "-t", "local", "--path", str(tmp_path / "s"))[0]
        == 0
    )
    code, out, err = run(
        capsys, "datastore", "upload", "-n", "files", "--src", str(local_files), "--dest", "in/"
    )
    assert code == 0, err
    assert out.strip() == "uploaded 4 files to azureml://datastores/files/paths/in/"
    code, out, _ = run(capsys, "datastore", "ls", "-n", "files", "--path", "in", "-o", "json")
    assert [(e["name"], e["is_dir"]) for e in json.loads(out)] == [("nested", True), ("iris.csv", False)]
    code, out, err = run(capsys, "datastore", "ls", "-n", "files", "--path", "in/nested", "--limit", "2")
    assert code == 0 and "showing 2 of 3 entries" in err
    code, out, _ = run(
        capsys, "datastore", "preview", "-n", "files", "-p", "in/iris.csv", "--rows", "1", "-o", "json"
    )
    assert json.loads(out) == [{"sepal": 5.1, "species": "setosa"}]
    dest = tmp_path / "back"
    code, out, err = run(capsys, "datastore", "download", "-n", "files", "--src", "in", "--dest", str(dest))
    assert code == 0, err
    assert (dest / "nested" / "t.parquet").read_bytes() == (local_files / "nested" / "t.parquet").read_bytes()
    assert run(capsys, "datastore", "rm", "-n", "files", "-p", "in/nested", "--yes")[0] == 0
    assert not (tmp_path / "s" / "in" / "nested").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["datastore", "delete", "--name", "workspaceblobstore", "--yes"],
            "is built in and cannot be deleted",
        ),
        (["datastore", "show", "--name", "ghost"], "datastore 'ghost' does not exist in workspace 'default'"),
        (
            ["datastore", "create", "--name", "x", "--type", "nope"],
            "command line: field 'type': must be one of",
        ),
        (["datastore", "create", "--file", "/no/such.yml"], "/no/such.yml: file not found"),
        (
            ["datastore", "create", "--name", "x", "--type", "local", "--path", "/no/such/folder"],
            "datastore 'x': path /no/such/folder does not exist; create the folder first",
        ),
        (["datastore", "ls", "--name", "workspaceblobstore", "--path", "x"], "x does not exist on datastore"),
        (
            ["datastore", "upload", "--name", "workspaceblobstore", "--src", "/no/such/dir"],
            "/no/such/dir does not exist",
        ),
    ],
)
def test_cli_mistakes_are_one_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_delete_asks_first_and_keeps_the_datastore_when_refused(capsys, tmp_path, monkeypatch):
    (tmp_path / "g").mkdir()
    assert (
        run(capsys, "datastore", "create", "-n", "gone", "-t", "local", "--path", str(tmp_path / "g"))[0] == 0
    )
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, _, _ = run(capsys, "datastore", "delete", "--name", "gone")
    assert code == 1 and "gone" in _names()
    code, out, _ = run(capsys, "datastore", "delete", "--name", "gone", "--yes")
    assert code == 0 and out.strip() == "deleted datastore gone" and "gone" not in _names()


def test_cli_credentials_from_the_environment_are_used_only_for_cloud_stores(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("STUDIO_DATASTORE_ACCOUNT_KEY", "ENVKEYVALUE1234")
    (tmp_path / "p").mkdir()
    code, out, err = run(
        capsys, "datastore", "create", "-n", "plain", "-t", "local", "--path", str(tmp_path / "p")
    )
    assert code == 0, err
    assert "ENVKEYVALUE1234" not in out + err
    # an unreachable cloud store: refused, with a message that names it and not the key
    code, out, err = run(
        capsys,
        *("datastore", "create", "-n", "cloud", "-t", "azure_blob", "--account-name", "acct"),
        *("--container-name", "data", "--endpoint", "127.0.0.1:9", "--protocol", "http"),
    )
    assert code == 1
    assert err.startswith("error: datastore 'cloud': cannot reach 127.0.0.1:9")
    assert "ENVKEYVALUE1234" not in out + err and "cloud" not in _names()
    assert os.environ["STUDIO_DATASTORE_ACCOUNT_KEY"] == "ENVKEYVALUE1234"
