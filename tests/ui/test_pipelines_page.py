"""The Pipelines page: the list, a pipeline's view by deep link (graph, steps, cancel), and the composer."""

import yaml

from backend.services import jobs, open_session, pipeline_composer
from backend.services import pipeline_views as pv
from backend.statuses import JobStatus
from tests.services.test_pipeline_views import READER, WRITER, register, writer_then_reader


def _open(app, **query):
    at = app("pipelines.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _submit(pipeline) -> jobs.JobPublic:
    with open_session() as s:
        return pipeline_composer.submit_composed(session=s, workspace="default", pipeline=pipeline)


def _table(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_list_shows_each_pipeline_with_its_steps_done_and_status(app, tmp_path):
    register(tmp_path, WRITER, READER)
    first = _submit(writer_then_reader())
    second = _submit(writer_then_reader(display_name="second one"))
    at = app("pipelines.py")
    frame = at.dataframe(key="pl_table").value
    assert list(frame["name"]) == [second.name, first.name]  # newest first
    assert list(frame["steps"]) == ["0/2", "0/2"]
    assert list(frame["display name"]) == ["second one", "write then read"]
    assert all("Queued" in status for status in frame["status"])


def test_an_empty_list_says_how_to_make_a_pipeline(app):
    at = app("pipelines.py")
    assert "Compose one from registered components" in at.info[0].value
    at.button(key="pl_compose").click().run()
    assert at.query_params["compose"] == "1"


def test_a_deep_link_shows_the_graph_steps_and_a_step_and_cancel_works(app, tmp_path):
    register(tmp_path, WRITER, READER)
    job = _submit(writer_then_reader())
    at = _open(app, pipeline=job.name)
    assert at.header[0].value == "write then read"
    assert at.get("plotly_chart"), "the DAG is drawn"
    steps = _table(at, "component")
    assert list(steps["step"]) == ["write", "read"]
    assert list(steps["component"]) == ["writer:1", "reader:1"]
    assert at.selectbox(key="pl_step").value == "write"
    at.selectbox(key="pl_step").set_value("read").run()
    assert not at.exception, at.exception
    assert at.query_params["step"] == "read"
    inputs = _table(at, "from")
    assert dict(zip(inputs["name"], inputs["from"], strict=True))["src"] == "write.outputs.out"
    assert any("it waits for write" in c.value for c in at.caption)
    outputs = _table(at, "published as")
    assert list(outputs["published as"]) == ["pipeline output read_copy"]

    at.button(key="pl_cancel").click().run()
    assert not at.exception, at.exception
    with open_session() as s:
        assert jobs.get_job(session=s, workspace="default", name=job.name).status == JobStatus.CANCELED


def test_a_deep_link_to_a_step_opens_it(app, tmp_path):
    register(tmp_path, WRITER, READER)
    job = _submit(writer_then_reader())
    at = _open(app, pipeline=job.name, step="read")
    assert at.selectbox(key="pl_step").value == "read"


def test_a_deep_link_to_a_missing_pipeline_is_one_message(app):
    at = _open(app, pipeline="nope")
    assert len(at.error) == 1 and "job 'nope' does not exist" in at.error[0].value


def test_the_composer_wires_two_components_and_submits_the_yaml_it_shows(app, tmp_path):
    register(tmp_path, WRITER, READER)
    at = _open(app, compose="1", component="writer:1")
    (first,) = at.session_state["pc_steps"]
    sid = first["id"]
    assert at.text_input(key=f"pc_name_{sid}").value == "writer"
    at.text_input(key=f"pc_name_{sid}").input("make").run()
    at.selectbox(key=f"pc_kind_{sid}_times").set_value("literal").run()
    at.number_input(key=f"pc_val_{sid}_times").set_value(3).run()
    at.selectbox(key="pc_add_component").set_value("reader:1").run()
    at.button(key="pc_add").click().run()
    assert not at.exception, at.exception
    second = at.session_state["pc_steps"][1]["id"]
    # A data input starts wired to the latest earlier output: the only way it can read without a cycle.
    assert at.selectbox(key=f"pc_kind_{second}_src").value == "step_output"
    at.selectbox(key=f"pc_kind_{second}_verbose").set_value("literal").run()
    at.selectbox(key=f"pc_val_{second}_verbose").set_value(True).run()
    at.multiselect(key=f"pc_pub_{second}").select("copy").run()
    at.checkbox(key="pc_force").check().run()
    shown = yaml.safe_load(next(c.value for c in at.code if "type: pipeline" in c.value))
    assert shown["settings"] == {"default_compute": "azureml:serverless", "force_rerun": True}
    assert shown["jobs"] == {
        "make": {"type": "command", "component": "azureml:writer:1", "inputs": {"times": 3}},
        "reader": {
            "type": "command",
            "component": "azureml:reader:1",
            "inputs": {"src": "${{parent.jobs.make.outputs.out}}", "verbose": True},
            "outputs": {"copy": "${{parent.outputs.reader_copy}}"},
        },
    }
    assert shown["outputs"] == {"reader_copy": {"type": "uri_folder"}}

    at.button(key="pc_submit").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    name = at.query_params["pipeline"]
    with open_session() as s:
        view = pv.get_pipeline_view(session=s, workspace="default", name=name)
    assert [s.name for s in view.steps] == ["make", "reader"] and view.edges == [("make", "reader")]
    assert view.settings["force_rerun"] is True
    assert "pc_steps" not in at.session_state  # the composer starts afresh next time


def test_the_composer_offers_only_earlier_outputs_and_declared_pipeline_inputs(app, tmp_path):
    register(tmp_path, WRITER, READER)
    at = _open(app, compose="1", component="reader:1")
    (only,) = at.session_state["pc_steps"]
    sid = only["id"]
    # The first step has no earlier step to read from; without data assets the choice is a data asset.
    assert at.selectbox(key=f"pc_kind_{sid}_src").options == ["Data asset"]
    assert any("No data assets yet" in c.value for c in at.caption)
    assert at.button(key="pc_submit").disabled
    at.button(key="pc_pin_add").click().run()
    (pid,) = at.session_state["pc_pins"]
    at.text_input(key=f"pc_pin_name_{pid}").input("loud").run()
    at.selectbox(key=f"pc_pin_type_{pid}").set_value("boolean").run()
    options = at.selectbox(key=f"pc_kind_{sid}_verbose").options
    assert options == ["Default: false", "Value", "Pipeline input"]
    at.selectbox(key=f"pc_kind_{sid}_verbose").set_value("pipeline_input").run()
    assert at.selectbox(key=f"pc_pin_{sid}_verbose").options == ["loud"]
    shown = yaml.safe_load(next(c.value for c in at.code if "type: pipeline" in c.value))
    assert shown["inputs"] == {"loud": True}
    assert shown["jobs"]["reader"]["inputs"]["verbose"] == "${{parent.inputs.loud}}"


def test_removing_an_upstream_step_unwires_the_steps_that_read_it(app, tmp_path):
    register(tmp_path, WRITER, READER)
    at = _open(app, compose="1", component="writer:1")
    at.selectbox(key="pc_add_component").set_value("reader:1").run()
    at.button(key="pc_add").click().run()
    first, second = (s["id"] for s in at.session_state["pc_steps"])
    assert at.selectbox(key=f"pc_kind_{second}_src").value == "step_output"
    at.button(key=f"pc_remove_{first}").click().run()
    assert not at.exception, at.exception
    assert [s["id"] for s in at.session_state["pc_steps"]] == [second]
    assert at.selectbox(key=f"pc_kind_{second}_src").value == "data"
    assert at.button(key="pc_submit").disabled  # no data asset chosen yet
    assert any("pick the data to read" in c.value for c in at.caption)
