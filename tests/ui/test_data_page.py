from backend.services import data_assets, open_session
from tests.conftest import REPO

IRIS = REPO / "assets" / "sample_data" / "iris.csv"


def _register(name="iris"):
    with open_session() as s:
        return data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name=name, type="uri_file", path=str(IRIS)),
        )


def test_the_list_shows_assets_and_the_register_form_validates_names(app):
    _register()
    at = app("data.py")
    assert list(at.dataframe[0].value["name"]) == ["iris"]
    at.text_input(key="data_name").input("bad name").run()
    assert "is not valid" in at.error[0].value
    assert at.button(key="data_register").disabled


def test_register_from_a_datastore_path(app):
    with open_session() as s:
        from backend.services import datastores

        datastores.get_filesystem(session=s, workspace="default", name="workspaceblobstore").put(
            IRIS, "raw/iris.csv"
        )
    at = app("data.py")
    at.text_input(key="data_name").input("from-store").run()
    at.selectbox(key="data_type").select("uri_file").run()
    at.radio(key="data_source").set_value("Datastore path").run()
    at.text_input(key="data_store_path").input("raw/iris.csv").run()
    at.button(key="data_register").click().run()
    assert not at.exception
    assert at.query_params["name"] == "from-store"
    with open_session() as s:
        asset = data_assets.get_data_asset(session=s, workspace="default", name="from-store")
    assert asset.path == "azureml://datastores/workspaceblobstore/paths/raw/iris.csv"


def test_a_version_page_shows_preview_profile_and_charts_by_deep_link(app):
    _register()
    _register()
    at = app("data.py", name="iris", version="1")
    assert not at.exception
    assert at.header[0].value == "iris : 1"
    preview, profile = at.dataframe[0].value, at.dataframe[1].value
    assert len(preview) == 100 and list(preview.columns)[-1] == "species"
    assert set(profile["name"]) == {"sepal_length", "sepal_width", "petal_length", "petal_width", "species"}
    assert len(at.get("plotly_chart")) == 5


def test_archive_from_the_page_moves_latest_back(app):
    _register()
    _register()
    at = app("data.py", name="iris", version="2")
    at.button(key="data_archive").click().run()
    with open_session() as s:
        assert data_assets.get_data_asset(session=s, workspace="default", name="iris").version == "1"


def test_an_unknown_asset_is_one_message(app):
    at = app("data.py", name="ghost")
    assert not at.exception
    assert "'ghost' does not exist" in at.error[0].value
