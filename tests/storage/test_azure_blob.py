"""Azure Blob (and Data Lake Gen2) datastores against the Azurite emulator on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from backend.errors import StudioError, UnavailableError, ValidationError
from backend.services import datastores, open_session
from backend.storage.filesystems import account_url
from studio.cli import main
from tests.azurite import Azurite

WS = "default"


def _spec(azurite: Azurite, name: str, container: str, credentials: dict | None, **fields):
    data = {
        "name": name,
        "type": "azure_blob",
        "account_name": azurite.account,
        "container_name": container,
        "endpoint": azurite.endpoint,
        "protocol": "http",
        **fields,
    }
    if credentials is not None:
        data["credentials"] = credentials
    return datastores.parse_datastore(data, source=f"{name}.yml")


def _create(azurite: Azurite, name: str, container: str, credentials: dict | None = None, **fields):
    creds = {"account_key": azurite.account_key} if credentials is None else credentials
    with open_session() as s:
        return datastores.create_datastore(
            session=s, workspace=WS, spec=_spec(azurite, name, container, creds, **fields)
        )


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _names() -> list[str]:
    with open_session() as s:
        return [d.name for d in datastores.list_datastores(session=s, workspace=WS)]


def _files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def assert_secret_nowhere(home: Path, secret: str) -> None:
    """The plain secret is in no file under STUDIO_HOME (the database, its WAL, logs, anything)."""
    needle = secret.encode()
    found = [str(p) for p in _files_under(home) if needle in p.read_bytes()]
    assert not found, f"the secret is stored in plain text in {found}"


def test_an_emulator_endpoint_gives_a_path_style_account_url():
    assert account_url({"account_name": "acct", "endpoint": "127.0.0.1:10000", "protocol": "http"}) == (
        "http://127.0.0.1:10000/acct"
    )
    assert account_url({"account_name": "acct", "endpoint": "localhost", "protocol": "http"}) == (
        "http://localhost/acct"
    )
    assert account_url({"account_name": "acct"}) == "https://acct.blob.core.windows.net"
    assert account_url({"account_name": "acct", "endpoint": "core.chinacloudapi.cn"}) == (
        "https://acct.blob.core.chinacloudapi.cn"
    )


@pytest.mark.usefixtures("database")
def test_a_blob_datastore_on_azurite_moves_lists_and_previews_files(azurite, tmp_path, studio_home):
    container = azurite.new_container()
    created = _create(azurite, "blobdata", container, description="emulated")
    assert (created.type, created.credential_type, created.secret_set) == ("azure_blob", "account_key", True)
    assert created.config["url"] == f"http://{azurite.endpoint}/{azurite.account}/{container}"
    assert "credentials" not in created.config and azurite.account_key not in created.model_dump_json()

    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "iris.csv").write_text("sepal,species\n5.1,setosa\n7.0,versicolor\n")
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(src / "deep" / "t.parquet")
    assert _call(datastores.upload, name="blobdata", src=src, dest="in") == [
        "in/deep/t.parquet",
        "in/iris.csv",
    ]
    assert azurite.blob_names(container) == ["in/deep/t.parquet", "in/iris.csv"]

    listing = _call(datastores.list_files, name="blobdata", path="in")
    assert [(e.name, e.is_dir) for e in listing.entries] == [("deep", True), ("iris.csv", False)]
    assert listing.entries[1].size == (src / "iris.csv").stat().st_size and listing.entries[1].modified

    frame = _call(datastores.preview_file, name="blobdata", path="in/iris.csv")
    assert frame.to_dict("list") == {"sepal": [5.1, 7.0], "species": ["setosa", "versicolor"]}
    assert _call(datastores.preview_file, name="blobdata", path="in/deep/t.parquet", rows=2)[
        "x"
    ].tolist() == [1, 2]

    out = _call(datastores.download, name="blobdata", src="in", dest=tmp_path / "out")
    assert (out / "iris.csv").read_text() == (src / "iris.csv").read_text()
    assert (out / "deep" / "t.parquet").read_bytes() == (src / "deep" / "t.parquet").read_bytes()

    _call(datastores.upload_bytes, name="blobdata", path="note.txt", data=b"hi")
    assert _call(datastores.read_bytes, name="blobdata", path="note.txt") == b"hi"
    _call(datastores.delete_file, name="blobdata", path="in/deep")
    assert azurite.blob_names(container) == ["in/iris.csv", "note.txt"]
    if (studio_home / "studio.db").exists():
        assert_secret_nowhere(studio_home, azurite.account_key)


def test_a_data_lake_gen2_datastore_works_through_the_blob_endpoint(azurite):
    container = azurite.new_container("fs")
    spec = datastores.parse_datastore(
        {
            "name": "lake",
            "type": "azure_data_lake_gen2",
            "account_name": azurite.account,
            "filesystem": container,
            "endpoint": azurite.endpoint,
            "protocol": "http",
            "credentials": {"account_key": azurite.account_key},
        },
        source="lake.yml",
    )
    with open_session() as s:
        created = datastores.create_datastore(session=s, workspace=WS, spec=spec)
    assert created.config["filesystem"] == container
    _call(datastores.upload_bytes, name="lake", path="raw/e.jsonl", data=b'{"a": 1}\n{"a": 2}\n')
    assert _call(datastores.preview_file, name="lake", path="raw/e.jsonl")["a"].tolist() == [1, 2]


def test_a_sas_token_datastore_reads_and_writes(azurite):
    container = azurite.new_container()
    token = azurite.sas_token(container)
    created = _create(azurite, "sasdata", container, {"sas_token": token})
    assert (created.credential_type, created.secret_set) == ("sas", True)
    _call(datastores.upload_bytes, name="sasdata", path="a.csv", data=b"a\n1\n")
    assert [e.name for e in _call(datastores.list_files, name="sasdata").entries] == ["a.csv"]


def test_a_read_only_sas_token_fails_to_write_with_a_clear_message(azurite):
    container = azurite.new_container()
    token = azurite.sas_token(container, write=False)
    _create(azurite, "readonly", container, {"sas_token": token})
    with pytest.raises(UnavailableError) as caught:
        _call(datastores.upload_bytes, name="readonly", path="a.csv", data=b"a\n1\n")
    message = str(caught.value)
    assert message.startswith("datastore 'readonly': writing a.csv failed: ")
    assert "not allowed" in message or "refused" in message
    assert token not in message and token.split("sig=")[-1] not in message


@pytest.mark.usefixtures("database")
def test_a_wrong_account_key_is_refused_clearly_and_creates_nothing(azurite, studio_home):
    container = azurite.new_container()
    wrong = "V3JvbmdLZXk" + "A" * 77 + "=="
    started = time.monotonic()
    with pytest.raises(ValidationError) as caught:
        _create(azurite, "badkey", container, {"account_key": wrong})
    message = str(caught.value)
    assert message == (
        f"datastore 'badkey': cannot list container {container!r} of storage account 'devstoreaccount1' at "
        f"http://{azurite.endpoint}/devstoreaccount1: the storage account refused the credential "
        "(check the account key or SAS token)"
    )
    assert wrong not in message and time.monotonic() - started < 10
    assert "badkey" not in _names()
    if (studio_home / "studio.db").exists():
        assert_secret_nowhere(studio_home, wrong)


@pytest.mark.parametrize(
    ("fields", "credentials", "error", "expected"),
    [
        (
            {"endpoint": "127.0.0.1:9"},
            None,
            UnavailableError,
            "cannot reach 127.0.0.1:9 (Connection refused)",
        ),
        (
            {"container_name": "no-such-container"},
            None,
            ValidationError,
            "'no-such-container' of storage account",
        ),
        ({}, {"account_key": "not base64!"}, ValidationError, "the account key is not a valid key"),
        ({}, {}, ValidationError, "the container does not allow anonymous access"),
    ],
)
def test_unreachable_or_wrong_settings_give_one_message_and_create_nothing(
    azurite, fields, credentials, error, expected
):
    container = azurite.new_container()
    started = time.monotonic()
    with pytest.raises(error) as caught:
        _create(azurite, "broken", container, credentials, **fields)
    assert str(caught.value).startswith("datastore 'broken': ")
    assert expected in str(caught.value)
    assert azurite.account_key not in str(caught.value)
    assert time.monotonic() - started < 10
    assert "broken" not in _names()


def test_replacing_the_credential_is_checked_and_a_bad_one_keeps_the_old(azurite):
    container = azurite.new_container()
    _create(azurite, "rotating", container)
    bad = datastores.parse_credentials({"account_key": "QmFkS2V5" * 11})
    with pytest.raises(ValidationError, match=r"'rotating': cannot list .* refused the credential"):
        _call(datastores.update_datastore, name="rotating", data=datastores.DatastoreUpdate(credentials=bad))
    _call(datastores.upload_bytes, name="rotating", path="still.txt", data=b"works")
    sas = datastores.parse_credentials({"sas_token": azurite.sas_token(container)})
    updated = _call(
        datastores.update_datastore, name="rotating", data=datastores.DatastoreUpdate(credentials=sas)
    )
    assert (updated.credential_type, updated.secret_set) == ("sas", True)
    assert _call(datastores.read_bytes, name="rotating", path="still.txt") == b"works"


def test_a_credential_stored_under_another_key_says_so_on_use(azurite, monkeypatch):
    from backend.settings import reset_settings

    container = azurite.new_container()
    monkeypatch.setenv("STUDIO_SECRET_KEY", "the original key")
    reset_settings()
    _create(azurite, "locked", container)
    monkeypatch.setenv("STUDIO_SECRET_KEY", "a different key")
    reset_settings()
    with pytest.raises(StudioError) as caught:
        _call(datastores.list_files, name="locked")
    assert str(caught.value).startswith(
        "the credential of datastore 'locked' cannot be decrypted with the current key (STUDIO_SECRET_KEY)"
    )


def test_the_account_key_appears_nowhere_in_plain_text(azurite, capsys, monkeypatch, tmp_path, studio_home):
    """Created from the CLI with the key in the environment; then every output and file is searched."""
    container = azurite.new_container()
    key = azurite.account_key
    monkeypatch.setenv("STUDIO_DATASTORE_ACCOUNT_KEY", key)
    (tmp_path / "ds.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/azureBlob.schema.json\n"
        f"name: clistore\ntype: azure_blob\naccount_name: {azurite.account}\ncontainer_name: {container}\n"
        f"endpoint: {azurite.endpoint}\nprotocol: http\n"
    )
    outputs = []
    for argv in (
        ["datastore", "create", "--file", str(tmp_path / "ds.yml")],
        ["datastore", "list"],
        ["datastore", "list", "-o", "json"],
        ["datastore", "show", "--name", "clistore", "-o", "json"],
        ["datastore", "show", "--name", "clistore"],
        ["datastore", "upload", "--name", "clistore", "--src", str(tmp_path / "ds.yml"), "--dest", "conf/"],
        ["datastore", "ls", "--name", "clistore", "--path", "conf"],
        ["datastore", "update", "--name", "clistore", "--account-key", "V3Jvbmc=" * 11],
        ["datastore", "update", "--name", "clistore", "--credential-from-env", "-d", "rotated"],
    ):
        code = main(argv)
        out, err = capsys.readouterr()
        outputs.append((argv, code, out + err))
    assert [code for _, code, _ in outputs] == [0, 0, 0, 0, 0, 0, 0, 1, 0]
    shown = json.loads(outputs[3][2])
    assert (shown["credential_type"], shown["secret_set"]) == ("account_key", True)
    assert "refused the credential" in outputs[-2][2]
    for argv, _, text in outputs:
        assert key not in text, f"the key is printed by {argv}"
        assert "V3Jvbmc=" not in text
    assert azurite.blob_names(container) == ["conf/ds.yml"]
    db = studio_home / "studio.db"
    assert db.exists() and Path(f"{db}-wal").exists()  # what is searched exists
    assert_secret_nowhere(studio_home, key)
