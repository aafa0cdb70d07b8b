"""A notebook as a job: papermill in the curated environment, through a real agent and MLflow server.

Parameters are injected, the kernel logs to the job's own MLflow run, the executed notebook is an artifact
of the run (also when the job fails, and when its timeout stops it), a failing cell fails the job with that
cell's exception as its reason, and the job page shows the executed notebook."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from backend.errors import StudioError, ValidationError
from backend.services import datastores, jobs, notebook_jobs, open_session, runs
from backend.specs import parse_spec
from backend.specs.job import CommandJobSpec
from tests.conftest import REPO
from tests.job_fixtures import log_of, submit, wait

NOTEBOOK_JOB_S = 180  # papermill's start (about 4 s here) and a kernel's, under the sandbox


def _cell(kind: str, source: str, tags: tuple[str, ...] = ()) -> dict:
    cell = {"cell_type": kind, "metadata": {"tags": list(tags)}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _notebook(*cells: dict) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": list(cells),
    }


TRAIN = _notebook(
    _cell("markdown", "# Train\nLogs a score per step."),
    _cell("code", "alpha = 0.5\nlabel = 'base'\nsteps = 3\n", ("parameters",)),
    _cell(
        "code",
        "import mlflow\n"
        "if alpha <= 0:\n"
        "    raise ValueError('alpha must be positive')\n"
        "for step in range(steps):\n"
        "    mlflow.log_metric('score', alpha * (step + 1), step=step)\n"
        "print(f'label={label!r} alpha={alpha!r}')\n"
        "import sys\n"
        "print('kernel in', sys.prefix)\n",
    ),
)


def _put(path: str, notebook: dict | bytes) -> None:
    data = notebook if isinstance(notebook, bytes) else json.dumps(notebook).encode()
    with open_session() as s:
        datastores.upload_bytes(
            session=s, workspace="default", name=notebook_jobs.DATASTORE, path=path, data=data
        )


def _submit(path: str, **parameters):
    with open_session() as s:
        return notebook_jobs.submit_notebook_job(
            session=s, workspace="default", path=path, parameters=parameters
        )


def _job_count() -> int:
    with open_session() as s:
        return len(jobs.list_jobs(session=s, workspace="default", include_children=True))


def _injected(notebook: dict) -> str:
    return next(
        "".join(c["source"])
        for c in notebook["cells"]
        if "injected-parameters" in c["metadata"].get("tags", [])
    )


def _outputs_text(notebook: dict) -> str:
    return "".join(
        "".join(out.get("text", ""))
        for cell in notebook["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def _ended_run(run_id: str, timeout_s: float = 30) -> runs.RunInfo:
    """The job's MLflow run once the agent has ended it (its artifacts are uploaded before)."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs.clear_cache()
        run = runs.get_run(run_id=run_id)
        if run.ended or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------ unit tests


def test_notebook_parameters_are_the_literal_assignments_of_the_parameters_cell():
    notebook = _notebook(
        _cell("code", "early = 9\n"),  # before the tagged cell: not a parameter
        _cell(
            "code",
            "import os\n"
            "a = 1\n"
            "b: float = -0.5\n"
            "c, d = 'x', [1, 2]\n"
            "e = len('x')  # not a literal: left out\n"
            "f = g = None\n"
            "h = {'k': (1, True)}\n",
            ("parameters",),
        ),
        _cell("code", "z = 3\n", ("parameters",)),  # papermill uses the first tagged cell only
    )
    assert notebook_jobs.notebook_parameters(notebook) == {
        "a": 1,
        "b": -0.5,
        "c": "x",
        "d": [1, 2],
        "f": None,
        "g": None,
        "h": {"k": (1, True)},
    }
    single = _notebook(_cell("code", "x = 1", ("parameters",)))
    single["cells"][0]["source"] = "x = 1\ny = 'two'"  # a source as one string is as good as lines
    assert notebook_jobs.notebook_parameters(single) == {"x": 1, "y": "two"}
    assert notebook_jobs.notebook_parameters(_notebook(_cell("code", "x = 1\n"))) == {}
    with pytest.raises(ValidationError, match="parameters cell is not valid Python"):
        notebook_jobs.notebook_parameters(_notebook(_cell("code", "x = (\n", ("parameters",))))
    with pytest.raises(ValidationError, match="not a notebook"):
        notebook_jobs.notebook_parameters({"cells": "nope"})


