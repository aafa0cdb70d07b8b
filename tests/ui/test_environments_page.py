import time

from backend.services import environment_builds, environments, open_session
from backend.specs.environment import EnvironmentSpec

MISSING_PACKAGE = "studio-no-such-package-9f3k2"


def _create(name: str, **fields) -> environments.EnvironmentPublic:
    pip = fields.pop("pip", None)
    with open_session() as s:
        return environments.create_environment(
            session=s, workspace="default", spec=EnvironmentSpec(name=name, **fields), pip_requirements=pip
        )


def _get(name: str) -> environments.EnvironmentPublic:
    with open_session() as s:
        return environments.get_environment(session=s, workspace="default", name=name)


def _names() -> list[str]:
    with open_session() as s:
        return [e.name for e in environments.list_environments(session=s, workspace="default")]


def _packages_table(at):
    return next(d.value for d in at.dataframe if "package" in d.value.columns)


def _detail(app, **query):
    at = app("environments.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_list_shows_builtin_curated_and_custom_environments(app):
    _create("img-env", image="python:3.11")
    _create("pkg-env", pip=["six"])
    at = app("environments.py")
    frame = at.dataframe(key="env_table").value
    kinds = dict(zip(frame["name"], frame["kind"], strict=True))
    assert kinds["Built-in"] == "built-in"
    assert kinds["AzureML-sklearn-1.5"] == "curated"
    assert kinds["img-env"] == kinds["pkg-env"] == "custom"
    runs_in = dict(zip(frame["name"], frame["runs in"], strict=True))
    assert runs_in["img-env"] == "curated base environment" and runs_in["pkg-env"].startswith("venv ")
    status = dict(zip(frame["name"], frame["build status"], strict=True))
    assert status["pkg-env"] == "NotStarted"
    packages = _packages_table(at)
    assert {"numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "mlflow"} <= set(packages["package"])


def test_create_an_environment_from_pip_requirements_on_the_page(app):
    at = app("environments.py")
    at.text_input(key="new_env_name").input("from-page").run()
    at.radio(key="new_env_source").set_value("pip requirements").run()
    at.text_area(key="new_env_pip").input("six\n").run()
    at.checkbox(key="new_env_build").uncheck().run()
    at.button(key="new_env_create").click().run()
    assert not at.exception, at.exception
    env = _get("from-page")
    assert env.details["resolved_requirements"] == ["six"] and env.build_status == "NotStarted"
    assert at.query_params["name"] == "from-page" and at.query_params["version"] == "1"
    assert at.header[0].value == "from-page:1"


def test_a_bad_conda_file_on_the_page_is_one_message_and_nothing_is_created(app):
    at = app("environments.py")
    at.text_input(key="new_env_name").input("bad-conda").run()
    at.text_area(key="new_env_conda").input("dependencies:\n  - python=3.11\n  - cudatoolkit\n").run()
    at.button(key="new_env_create").click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert "conda_file: conda package 'cudatoolkit' has no known pip equivalent here" in at.error[0].value
    assert _names() == []


def test_a_deep_link_shows_the_resolution_reason_and_the_yaml(app):
    _create("img-env", image="mcr.microsoft.com/azureml/curated/sklearn-1.5:3")
    at = _detail(app, name="img-env", version="1")
    assert at.header[0].value == "img-env:1"
    assert "does not run containers" in at.info[0].value
    assert "image: mcr.microsoft.com/azureml/curated/sklearn-1.5:3" in at.code[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs in"] == "built-in" and metrics["Build"] == "none needed"


def test_a_curated_name_opens_the_builtin_explanation(app):
    at = _detail(app, name="AzureML-sklearn-1.5")
    assert at.header[0].value == "AzureML-sklearn-1.5"
    assert "curated cloud environment" in at.info[0].value
    assert "scikit-learn" in list(_packages_table(at)["package"])


def test_the_build_button_starts_a_build_and_the_log_shows_how_it_ended(app):
    env = _create("broken", pip=[MISSING_PACKAGE])
    at = _detail(app, name="broken")
    assert at.button(key="env_build").label == "Build"
    at.button(key="env_build").click().run()
    assert not at.exception, at.exception
    assert _get("broken").build_status in ("Queued", "Building", "Failed")
    deadline = time.monotonic() + 120
    while (
        _get("broken").build_status in environment_builds.ACTIVE_BUILD_STATES and time.monotonic() < deadline
    ):
        time.sleep(0.3)
    assert _get("broken").build_status == "Failed"
    at.run()
    assert "Build failed: uv pip install exited with code" in " ".join(e.value for e in at.error)
    assert any(MISSING_PACKAGE in c.value for c in at.code)
    assert at.button(key="env_build").label == "Build"  # a failed build can be tried again
    assert env.spec_hash in " ".join(c.value for c in at.caption)


def test_archive_and_restore_a_version_from_its_page(app):
    _create("arch-env", image="x")
    _create("arch-env", image="y")
    at = _detail(app, name="arch-env", version="2")
    at.button(key="env_archive").click().run()
    assert not at.exception
    assert _get("arch-env").version == "1"  # @latest went back
    at.button(key="env_restore").click().run()
    assert _get("arch-env").version == "2"
