"""Home: the workspace a fresh visit lands on, and the samples a newcomer runs in one click."""

import socket

import pytest
import yaml

from backend.services import demo, jobs, open_session, workspaces
from backend.settings import get_settings
from backend.statuses import JobStatus


def _demo():
    with open_session() as s:
        demo.ensure_demo_workspace(session=s)


def _jobs(workspace="demo"):
    with open_session() as s:
        return jobs.list_jobs(session=s, workspace=workspace)


def _links(at) -> list[str]:
    return [link.label for link in at.get("page_link")]


@pytest.fixture
def listening_agent():
    """A listener on the agent's wake-up socket: what the page checks to tell that an agent runs."""
    path = get_settings().run_dir / "agent.sock"
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield sock
    sock.close()


def test_a_fresh_visit_lands_on_the_demo_workspace_and_links_still_choose(app, monkeypatch):
    assert app().session_state["workspace"] == "default"  # no demo workspace: default, as before
    _demo()
    at = app()
    assert at.session_state["workspace"] == "demo" and at.query_params["ws"] == "demo"
    assert at.title[0].value == "Workspace · demo"
    assert app(ws="default").title[0].value == "Workspace · default"  # a deep link wins
    monkeypatch.setenv("STUDIO_WORKSPACE", "default")  # and so does the configured workspace
    get_settings.cache_clear()
    assert app().session_state["workspace"] == "default"


def test_a_link_to_a_deleted_workspace_says_so_and_shows_the_first_one(app):
    _demo()
    at = app(ws="gone")
    assert at.sidebar.warning[0].value == "Workspace 'gone' does not exist; showing 'demo'."
    with open_session() as s:
        workspaces.delete_workspace(session=s, name="demo", confirm="demo")
    assert app().session_state["workspace"] == "default"


def test_home_offers_both_samples_with_the_yaml_they_submit(app):
    _demo()
    at = app()
    assert at.button(key="home_run_sample_job_demo").label == "Run the sample job"
    assert at.button(key="home_run_sample_sweep_demo").label == "Run the sample sweep"
    job_yaml, job_cli, sweep_yaml, _ = (c.value for c in at.code)
    assert yaml.safe_load(job_yaml)["inputs"] == {
        "iris": {"type": "uri_file", "path": "azureml:iris@latest"},
        "C": 1.0,
    }
    assert (
        job_cli == "studio job create --file assets/sample_code/job.yml --workspace demo --set inputs.C=1.0"
    )
    assert yaml.safe_load(sweep_yaml)["type"] == "sweep"
    assert "The agent is not running" in at.warning[0].value


def test_a_click_without_an_agent_queues_the_job_and_says_that_it_waits(app):
    _demo()
    at = app()
    at.button(key="home_run_sample_job_demo").click().run()
    assert not at.exception
    (queued,) = _jobs()
    assert queued.status == JobStatus.QUEUED and queued.inputs["C"]["value"] == 1.0
    assert f"`{queued.name}` is queued: it starts as soon as the agent runs." in [w.value for w in at.warning]
    assert f"Open {queued.name}" in _links(at)
    # The YAML shown now is the next run's: another C, so that two runs differ.
    assert "--set inputs.C=0.1" in at.code[1].value

    at.button(key="home_run_sample_job_demo").click().run()
    assert len(_jobs()) == 2
    assert "Compare the runs of iris-demo (2)" in _links(at)


def test_a_click_with_the_agent_running_opens_the_new_job_or_sweep(app, listening_agent):
    _demo()
    at = app()
    assert not at.warning  # the agent runs: nothing to warn about
    at.button(key="home_run_sample_job_demo").click().run()
    assert not at.exception
    (job,) = _jobs()
    assert at.query_params["job"] == job.name and at.header[0].value == "iris logistic regression"

    at = app()
    at.button(key="home_run_sample_sweep_demo").click().run()
    assert not at.exception
    sweep = next(j for j in _jobs() if j.type == "sweep")
    assert at.query_params["sweep"] == sweep.name


def test_without_the_iris_asset_the_samples_say_what_they_read_instead_and_still_run(app):
    at = app()  # the default workspace: no iris data asset
    assert any("has no uri_file data asset 'iris'" in c.value for c in at.caption)
    at.button(key="home_run_sample_sweep_default").click().run()
    assert not at.exception
    (sweep,) = _jobs("default")
    assert sweep.type == "sweep" and sweep.status == JobStatus.QUEUED


def test_a_click_drawn_for_a_workspace_deleted_since_submits_nothing_and_says_why(app):
    _demo()
    at = app()
    with open_session() as s:  # deleted in another tab after this page was drawn
        workspaces.delete_workspace(session=s, name="demo", confirm="demo")
    at.button(key="home_run_sample_job_demo").click().run()
    assert not at.exception
    assert at.sidebar.warning[0].value == "Workspace 'demo' does not exist; showing 'default'."
    assert at.title[0].value == "Workspace · default" and not _jobs("default")


def test_while_the_curated_environment_is_not_built_home_says_the_first_run_waits_for_it(
    app, listening_agent, tmp_path, monkeypatch
):
    _demo()
    monkeypatch.setenv("STUDIO_BASE_ENV_DIR", str(tmp_path / "no-base-env-yet"))
    get_settings.cache_clear()
    (info,) = app().info
    assert info.value.startswith("Studio's curated Python environment is not built yet")