def test_the_yaml_runs_papermill_with_the_parameters_as_inputs(tmp_path):
    text = notebook_jobs.notebook_job_yaml(
        path="train.ipynb",
        parameters={"alpha": 0.5, "label": "run one", "verbose": True},
        compute=None,
        environment=None,
        experiment_name=None,
    )
    assert text == (
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
        "type: command\n"
        "display_name: train.ipynb\n"
        "experiment_name: train\n"
        "code: .\n"
        "command: python -m papermill train.ipynb outputs/train.ipynb -k python3 --log-output --no-progress-bar"
        " -p alpha ${{inputs.alpha}} -r label '${{inputs.label}}' -p verbose ${{inputs.verbose}}\n"
        "inputs:\n"
        "  alpha: 0.5\n"
        "  label: run one\n"
        "  verbose: true\n"
        "environment: azureml:AzureML-sklearn-1.5@latest\n"
    )
    spec = parse_spec(CommandJobSpec, yaml.safe_load(text), source="test")
    assert set(spec.inputs) == {"alpha", "label", "verbose"}
    other = notebook_jobs.notebook_job_yaml(
        path="my notebooks/eda.ipynb",
        parameters={},
        compute="azureml:cpu-cluster",
        environment="azureml:my-env:2",
        experiment_name="eda-runs",
    )
    data = yaml.safe_load(other)
    assert data["command"] == (
        "python -m papermill 'my notebooks/eda.ipynb' outputs/eda.ipynb -k python3 --log-output --no-progress-bar"
    )
    assert (data["compute"], data["environment"], data["experiment_name"]) == (
        "azureml:cpu-cluster",
        "azureml:my-env:2",
        "eda-runs",
    )
    assert "inputs" not in data
    from azure.ai.ml import load_job  # the cloud's SDK loads the same file

    (tmp_path / "job.yml").write_text(text)
    loaded = load_job(tmp_path / "job.yml")
    assert loaded.command == spec.command and set(loaded.inputs) == {"alpha", "label", "verbose"}
    for bad, message in [
        ({"xs": [1, 2]}, "only strings, numbers and booleans"),
        ({"name": "it's"}, "single quote"),
        ({"not a name": 1}, "not a Python name"),
    ]:
        with pytest.raises(ValidationError, match=message):
            notebook_jobs.notebook_job_yaml(
                path="t.ipynb", parameters=bad, compute=None, environment=None, experiment_name=None
            )


PAPERMILL_LOG = """\
Input Notebook:  train.ipynb
Output Notebook: outputs/train.ipynb
Executing Cell 3---------------------------------------
Traceback (most recent call last):
  File "/venv/bin/papermill", line 10, in <module>
    sys.exit(papermill())
papermill.exceptions.PapermillExecutionError:
---------------------------------------------------------------------------
Exception encountered at "In [2]":
---------------------------------------------------------------------------
\x1b[0;31mValueError\x1b[0m                                Traceback (most recent call last)
Cell In[2], line 3
      2 if alpha <= 0:
----> 3     raise ValueError('alpha must be positive')

\x1b[0;31mValueError\x1b[0m: alpha must be positive

"""


def test_the_reason_of_a_failed_notebook_is_its_cells_exception():
    reason = notebook_jobs.failure_from_log(PAPERMILL_LOG, 1)
    first, _, rest = reason.partition("\n")
    assert first == "ValueError: alpha must be positive (notebook train.ipynb, cell In [2]; exit code 1)"
    assert "----> 3     raise ValueError('alpha must be positive')" in rest
    assert "\x1b" not in reason and "sys.exit" not in reason  # the cell's traceback, not papermill's
    syntax = PAPERMILL_LOG.split("\x1b[0;31mValueError\x1b[0m  ")[0] + (
        "  Cell In[2], line 1\n    x = (\n        ^\nSyntaxError: incomplete input\n"
    )
    assert notebook_jobs.failure_from_log(syntax, 1).startswith(
        "SyntaxError: incomplete input (notebook train.ipynb, cell In [2]; exit code 1)"
    )
    assert notebook_jobs.failure_from_log("Traceback ...\nKeyError: 'x'\n", 1) is None  # not papermill's
    # A program that only prints papermill's words is not taken for a failed notebook.
    assert notebook_jobs.failure_from_log('Exception encountered at "In [1]":\nboom\n', 1) is None


