import http.server
import threading
from functools import partial

import pytest

from backend.services import (
    ConflictError,
    NotFoundError,
    ValidationError,
    data_assets,
    datastores,
    open_session,
)
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("database")
IRIS = REPO / "assets" / "sample_data" / "iris.csv"
MLTABLE_CASE = REPO / "tests" / "fixtures" / "mltable" / "case_01_csv_basic_infer"


def _create(**kwargs) -> data_assets.DataAssetPublic:
    base_dir = kwargs.pop("base_dir", None)
    with open_session() as s:
        return data_assets.create_data_asset(
            session=s, workspace="default", data=data_assets.DataAssetCreate(**kwargs), base_dir=base_dir
        )


def _names() -> list[str]:
    with open_session() as s:
        return [
            a.name
            for a in data_assets.list_data_assets(session=s, workspace="default", include_archived=True)
        ]


def test_the_same_local_file_twice_gives_versions_1_and_2_and_latest_follows_archiving():
    first = _create(name="iris", type="uri_file", path=str(IRIS))
    second = _create(name="iris", type="uri_file", path=str(IRIS))
    assert (first.version, second.version) == ("1", "2")
    # Content-addressed upload: both versions point at the one copy under LocalUpload/<hash>/.
    assert first.path == second.path
    assert first.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    with open_session() as s:
        assert (
            data_assets.get_data_asset(session=s, workspace="default", name="iris", label="latest").version
            == "2"
        )
        data_assets.archive_data_asset(session=s, workspace="default", name="iris", version="2")
    with open_session() as s:
        assert data_assets.get_data_asset(session=s, workspace="default", name="iris").version == "1"
        data_assets.restore_data_asset(session=s, workspace="default", name="iris", version="2")
        assert data_assets.get_data_asset(session=s, workspace="default", name="iris").version == "2"


def test_upload_is_a_copy_so_later_changes_to_the_local_file_do_not_change_the_asset(tmp_path):
    local = tmp_path / "numbers.csv"
    local.write_text("a,b\n1,2\n")
    asset = _create(name="numbers", type="uri_file", path=str(local))
    local.write_text("a,b\n9,9\n")
    with open_session() as s:
        frame = data_assets.preview_data(session=s, workspace="default", name="numbers").frame
    assert frame.to_dict("records") == [{"a": 1, "b": 2}]
    assert asset.size_bytes == len("a,b\n1,2\n")


def test_explicit_versions_are_immutable_and_next_integer_skips_strings():
    _create(name="iris", version="7", type="uri_file", path=str(IRIS))
    _create(name="iris", version="beta", type="uri_file", path=str(IRIS))
    with pytest.raises(ConflictError, match="iris:7 already exists"):
        _create(name="iris", version="7", type="uri_file", path=str(IRIS))
    assert _create(name="iris", type="uri_file", path=str(IRIS)).version == "8"


def test_datastore_path_is_registered_in_place():
    with open_session() as s:
        store = datastores.get_filesystem(session=s, workspace="default", name="workspacefilestore")
    store.put(IRIS, "shared/iris.csv")
    asset = _create(
        name="shared", type="uri_folder", path="azureml://datastores/workspacefilestore/paths/shared"
    )
    assert asset.path == "azureml://datastores/workspacefilestore/paths/shared"
    with open_session() as s:
        preview = data_assets.preview_data(session=s, workspace="default", name="shared", rows=5)
    assert preview.source == "iris.csv" and len(preview.frame) == 5 and preview.truncated


def test_a_web_file_is_recorded_then_downloaded_for_previews(tmp_path):
    (tmp_path / "iris.csv").write_bytes(IRIS.read_bytes())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/iris.csv"
        asset = _create(name="web-iris", type="uri_file", path=url)
        assert asset.path == url and asset.size_bytes == IRIS.stat().st_size
        with open_session() as s:
            frame = data_assets.preview_data(session=s, workspace="default", name="web-iris", rows=None).frame
        assert len(frame) == 150
        with pytest.raises(ValidationError, match="answered HTTP 404"):
            _create(name="missing", type="uri_file", path=url.replace("iris", "nope"))
    finally:
        server.shutdown()


