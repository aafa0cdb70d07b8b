import pytest

from backend.services import datastores, open_session
from tests.browser.conftest import grid_cells_contain, shot, wait_for_app

pytestmark = pytest.mark.browser


def _fill(page, label: str, value: str) -> None:
    field = page.get_by_role("textbox", name=label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_for_app(page)


def _choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_create_a_blob_datastore_upload_and_preview_without_the_key_on_the_page(page, azurite, tmp_path):
    container = azurite.new_container()
    key = azurite.account_key
    page.goto(page.studio_url)
    wait_for_app(page)
    page.get_by_role("link", name="Datastores").click()
    wait_for_app(page)
    page.get_by_role("heading", name="Datastores").wait_for()
    shot(page, "01-datastores")

    _choose(page, "Type", "Azure Blob Storage")
    _fill(page, "Name", "cloudstore")
    _fill(page, "Storage account", azurite.account)
    _fill(page, "Container", container)
    _fill(page, "Endpoint", azurite.endpoint)
    _choose(page, "Protocol", "http")
    _fill(page, "Account key", key)
    shot(page, "02-create-form")
    page.get_by_role("button", name="Create", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="cloudstore").wait_for()
    # The form (with the key typed in it) goes once the rerun that created the datastore has drawn its page.
    page.get_by_role("textbox", name="Account key").wait_for(state="detached")
    wait_for_app(page)
    assert key not in page.content()
    with open_session() as s:
        created = datastores.get_datastore(session=s, workspace="default", name="cloudstore")
    assert (created.type, created.secret_set) == ("azure_blob", True)

    csv = tmp_path / "flowers.csv"
    csv.write_text("sepal,species\n5.1,setosa\n6.3,virginica\n")
    page.get_by_text("Upload files to this folder").click()
    page.locator("input[type='file']").set_input_files(str(csv))
    page.get_by_text("flowers.csv").first.wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("Uploaded 1 file").wait_for()
    wait_for_app(page)
    assert azurite.blob_names(container) == ["flowers.csv"]
    assert grid_cells_contain(page, "flowers.csv")
    shot(page, "03-files")

    # select the file's row (the check box left of it, drawn on the table's canvas) to open it
    files_table = page.get_by_test_id("stDataFrame").filter(has_text="flowers.csv").first
    box = files_table.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
    wait_for_app(page)
    page.get_by_role("heading", name="flowers.csv").wait_for()
    assert "file=flowers.csv" in page.url
    page.get_by_role("tab", name="Settings").click()
    page.get_by_text("a secret is set").wait_for()
    page.get_by_role("tab", name="Files").click()
    assert grid_cells_contain(page, "virginica")
    shot(page, "04-preview")
    assert key not in page.content()
    page.get_by_test_id("stTabs").get_by_role("button", name="Close", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="flowers.csv").wait_for(state="detached")
    wait_for_app(page)
    assert "file=" not in page.url
    shot(page, "05-closed")