@pytest.mark.parametrize(
    ("path", "parameters", "message"),
    [
        ("work/missing.ipynb", {}, "notebook work/missing.ipynb: no such notebook on datastore"),
        ("work/notes.txt", {}, "not a notebook (an .ipynb file)"),
        ("work/broken.ipynb", {}, "notebook work/broken.ipynb: not a notebook (not valid JSON"),
        ("../outside.ipynb", {}, "the path leaves datastore 'workspaceworkingdirectory'"),
        ("work/../../outside.ipynb", {}, "the path leaves datastore"),
        ("", {}, "give the path of an .ipynb file"),
        ("work/train.ipynb", {"beta": 1}, "unknown parameter 'beta' (its parameters: alpha, label, steps)"),
        ("work/train.ipynb", {"alpha": [1]}, "parameter 'alpha': only strings, numbers and booleans"),
    ],
)
def test_bad_input_is_one_message_and_creates_nothing(path, parameters, message):
    _put("work/train.ipynb", TRAIN)
    _put("work/notes.txt", b"not a notebook")
    _put("work/broken.ipynb", b"{not json")
    with pytest.raises(StudioError) as info:
        _submit(path, **parameters)
    assert message in str(info.value)
    assert len(str(info.value).splitlines()) == 1
    assert _job_count() == 0


def test_a_symbolic_link_out_of_the_share_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.ipynb"
    outside.write_text(json.dumps(TRAIN))
    _put("work/train.ipynb", TRAIN)  # (makes the share's folder)
    link = datastores.builtin_folder("default", notebook_jobs.DATASTORE) / "work" / "link.ipynb"
    link.symlink_to(outside)
    with pytest.raises(ValidationError, match=r"notebook work/link\.ipynb: the path leaves datastore"):
        _submit("work/link.ipynb")
    assert _job_count() == 0


def test_an_unknown_compute_creates_nothing():
    _put("work/train.ipynb", TRAIN)
    with open_session() as s, pytest.raises(ValidationError, match="gpu"):
        notebook_jobs.submit_notebook_job(
            session=s, workspace="default", path="work/train.ipynb", parameters={}, compute="gpu"
        )
    assert _job_count() == 0


# ----------------------------------------------------------------------------------- through the agent


@pytest.mark.usefixtures("agent")
def test_a_notebook_runs_as_two_jobs_with_two_parameter_values():
    _put("projects/train/train.ipynb", TRAIN)
    _put("projects/train/other.txt", b"the code folder is the notebook's folder")
    first = _submit("projects/train/train.ipynb", alpha=0.5, label="run one")
    second = _submit("/projects/train/train.ipynb", alpha=2, label="2")  # a string that looks like a number
    assert first.experiment_name == second.experiment_name == "train"  # the notebook's stem
    assert first.inputs["alpha"]["value"] == 0.5 and second.inputs["alpha"]["value"] == 2
    assert first.tags["studio.notebook"] == "projects/train/train.ipynb"
    for job, alpha, label in [(first, 0.5, "run one"), (second, 2, "2")]:
        done = wait(job.name, timeout_s=NOTEBOOK_JOB_S)
        assert done.status == "Completed", done.failure_reason
        run = _ended_run(done.mlflow_run_id)
        assert run.metrics["score"] == alpha * 3  # logged by the kernel, in the job's own run
        history = runs.metric_history(run_id=done.mlflow_run_id, key="score")
        assert (history.steps, history.values) == ([0, 1, 2], [alpha, alpha * 2, alpha * 3])
        assert notebook_jobs.list_notebook_artifacts(run_id=done.mlflow_run_id) == ["outputs/train.ipynb"]
        executed = notebook_jobs.read_notebook_artifact(run_id=done.mlflow_run_id, path="outputs/train.ipynb")
        assert f"alpha = {alpha}" in _injected(executed)
        assert f"label = {json.dumps(label)}" in _injected(executed)  # papermill writes "..."
        assert f"label={label!r} alpha={alpha!r}" in _outputs_text(executed)
        assert f"label={label!r} alpha={alpha!r}" in log_of(job.name)  # --log-output: the cells' output
        # The kernel runs in the job's own layer (``python -m papermill``), as a command's python does.
        assert f"kernel in {jobs.job_dir('default', job.name)}" in _outputs_text(executed)
    with open_session() as s:  # the share keeps the notebook as it was: the job ran a copy
        kept = datastores.read_bytes(
            session=s, workspace="default", name=notebook_jobs.DATASTORE, path="projects/train/train.ipynb"
        )
    assert json.loads(kept) == TRAIN