def test_mltable_assets_read_through_the_mltable_reader():
    _create(name="table", type="mltable", path=str(MLTABLE_CASE))
    with open_session() as s:
        frame = data_assets.preview_data(session=s, workspace="default", name="table", rows=None).frame
    expected = (MLTABLE_CASE / "expected.csv").read_text()
    assert frame.to_csv(index=False) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "a", "type": "uri_folder", "path": str(IRIS)},
            "is a file, but type uri_folder needs a folder",
        ),
        (
            {"name": "a", "type": "uri_file", "path": str(IRIS.parent)},
            "is a folder, but type uri_file needs a file",
        ),
        (
            {"name": "a", "type": "uri_file", "path": "/nowhere/x.csv"},
            "local path '/nowhere/x.csv' does not exist",
        ),
        ({"name": "a", "type": "mltable", "path": str(IRIS.parent)}, "has no MLTable file"),
        (
            {"name": "a", "type": "uri_file", "path": "azureml://datastores/ghost/paths/x"},
            "datastore 'ghost' does not exist",
        ),
        (
            {"name": "a", "type": "uri_file", "path": "azureml://datastores/workspaceblobstore/paths/x"},
            "does not exist on datastore",
        ),
        (
            {"name": "bad name", "type": "uri_file", "path": str(IRIS)},
            "data asset name 'bad name' is not valid",
        ),
        ({"name": "a", "type": "uri_file", "path": "ftp://h/x"}, "unknown scheme 'ftp'"),
    ],
)
def test_bad_input_is_one_clear_message_and_creates_nothing(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        _create(**kwargs)
    assert _names() == []


def test_yaml_file_in_the_cloud_format_is_accepted_unchanged(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_bytes(IRIS.read_bytes())
    spec = tmp_path / "data.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
        "name: iris-folder\nversion: 3\ntype: uri_folder\npath: ./data\n"
        "description: Iris as a folder\ntags:\n  source: sklearn\n"
    )
    with open_session() as s:
        asset = data_assets.create_data_asset_from_file(session=s, workspace="default", file=spec)
    assert (asset.name, asset.version, asset.type, asset.tags) == (
        "iris-folder",
        "3",
        "uri_folder",
        {"source": "sklearn"},
    )
    spec.write_text("name: x\ntype: uri_folder\npath: ./data\ncolour: blue\n")
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=r"data.yml: field 'colour' is not allowed here"),
    ):
        data_assets.create_data_asset_from_file(session=s, workspace="default", file=spec)
    spec.write_text("name: x\ntype: table\npath: ./data\n")
    with open_session() as s, pytest.raises(ValidationError, match=r"data.yml: field 'type': .*uri_file"):
        data_assets.create_data_asset_from_file(session=s, workspace="default", file=spec)
    spec.write_text("name: x\ntype: uri_folder\npath: ./gone\n")
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=r"data.yml: path: local path .*gone' does not exist"),
    ):
        data_assets.create_data_asset_from_file(session=s, workspace="default", file=spec)
    assert _names() == ["iris-folder"]


def test_profile_counts_types_and_missing_values(tmp_path):
    local = tmp_path / "people.csv"
    local.write_text("age,city\n30,Oslo\n,Rome\n40,Oslo\n")
    _create(name="people", type="uri_file", path=str(local))
    with open_session() as s:
        profile, _ = data_assets.profile_data(session=s, workspace="default", name="people")
    by_name = {c.name: c for c in profile.columns}
    assert profile.rows == 3
    assert by_name["age"].missing == 1 and by_name["age"].mean == 35.0 and by_name["age"].dtype == "float64"
    assert by_name["city"].top == "Oslo (2)" and by_name["city"].distinct == 2


def test_unknown_versions_and_names_are_not_found():
    _create(name="iris", type="uri_file", path=str(IRIS))
    with open_session() as s:
        with pytest.raises(NotFoundError, match=r"iris:9 does not exist \(versions: 1\)"):
            data_assets.get_data_asset(session=s, workspace="default", name="iris", version="9")
        with pytest.raises(NotFoundError, match="'ghost' does not exist"):
            data_assets.get_data_asset(session=s, workspace="default", name="ghost")
