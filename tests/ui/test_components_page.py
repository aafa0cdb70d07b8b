"""The Components page: list, a version by deep link (interface, YAML, versions), register, archive,
and running a component as a job."""

from backend.services import components, jobs, open_session
from backend.statuses import JobStatus
from tests.services.test_pipeline_views import READER, WRITER, register


def _table(at, column: str):
    """A table without row selection (AppTest knows it by its columns, not its key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _open(app, **query):
    at = app("components.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_list_shows_latest_version_count_and_description(app, tmp_path):
    register(tmp_path / "a", WRITER, READER)
    register(tmp_path / "b", WRITER.replace("version: 1", "version: 2"))
    at = app("components.py")
    frame = at.dataframe(key="comp_table").value
    rows = {r["name"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"writer", "reader"}
    assert (rows["writer"]["latest version"], rows["writer"]["versions"]) == ("2", 2)
    assert rows["writer"]["description"] == "writes a greeting to its output folder"


def test_a_deep_link_opens_a_version_with_its_interface_yaml_and_versions(app, tmp_path):
    register(tmp_path / "a", WRITER)
    register(tmp_path / "b", WRITER.replace("version: 1", "version: 2"))
    at = _open(app, name="writer", version="1")
    assert at.header[0].value == "writer:1"
    interface = _table(at, "direction")
    rows = {r["name"]: r for r in interface.to_dict("records")}
    assert set(rows) == {"greeting", "times", "mood", "out"}
    assert (rows["times"]["direction"], rows["times"]["type"], rows["times"]["constraints"]) == (
        "input",
        "integer",
        "min 1.0, max 5.0",
    )
    assert rows["mood"]["constraints"] == "one of calm, loud"
    assert rows["out"]["direction"] == "output"
    assert any(c.value.strip() == WRITER.strip() for c in at.code)  # the YAML as registered
    assert list(_table(at, "archived")["version"]) == ["2", "1"]
    links = [link.proto.page for link in at.get("page_link")]
    assert any("pipelines" in page for page in links)


def test_register_a_component_from_an_uploaded_yaml_and_code(app):
    text = WRITER.replace("version: 1\n", "code: ./src\n")
    at = app("components.py")
    at.file_uploader(key="comp_reg_yaml").upload("writer.yml", text.encode(), "application/x-yaml")
    at.file_uploader(key="comp_reg_files").upload("run.py", b"print('run')\n", "text/x-python")
    at.run()
    at.button(key="comp_reg_upload").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    with open_session() as s:
        found = components.get_component(session=s, workspace="default", name="writer")
    assert found.version == "1" and found.spec["code"].startswith(
        "azureml://datastores/workspaceartifactstore/"
    )
    assert at.query_params["name"] == "writer" and at.query_params["version"] == "1"
    assert at.header[0].value == "writer:1"


def test_a_bad_upload_is_one_message_and_registers_nothing(app):
    at = app("components.py")
    at.file_uploader(key="comp_reg_yaml").upload(
        "broken.yml", b"name: x\nenvironment: e\n", "application/x-yaml"
    )
    at.run()
    at.button(key="comp_reg_upload").click().run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("broken.yml: field 'command'")
    with open_session() as s:
        assert components.list_components(session=s, workspace="default") == []


def test_archive_and_restore_a_version(app, tmp_path):
    register(tmp_path, WRITER)
    at = _open(app, name="writer", version="1")
    at.button(key="comp_archive").click().run()
    assert not at.exception, at.exception
    with open_session() as s:
        assert components.get_component(session=s, workspace="default", name="writer", version="1").archived
        assert components.list_components(session=s, workspace="default") == []
    at.button(key="comp_restore").click().run()
    with open_session() as s:
        assert not components.get_component(
            session=s, workspace="default", name="writer", version="1"
        ).archived


def test_use_in_a_job_shows_the_job_yaml_and_submits_it(app, tmp_path):
    register(tmp_path, WRITER)
    at = _open(app, name="writer", version="1")
    at.selectbox(key="cj_writer_1_kind_times").set_value("literal").run()
    at.number_input(key="cj_writer_1_val_times").set_value(4).run()
    at.selectbox(key="cj_writer_1_kind_mood").set_value("literal").run()
    at.selectbox(key="cj_writer_1_val_mood").set_value("loud").run()
    job_yaml = next(c.value for c in at.code if c.value.startswith("$schema: https://azuremlschemas"))
    assert "times: 4" in job_yaml and "mood: loud" in job_yaml and "greeting: hello" in job_yaml
    at.button(key="cj_writer_1_submit").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    with open_session() as s:
        (job,) = jobs.list_jobs(session=s, workspace="default")
    assert job.inputs["times"]["value"] == 4 and job.inputs["mood"]["value"] == "loud"
    assert job.status == JobStatus.QUEUED and job.tags["component"] == "writer:1"
