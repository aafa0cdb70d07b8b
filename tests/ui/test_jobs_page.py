"""The Jobs page through AppTest: list, deep-linked detail, the create form, cancel, clone, comparison."""

from pathlib import Path

from backend.services import data_assets, job_forms, jobs, open_session
from backend.specs.job import CommandJobSpec
from backend.statuses import JobStatus
from tests.conftest import REPO
from tests.job_fixtures import submit, wait

IRIS = REPO / "assets" / "sample_data" / "iris.csv"
ENV = "azureml:AzureML-sklearn-1.5@latest"


def _queue(command: str = "echo hi", **fields):
    """A job row through the real submission path; without an agent it stays Queued."""
    with open_session() as s:
        return jobs.submit_command_job(
            session=s,
            workspace="default",
            spec=CommandJobSpec(command=command, environment=ENV, **fields),
        )


def _status(name: str) -> str:
    with open_session() as s:
        return jobs.get_job(session=s, workspace="default", name=name).status


def _table(at, column: str):
    """The table that has this column (read-only tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_list_shows_jobs_of_several_statuses_and_filters_them(app):
    first = _queue(experiment_name="a")
    second = _queue(experiment_name="b")
    with open_session() as s:
        jobs.cancel_job(session=s, workspace="default", name=first.name)
    at = app("jobs.py")
    frame = at.dataframe[0].value
    assert dict(zip(frame["name"], frame["status"], strict=True)) == {
        first.name: "Canceled",
        second.name: "Queued",
    }
    assert list(frame.columns) == [
        "name",
        "status",
        "experiment",
        "compute",
        "type",
        "duration (s)",
        "created",
    ]
    at.multiselect(key="jobs_status").select("Queued").run()
    assert list(at.dataframe[0].value["name"]) == [second.name]
    at.multiselect(key="jobs_status").unselect("Queued").run()
    at.selectbox(key="jobs_experiment").select("a").run()
    assert list(at.dataframe[0].value["name"]) == [first.name]
    at.text_input(key="jobs_table_filter").input("no-such-job").run()
    assert at.dataframe[0].value.empty
    assert at.button(key="jobs_compare").disabled  # nothing selected


def test_a_job_opens_by_deep_link_with_its_data_input_linked_to_the_data_page(app):
    with open_session() as s:
        data_assets.create_data_asset(
            session=s,
            workspace="default",
            data=data_assets.DataAssetCreate(name="iris", type="uri_file", path=str(IRIS)),
        )
    job = _queue(
        "python -c 'print(1)' ${{inputs.data}} ${{inputs.lr}}",
        display_name="my run",
        inputs={"data": {"type": "uri_file", "path": "azureml:iris:1"}, "lr": 0.5},
        outputs={"model": {"name": "trained"}},
    )
    at = app("jobs.py", job=job.name)
    assert not at.exception
    assert at.header[0].value == "my run"
    inputs = _table(at, "data asset")
    assert dict(zip(inputs["name"], inputs["data asset"], strict=True)) == {"data": "iris:1", "lr": ""}
    link = next(p for p in at.get("page_link") if "iris:1" in p.value)
    assert link.proto.page.endswith("data") and "name=iris" in link.proto.query_string
    assert "version=1" in link.proto.query_string
    outputs = _table(at, "registers as")
    assert outputs["registers as"].tolist() == ["trained"]
    assert any(job.command in c.value for c in at.code)
    assert any("once it starts running" in i.value for i in at.info)  # Queued: no MLflow run yet
    assert at.button(key="job_cancel") and not at.exception


def test_an_unknown_job_is_one_message(app):
    at = app("jobs.py", job="ghost")
    assert not at.exception
    assert [e.value for e in at.error] == ["job 'ghost' does not exist in workspace 'default'"]


def test_cancel_from_the_page(app):
    job = _queue()
    at = app("jobs.py", job=job.name)
    at.button(key="job_cancel").click().run()
    assert not at.exception
    assert _status(job.name) == JobStatus.CANCELED
    assert at.button(key="job_archive")  # an ended job can be archived
    at.button(key="job_archive").click().run()
    with open_session() as s:
        assert jobs.get_job(session=s, workspace="default", name=job.name).archived


def test_the_create_form_shows_one_error_then_submits_the_yaml_it_shows(app):
    at = app("jobs.py", create="1")
    assert not at.exception
    at.radio(key="jf_code_source").set_value("none").run()
    at.text_area(key="jf_command").input("python -c 'print(${{inputs.x}})'").run()
    assert len(at.error) == 1 and "names input 'x', which is not declared" in at.error[0].value
    at.button(key="jf_in_add").click().run()
    at.text_input(key="jf_in_name_0").input("x").run()
    at.text_input(key="jf_in_value_0").input("41").run()
    assert not at.error
    shown_yaml = at.code[0].value
    assert "inputs:\n  x: 41" in shown_yaml and "command: python -c 'print(${{inputs.x}})'" in shown_yaml
    at.button(key="jf_submit").click().run()
    assert not at.exception and not at.error
    name = at.query_params["job"][0] if isinstance(at.query_params["job"], list) else at.query_params["job"]
    with open_session() as s:
        job = jobs.get_job(session=s, workspace="default", name=name)
    assert job.status == JobStatus.QUEUED and job.inputs["x"] == {"kind": "literal", "value": 41}
    assert job.environment.startswith("AzureML-sklearn-1.5")


def test_submitting_an_empty_command_is_one_error_and_no_job(app):
    at = app("jobs.py", create="1")
    at.button(key="jf_submit").click().run()
    assert [e.value for e in at.error] == [
        "job form: field 'command' is required (what to run, e.g. python train.py)"
    ]
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


def test_clone_prefills_the_form_and_resubmits_the_same_code(app, tmp_path: Path):
    (tmp_path / "train.py").write_text("print('x')\n")
    original = submit(
        tmp_path,
        f"""
        command: python train.py --lr ${{{{inputs.lr}}}}
        code: .
        environment: {ENV}
        inputs:
          lr: 0.1
        """,
    )
    at = app("jobs.py", job=original.name)
    at.button(key="job_clone").click().run()
    assert at.query_params["clone"] in (original.name, [original.name])
    assert at.text_area(key="jf_command").value == original.command
    assert at.radio(key="jf_code_source").value == "snapshot"
    at.text_input(key="jf_in_value_0").input("0.2").run()
    at.button(key="jf_submit").click().run()
    assert not at.exception and not at.error
    with open_session() as s:
        clone = next(j for j in jobs.list_jobs(session=s, workspace="default") if j.name != original.name)
        codes = {
            job_forms.job_code(session=s, workspace="default", name=n) for n in (original.name, clone.name)
        }
    assert clone.inputs["lr"]["value"] == 0.2 and len(codes) == 1


TRAIN = """
import sys
import mlflow

