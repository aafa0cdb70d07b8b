import pytest

from backend.services import data_assets, open_session
from tests.browser.conftest import shot, wait_for_app
from tests.conftest import REPO

pytestmark = pytest.mark.browser
IRIS = REPO / "assets" / "sample_data" / "iris.csv"


def test_upload_a_csv_register_it_and_see_preview_and_profile(page):
    page.goto(page.studio_url)
    wait_for_app(page)
    page.get_by_role("link", name="Data", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Register data").click()
    name = page.get_by_label("Name", exact=True)
    name.fill("iris-upload")
    name.press("Enter")
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Type").click()
    page.get_by_role("option", name="uri_file").click()
    wait_for_app(page)
    page.locator("input[type='file']").set_input_files(str(IRIS))
    page.get_by_text("iris.csv").first.wait_for()
    wait_for_app(page)
    shot(page, "01-register-form")
    page.get_by_role("button", name="Register", exact=True).click()
    wait_for_app(page)
    page.get_by_role("heading", name="iris-upload : 1").wait_for()
    shot(page, "02-preview")

    with open_session() as s:
        asset = data_assets.get_data_asset(session=s, workspace="default", name="iris-upload")
    assert asset.type == "uri_file" and asset.size_bytes == IRIS.stat().st_size

    page.get_by_role("tab", name="Profile").click()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    shot(page, "03-profile")
    assert page.locator(".js-plotly-plot").count() >= 5
    assert "iris-upload" in page.url and "version=1" in page.url
