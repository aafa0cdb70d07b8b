"""The Models page in a real browser: a model logged with plain MLflow is listed, and its card renders."""

import uuid

import pytest

from tests.browser.conftest import grid_cells_contain, shot, wait_for_app
from tests.services.test_models import _log_pyfunc

pytestmark = pytest.mark.browser


def test_a_plain_mlflow_model_is_listed_and_its_card_renders(page, studio):
    name = f"browser-{uuid.uuid4().hex[:6]}"
    _log_pyfunc(studio.info["mlflow_uri"], registered_model_name=name)
    page.goto(f"{page.studio_url}/models")
    wait_for_app(page)
    assert grid_cells_contain(page, name)
    shot(page, "models-list")
    page.goto(f"{page.studio_url}/models?name={name}&version=1")
    wait_for_app(page)
    page.get_by_text("Signature").first.wait_for(timeout=30_000)
    page.get_by_text("accuracy").first.wait_for(
        timeout=30_000
    )  # the run's metric, drawn after the card's text
    assert page.get_by_text("accuracy").count() > 0
    shot(page, "model-card")