lr, layers = float(sys.argv[1]), int(sys.argv[2])
mlflow.log_params({"lr": lr, "layers": layers, "batch": 32})
for step in range(5):
    mlflow.log_metric("loss", 1.0 / (1 + lr * step * layers), step=step)
"""


def test_metrics_and_comparison_draw_charts_for_finished_runs(app, agent, tmp_path: Path):
    names = []
    for lr, layers in ((0.1, 1), (0.5, 2)):
        job = submit(
            tmp_path / f"{lr}",
            f"""
            command: python train.py {lr} {layers}
            code: .
            environment: {ENV}
            experiment_name: cmp
            """,
            {"train.py": TRAIN},
        )
        names.append(job.name)
    for name in names:
        assert wait(name).status == JobStatus.COMPLETED

    at = app("jobs.py", job=names[0])
    assert not at.exception
    params = _table(at, "param")
    assert dict(zip(params["param"], params["value"], strict=True)) == {
        "batch": "32",
        "layers": "1",
        "lr": "0.1",
    }
    assert len(at.get("plotly_chart")) == 1  # the loss curve

    at = app("jobs.py", compare=",".join(names))
    assert not at.exception
    assert at.selectbox(key="cmp_metric").value == "loss"
    assert len(at.get("plotly_chart")) == 1  # only the open view is drawn: the curves
    for view in ("Parallel coordinates", "Scatter"):
        at = app("jobs.py", compare=",".join(names), view=view)
        assert not at.exception and len(at.get("plotly_chart")) == 1, view
    at = app("jobs.py", compare=",".join(names), view="Table")
    table = _table(at, "run")
    assert sorted(table["run"]) == sorted(names)
    assert {"batch", "lr", "layers", "loss (last)", "loss (min)", "loss (max)"} <= set(table.columns)
    at.toggle(key="cmp_diff").set_value(True).run()
    differing = _table(at, "run")
    assert "batch" not in differing.columns and {"lr", "layers", "loss (last)"} <= set(differing.columns)
    at.number_input(key="cmp_best").set_value(1).run()
    assert _table(at, "run")["run"].tolist() == [names[1]]  # the lowest final loss

    at = app("jobs.py", experiment="cmp", view="Table")
    assert not at.exception
    assert len(_table(at, "run")) == 2