@pytest.mark.usefixtures("agent")
def test_a_failing_cell_fails_the_job_with_its_exception():
    _put("fail/train.ipynb", TRAIN)
    job = _submit("fail/train.ipynb", alpha=-1)
    done = wait(job.name, timeout_s=NOTEBOOK_JOB_S)
    assert done.status == "Failed"
    first, _, rest = done.failure_reason.partition("\n")
    assert first.startswith("ValueError: alpha must be positive (notebook train.ipynb, cell In [")
    assert first.endswith("; exit code 1)")
    assert "raise ValueError('alpha must be positive')" in rest
    _ended_run(done.mlflow_run_id)
    executed = notebook_jobs.read_notebook_artifact(run_id=done.mlflow_run_id, path="outputs/train.ipynb")
    errors = [
        out for cell in executed["cells"] for out in cell.get("outputs", []) if out["output_type"] == "error"
    ]
    assert [(e["ename"], e["evalue"]) for e in errors] == [("ValueError", "alpha must be positive")]


@pytest.mark.usefixtures("agent")
def test_a_notebook_stopped_by_its_timeout_keeps_the_cells_it_ran(tmp_path):
    slow = _notebook(
        _cell("code", "print('first cell done')\n"),
        _cell("code", "import time\ntime.sleep(600)\n"),
    )
    (tmp_path / "slow.ipynb").write_text(json.dumps(slow))
    text = notebook_jobs.notebook_job_yaml(
        path="slow.ipynb", parameters={}, compute=None, environment=None, experiment_name=None
    )
    job = submit(tmp_path, text + "limits:\n  timeout: 30\n")  # papermill and a kernel start well within
    done = wait(job.name, timeout_s=NOTEBOOK_JOB_S)
    assert done.status == "Failed" and done.failure_reason.startswith("timeout:")
    _ended_run(done.mlflow_run_id)
    executed = notebook_jobs.read_notebook_artifact(run_id=done.mlflow_run_id, path="outputs/slow.ipynb")
    assert "first cell done" in _outputs_text(executed)


@pytest.mark.usefixtures("agent")
def test_the_job_page_shows_the_executed_notebook():
    _put("page/train.ipynb", TRAIN)
    job = _submit("page/train.ipynb", alpha=1.5, label="shown")
    done = wait(job.name, timeout_s=NOTEBOOK_JOB_S)
    assert done.status == "Completed", done.failure_reason
    _ended_run(done.mlflow_run_id)
    at = AppTest.from_file(str(REPO / "studio" / "app.py"), default_timeout=60)
    at.query_params["job"] = job.name
    at.run()
    at.switch_page("../pages/jobs.py").run()
    assert not at.exception, at.exception
    assert "Notebook" in [tab.label for tab in at.tabs]
    codes = [c.value for c in at.code]
    assert any("alpha = 1.5" in c and 'label = "shown"' in c for c in codes)  # the injected cell
    assert any("label='shown' alpha=1.5" in c for c in codes)  # the cell's printed output
    assert any(m.value.startswith("# Train") for m in at.markdown)
