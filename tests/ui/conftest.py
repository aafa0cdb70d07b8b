import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

APP = str(REPO / "studio" / "app.py")


@pytest.fixture
def app():
    """The whole app, as Streamlit runs it, on this test's STUDIO_HOME."""

    def _open(page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        if page:
            at.switch_page(f"../pages/{page}").run()
            assert not at.exception, at.exception
        return at

    return _open
