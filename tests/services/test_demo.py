import pytest

from backend.services import data_assets, demo, open_session


@pytest.mark.usefixtures("database")
def test_the_demo_workspace_has_sample_data_and_code_and_can_be_refreshed():
    for _ in range(2):  # make run prepares it on every start
        with open_session() as s:
            assert demo.ensure_demo_workspace(session=s) == "demo"
    with open_session() as s:
        assets = data_assets.list_data_assets(session=s, workspace="demo")
        preview = data_assets.preview_data(session=s, workspace="demo", name="iris", rows=None)
    assert [(a.name, a.latest_version) for a in assets] == [("iris", "1")]
    assert len(preview.frame) == 150
