"""The Models page (AppTest) over a real MLflow server: list, deep links, card, lineage, register, archive."""

import uuid

import pytest

from backend.services import models, open_session

pytestmark = pytest.mark.usefixtures("tracking")


def _register(tmp_path, name: str, **kwargs) -> models.ModelPublic:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "weights.bin").write_text("w")
    with open_session() as s:
        return models.create_model(
            session=s, workspace="default", data=models.ModelCreate(name=name, path=str(folder), **kwargs)
        )


def test_the_list_shows_models_and_the_register_form_validates_names(app, tmp_path):
    name = f"page-{uuid.uuid4().hex[:8]}"
    _register(tmp_path, name, description="my model")
    at = app("models.py")
    assert name in list(at.dataframe[0].value["name"])
    at.text_input(key="model_name").input("bad name").run()
    assert "is not valid" in at.error[0].value
    assert at.button(key="model_register").disabled


def test_a_version_deep_link_shows_card_lineage_and_archives(app, tmp_path):
    name = f"page-{uuid.uuid4().hex[:8]}"
    _register(tmp_path, name)
    _register(tmp_path, name, tags={"team": "a"})
    at = app("models.py", name=name, version="2")
    assert at.subheader[0].value == f"{name} : 2"
    files = next(d.value for d in at.dataframe if "path" in d.value.columns)
    assert list(files["path"]) == ["weights.bin"]
    assert any("registered from files" in i.value for i in at.info)  # lineage: no job or run
    at.button(key="model_archive").click().run()
    assert not at.exception
    with open_session() as s:
        assert models.get_model(session=s, workspace="default", name=name).version == "1"


def test_register_from_a_job_output_path_that_does_not_exist_says_why(app):
    at = app("models.py")
    at.text_input(key="model_name").input(f"page-{uuid.uuid4().hex[:8]}").run()
    at.radio(key="model_source").set_value("Job output").run()
    at.text_input(key="model_job").input("no-such-job").run()
    at.text_input(key="model_output").input("model").run()
    at.button(key="model_register").click().run()
    assert not at.exception
    assert any("no-such-job" in e.value and "does not exist" in e.value for e in at.error)
