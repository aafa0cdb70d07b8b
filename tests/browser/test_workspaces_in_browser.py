import pytest

from backend.services import datastores, open_session, workspaces
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app

pytestmark = pytest.mark.browser


def test_create_a_workspace_by_clicking(page):
    page.goto(page.studio_url)
    wait_for_app(page)
    page.get_by_text("Workspace · default").wait_for()
    shot(page, "01-home")

    page.get_by_role("link", name="Workspaces", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="Workspaces").wait_for()
    shot(page, "02-workspaces")

    name = page.get_by_label("Name", exact=True)
    name.fill("browser-ws")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Create", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="browser-ws").wait_for()
    shot(page, "03-workspace-detail")

    with open_session() as s:
        assert workspaces.get_workspace(session=s, name="browser-ws")
        stores = [d.name for d in datastores.list_datastores(session=s, workspace="browser-ws")]
    assert len(stores) == 4
    for store in stores:
        assert grid_cells_contain(page, store), f"{store} is not listed on the page"
    assert "browser-ws" in page.url
