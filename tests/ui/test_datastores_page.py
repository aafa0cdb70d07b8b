"""The datastores page, run by Streamlit's AppTest: list, create, detail, delete rules, file browser."""

from __future__ import annotations

from pathlib import Path

from backend.services import datastores, open_session

WS = "default"


def _stores() -> dict[str, datastores.DatastorePublic]:
    with open_session() as s:
        return {d.name: d for d in datastores.list_datastores(session=s, workspace=WS)}


def _local(name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)  # a local datastore names an existing folder
    spec = datastores.parse_datastore({"name": name, "type": "local", "path": str(folder)}, source="test")
    with open_session() as s:
        datastores.create_datastore(session=s, workspace=WS, spec=spec)


def _open(app, **params: str):
    at = app("datastores.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _preview(at, column: str):
    """The preview table (plain tables carry no key in AppTest; it is the one with the file's columns)."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def rendered(at) -> str:
    """Everything the page sent to the browser (every element's message) plus the widget state."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts.append(repr(at.session_state))  # every widget's and the page's own state
    return "\n".join(parts)


def test_the_page_lists_the_datastores_with_the_default_marked(app):
    at = _open(app)
    assert at.title[0].value == "Datastores"
    table = at.dataframe[0].value
    assert sorted(table["name"]) == sorted(datastores.BUILTIN_DATASTORES)
    assert table.loc[table["default"], "name"].tolist() == ["workspaceblobstore"]
    assert all(Path(p).is_dir() for p in table["location"])


def test_create_a_local_datastore_through_the_form(app, tmp_path):
    at = _open(app)
    at.text_input(key="new_ds_name").input("bad name").run()
    assert "is not valid" in at.error[0].value
    assert at.button(key="new_ds_create").disabled
    at.text_input(key="new_ds_name").input("team_files").run()
    at.text_input(key="new_ds_path").input("relative/dir").run()
    assert [e.value for e in at.error] == ["give the folder as an absolute path (/data/shared or ~/data)"]
    at.text_input(key="new_ds_path").input(str(tmp_path / "missing")).run()
    at.button(key="new_ds_create").click().run()
    assert "does not exist" in at.error[0].value and "team_files" not in _stores()
    (tmp_path / "team").mkdir()
    at.text_input(key="new_ds_path").input(str(tmp_path / "team")).run()
    at.text_area(key="new_ds_tags").input("owner=ana").run()
    assert not at.button(key="new_ds_create").disabled
    at.button(key="new_ds_create").click().run()
    assert not at.exception, at.exception
    assert not at.error
    created = _stores()["team_files"]
    assert created.config["path"] == str(tmp_path / "team") and created.tags == {"owner": "ana"}
    assert at.query_params["name"] == "team_files"
    assert at.header[0].value == "team_files"


def test_a_failed_create_shows_one_message_and_keeps_nothing(app, tmp_path):
    (tmp_path / "a-file").write_text("x")
    at = _open(app)
    at.text_input(key="new_ds_name").input("clash").run()
    at.text_input(key="new_ds_path").input(str(tmp_path / "a-file")).run()
    at.button(key="new_ds_create").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"datastore 'clash': path {tmp_path / 'a-file'} is a file; give a folder"
    ]
    assert "clash" not in _stores()


def test_browse_a_folder_and_preview_a_csv_by_deep_link(app, tmp_path):
    store = tmp_path / "store"
    (store / "sub" / "dir").mkdir(parents=True)
    (store / "sub" / "dir" / "iris.csv").write_text("sepal,species\n5.1,setosa\n6.2,virginica\n")
    (store / "sub" / "dir" / "notes.txt").write_text("words")
    (store / "sub" / "dir" / "inner").mkdir()
    _local("browse", store)

    at = _open(app, name="browse")
    assert at.header[0].value == "browse"
    assert at.dataframe(key="ds_files::").value["name"].tolist() == ["sub/"]

    at = _open(app, name="browse", path="sub/dir")
    files = at.dataframe(key="ds_files:sub/dir:").value
    assert files["name"].tolist() == ["inner/", "iris.csv", "notes.txt"]
    assert files["kind"].tolist() == ["folder", "file", "file"]
    assert [b.label for b in at.button if b.key and b.key.startswith("crumb_")] == [
        "browse:/",
        "sub/",
        "dir/",
    ]

    at = _open(app, name="browse", path="sub/dir", file="sub/dir/iris.csv")
    preview = _preview(at, "sepal")
    assert preview.to_dict("list") == {"sepal": [5.1, 6.2], "species": ["setosa", "virginica"]}
    assert at.get("download_button")[0].label == "Download"
    at.button(key="crumb_0").click().run()
    assert at.query_params["path"] == "sub" and "file" not in at.query_params


def test_a_link_to_a_missing_datastore_says_so(app):
    at = _open(app, name="ghost")
    assert at.error[0].value.startswith("datastore 'ghost' does not exist in workspace 'default'")
    at.button(key="ds_back").click().run()
    assert "name" not in at.query_params and at.dataframe[0].value["name"].size == 4


def test_a_missing_folder_link_says_so_and_offers_the_top(app, tmp_path):
    _local("browse", tmp_path / "store")
    at = _open(app, name="browse", path="no/such")
    assert "no/such does not exist on datastore 'browse'" in at.error[0].value
    at.button(key="ds_browse_root").click().run()
    assert "path" not in at.query_params


def test_a_large_folder_is_capped_and_the_page_says_so(app, tmp_path):
    folder = tmp_path / "store" / "many"
    folder.mkdir(parents=True)
    for i in range(505):
        (folder / f"f{i:04}.txt").touch()
    _local("big", tmp_path / "store")
    at = _open(app, name="big", path="many")
    assert len(at.dataframe(key="ds_files:many:").value) == 500
    assert "This folder has 505 entries; the first 500 are listed" in at.warning[0].value


def test_deleting_a_builtin_datastore_is_refused_with_the_reason(app):
    at = _open(app, name="workspaceblobstore")
    at.button(key="ds_delete").click().run()
    assert not at.exception
    assert "datastore 'workspaceblobstore' is built in and cannot be deleted" in [e.value for e in at.error]
    assert "workspaceblobstore" in _stores()


def test_set_default_then_delete_a_user_datastore(app, tmp_path):
    _local("mine", tmp_path / "mine")
    at = _open(app, name="mine")
    at.button(key="ds_set_default").click().run()
    assert _stores()["mine"].is_default and not _stores()["workspaceblobstore"].is_default
    assert at.button(key="ds_set_default").disabled
    at.button(key="ds_delete").click().run()
    assert "make another datastore the default first" in at.error[0].value

    at = _open(app, name="workspaceblobstore")
    at.button(key="ds_set_default").click().run()
    at = _open(app, name="mine")
    at.button(key="ds_delete").click().run()
    at.button(key="ds_delete_do").click().run()
    assert not at.exception
    assert "mine" not in _stores() and "name" not in at.query_params
    assert (tmp_path / "mine").is_dir()


def test_an_azure_blob_datastore_from_the_form_never_shows_its_key(app, azurite):
    container = azurite.new_container()
    key = azurite.account_key
    at = _open(app)
    at.selectbox(key="new_ds_type").set_value("azure_blob").run()
    at.text_input(key="new_ds_name").input("cloudfiles").run()
    at.text_input(key="new_ds_account").input("Not_Valid").run()
    assert "account name must be 3 to 24 lowercase letters and digits" in [e.value for e in at.error]
    at.text_input(key="new_ds_account").input(azurite.account).run()
    at.text_input(key="new_ds_container").input(container).run()
    at.text_input(key="new_ds_endpoint").input(azurite.endpoint).run()
    at.selectbox(key="new_ds_protocol").set_value("http").run()

    # a wrong key first: refused, nothing saved, and the field is emptied
    wrong = "V3JvbmdLZXk" + "B" * 77 + "=="
    at.text_input(key="new_ds_account_key").input(wrong).run()
    assert wrong in rendered(at)  # the search does see a typed value while it is in the field
    at.button(key="new_ds_create").click().run()
    assert not at.exception
    assert "refused the credential" in at.error[0].value
    assert "cloudfiles" not in _stores()
    assert at.text_input(key="new_ds_account_key").value == ""
    assert wrong not in rendered(at)

    at.text_input(key="new_ds_account_key").input(key).run()
    at.button(key="new_ds_create").click().run()
    assert not at.exception, at.exception
    created = _stores()["cloudfiles"]
    assert (created.type, created.credential_type, created.secret_set) == ("azure_blob", "account_key", True)
    assert at.query_params["name"] == "cloudfiles"
    assert any("a secret is set" in s.value for s in at.success)
    assert key not in rendered(at)

    with open_session() as s:
        datastores.upload_bytes(session=s, workspace=WS, name="cloudfiles", path="t/a.csv", data=b"n\n1\n2\n")
    at = _open(app, name="cloudfiles", path="t", file="t/a.csv")
    assert _preview(at, "n")["n"].tolist() == [1, 2]
    assert key not in rendered(at)


def test_replace_the_credential_from_the_detail_view(app, azurite):
    container = azurite.new_container()
    spec = datastores.parse_datastore(
        {
            "name": "rotate",
            "type": "azure_blob",
            "account_name": azurite.account,
            "container_name": container,
            "endpoint": azurite.endpoint,
            "protocol": "http",
            "credentials": {"account_key": azurite.account_key},
        },
        source="test",
    )
    with open_session() as s:
        datastores.create_datastore(session=s, workspace=WS, spec=spec)
    token = azurite.sas_token(container)
    at = _open(app, name="rotate")
    at.radio(key="ds_cred_kind").set_value("sas").run()
    at.text_input(key="ds_cred_sas_token").input(token).run()
    at.button(key="ds_cred_save").click().run()
    assert not at.exception and not at.error
    assert _stores()["rotate"].credential_type == "sas"
    assert at.text_input(key="ds_cred_sas_token").value == ""
    assert token not in rendered(at) and azurite.account_key not in rendered(at)
