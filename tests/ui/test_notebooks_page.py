"""The Notebooks page, run by Streamlit's AppTest: the share's tree, a notebook rendered with its outputs,
new notebook / rename / delete, one-line errors, Run as job, and the compute instance panel with JupyterLab."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from backend.identity import acting_as
from backend.services import compute, datastores, jobs, notebook_servers, notebooks, open_session
from tests.ui.conftest import APP

WS = "default"


def _call(fn, **kwargs):
    with open_session() as s:
        return fn(session=s, workspace=WS, **kwargs)


def _open(app, **params: str) -> AppTest:
    at = app("notebooks.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _paths(**kwargs) -> list[str]:
    return [e.path for e in _call(notebooks.list_tree, **kwargs).entries]


def _tree(at: AppTest):
    return next(d.value for d in at.dataframe if "kind" in d.value.columns)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _notebook(path: str, cells: list[dict]) -> None:
    nb = notebooks.new_notebook_json() | {"cells": cells}
    _call(notebooks.upload, path=path, data=json.dumps(nb).encode())


def _code(source: str, outputs: list[dict] | None = None, *, count: int = 1, tags=()) -> dict:
    return {
        "cell_type": "code",
        "execution_count": count,
        "id": f"c{count}",
        "metadata": {"tags": list(tags)},
        "outputs": outputs or [],
        "source": source,
    }


def _instance(name: str = "box") -> None:
    with open_session() as s:
        compute.create_compute_from_form(
            session=s, workspace=WS, form=compute.ComputeForm(name=name, type=compute.INSTANCE)
        )


# ---------------------------------------------------------------------------------------- tree and view


def test_the_page_shows_the_tree_of_the_share_without_hidden_files(app):
    _call(notebooks.new_folder, path="project")
    _call(notebooks.new_notebook, path="project/train")
    _call(notebooks.upload, path="readme.md", data=b"# hi")
    share = datastores.builtin_folder(WS, "workspaceworkingdirectory")
    (share / ".ipynb_checkpoints").mkdir()
    at = _open(app)
    assert at.title[0].value == "Notebooks"
    tree = _tree(at)
    assert tree["path"].tolist() == ["project", "project/train.ipynb", "readme.md"]
    assert tree["kind"].tolist() == ["folder", "notebook", "file"]
    assert tree["name"].tolist()[1].endswith("train.ipynb") and tree["size"].tolist()[2] == 4
    assert not _errors(at)
    # The filter box keeps the rows whose path matches.
    at.text_input(key="nb_filter").input("train").run()
    assert _tree(at)["path"].tolist() == ["project/train.ipynb"]


def test_a_path_link_renders_the_notebook_with_its_outputs(app):
    _notebook(
        "report.ipynb",
        [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Iris report"},
            _code(
                "print('hello from a cell')\n6 * 7",
                [
                    {"output_type": "stream", "name": "stdout", "text": "hello from a cell\n"},
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "data": {"text/plain": "4242"},
                        "metadata": {},
                    },
                ],
            ),
        ],
    )
    at = _open(app, path="report.ipynb")
    assert not _errors(at)
    assert [m.value for m in at.markdown if "Iris report" in m.value]
    codes = [c.value for c in at.code]
    assert "hello from a cell" in codes and "4242" in codes
    assert any("print('hello from a cell')" in c for c in codes)
    assert at.get("download_button")[0].proto.label == "Download"


def test_new_notebook_rename_and_delete_through_the_page(app):
    at = _open(app)
    at.text_input(key="nb_new_name").input("analysis").run()
    at.button(key="nb_new_notebook").click().run()
    assert not at.exception and not _errors(at)
    assert _paths() == ["analysis.ipynb"] and at.query_params["path"] == "analysis.ipynb"
    assert (
        _call(notebooks.read_notebook, path="analysis.ipynb")["metadata"]["kernelspec"]["name"] == "python3"
    )
    assert at.text_input(key="nb_new_name").value == ""  # emptied for the next one

    at.text_input(key="nb_new_name").input("project").run()
    at.button(key="nb_new_folder").click().run()
    assert _paths() == ["project", "analysis.ipynb"] and at.query_params["path"] == "project"
    at.text_input(key="nb_new_name").input("fit").run()
    at.button(key="nb_new_notebook").click().run()  # into the selected folder
    assert "project/fit.ipynb" in _paths()

    at = _open(app, path="analysis.ipynb")
    assert at.text_input(key="nb_rename_name").value == "analysis.ipynb"
    at.text_input(key="nb_rename_name").input("eda.ipynb").run()
    at.button(key="nb_rename_do").click().run()
    assert not _errors(at)
    assert "eda.ipynb" in _paths() and "analysis.ipynb" not in _paths()
    assert at.query_params["path"] == "eda.ipynb"

    at.button(key="nb_delete").click().run()
    at.button(key="nb_delete_do").click().run()
    assert not at.exception and not _errors(at)
    assert _paths() == ["project", "project/fit.ipynb"] and "path" not in at.query_params

    at = _open(app, path="project")
    at.button(key="nb_delete").click().run()
    at.button(key="nb_delete_cancel").click().run()
    assert "project" in _paths()
    at.button(key="nb_delete").click().run()
    at.button(key="nb_delete_do").click().run()
    assert _paths() == []


def test_errors_are_one_line_and_change_nothing(app):
    _call(notebooks.new_notebook, path="a")
    _call(notebooks.upload, path="notes.txt", data=b"plain text")
    _call(notebooks.upload, path="broken.ipynb", data=b"{not json")
    for path, message in (
        ("../../etc/passwd", "path '../../etc/passwd' leaves your notebooks folder ('..' is not allowed)"),
        ("/etc/passwd", "path '/etc/passwd' is absolute: give it relative to your notebooks folder"),
        ("gone.ipynb", "file or folder gone.ipynb does not exist in your notebooks folder"),
    ):
        at = _open(app, path=path)
        assert _errors(at) == [message]
        assert _tree(at)["path"].tolist() == ["a.ipynb", "broken.ipynb", "notes.txt"]
    at = _open(app, path="broken.ipynb")
    [error] = _errors(at)
    assert error.startswith("broken.ipynb is not a valid notebook: not JSON") and "\n" not in error
    at = _open(app, path="notes.txt")
    assert not _errors(at) and any("Notebooks (.ipynb) are shown here" in c.value for c in at.caption)

    before = _paths()
    at = _open(app)
    for name, message in (
        ("a", "a.ipynb already exists"),
        ("x/y", "name 'x/y' holds '/': give a name, not a path"),
    ):
        at.text_input(key="nb_new_name").input(name).run()
        at.button(key="nb_new_notebook").click().run()
        assert not at.exception
        [error] = _errors(at)
        assert message in error and "\n" not in error
    at.text_input(key="nb_new_name").input("").run()
    at.button(key="nb_new_folder").click().run()
    assert _errors(at) == ["give a name"]
    at = _open(app, path="a.ipynb")
    at.text_input(key="nb_rename_name").input("notes.txt").run()
    at.button(key="nb_rename_do").click().run()
    assert _errors(at) == ["notes.txt already exists"]
    at.text_input(key="nb_rename_name").input("sub/b.ipynb").run()
    at.button(key="nb_rename_do").click().run()
    assert _errors(at) == ["name 'sub/b.ipynb' holds '/': give a name, not a path"]
    assert _paths() == before


# ------------------------------------------------------------------------------------------ run as job


def test_run_as_job_prefills_the_parameters_and_links_to_the_job(app):
    _call(notebooks.new_folder, path="exp")
    _notebook(
        "exp/train.ipynb",
        [
            _code("alpha = 0.5\nepochs = 3\nname = 'iris'\nlayers = [1, 2]", tags=["parameters"]),
            _code("print(alpha)", count=2),
        ],
    )
    _instance("box")
    at = _open(app, path="exp/train.ipynb")
    assert at.number_input(key="nb_param_alpha").value == 0.5
    assert at.number_input(key="nb_param_epochs").value == 3
    assert at.text_input(key="nb_param_name").value == "iris"
    assert any("layers = [1, 2]" in c.value for c in at.caption)  # not passed: set in the notebook
    assert at.text_input(key="nb_job_experiment").value == "train"
    at.number_input(key="nb_param_alpha").set_value(0.25)
    at.selectbox(key="nb_job_compute").set_value("box")
    at.button(key="FormSubmitter:nb_job_form-Run as job").click().run()
    assert not at.exception and not _errors(at)
    [job] = _call(jobs.list_jobs)
    assert job.compute == "box" and job.experiment_name == "train"
    assert "papermill" in job.command and "alpha" in job.command
    assert [p.proto.query_string for p in at.get("page_link") if job.name in p.proto.label] == [
        f"ws={WS}&job={job.name}"
    ]


# ---------------------------------------------------------------------------------------- the instance


def test_the_instance_panel_starts_and_stops_an_instance(app):
    at = _open(app)
    assert any("No compute instance in this workspace" in c.value for c in at.caption)
    _instance("box")
    at = _open(app, compute="box")
    assert at.selectbox(key="nb_compute").value == "box"
    assert _call(compute.get_compute, name="box").state == "Running"  # (an instance starts when created)
    assert at.button(key="nb_compute_start").disabled and not at.button(key="nb_compute_stop").disabled
    # No agent runs in this test: the server is still to start, and the page says so.
    assert any("JupyterLab: **Starting**" in c.value for c in at.caption)
    at.button(key="nb_compute_stop").click().run()
    assert not at.exception and not _errors(at)
    assert _call(compute.get_compute, name="box").state == "Stopped"
    assert at.button(key="nb_compute_stop").disabled
    assert any("JupyterLab starts with the instance." in c.value for c in at.caption)
    at.button(key="nb_compute_start").click().run()
    assert _call(compute.get_compute, name="box").state == "Running"

    at = _open(app, compute="nope")
    assert [w.value for w in at.warning] == [
        "Compute instance 'nope' does not exist in this workspace; showing 'box'."
    ]


def test_open_in_jupyterlab_goes_straight_to_the_chosen_file(app, monkeypatch):
    asked = []

    def server_for(*, session, workspace, compute):
        return notebook_servers.NotebookServer(compute, "Running", url="http://127.0.0.1:9/lab")

    def open_url(*, session, workspace, compute, path=None):
        asked.append((workspace, compute, path))
        return f"http://127.0.0.1:9/lab/tree/{path}?token=t0k" if path else "http://127.0.0.1:9/lab?token=t0k"

    # The boundary: a real server needs the agent and JupyterLab (tests/browser starts them).
    monkeypatch.setattr(notebook_servers, "server_for", server_for)
    monkeypatch.setattr(notebook_servers, "open_url", open_url)
    _instance("box")
    _call(notebooks.new_folder, path="exp")
    _call(notebooks.new_notebook, path="exp/fit")
    at = _open(app, compute="box", path="exp/fit.ipynb")
    [link] = at.get("link_button")
    assert link.proto.url == "http://127.0.0.1:9/lab/tree/exp/fit.ipynb?token=t0k"
    assert link.proto.label == "Open fit.ipynb in JupyterLab"
    assert asked[-1] == (WS, "box", "exp/fit.ipynb")
    at = _open(app, compute="box")
    assert at.get("link_button")[0].proto.url == "http://127.0.0.1:9/lab?token=t0k"
    # In team mode only the instance's user and Owners get the link (the service says who may).
    monkeypatch.setattr(notebook_servers, "open_url", lambda **_: None)
    monkeypatch.setattr(notebook_servers, "may_open", lambda **_: False)
    at = _open(app, compute="box")
    assert not at.get("link_button")
    assert any("Only the instance's user (who created it) and Owners" in c.value for c in at.caption)


# ------------------------------------------------------------------------------------------- team mode


def _signed_in(name: str, password: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="sign_in_submit").click().run()
    at.switch_page("../pages/notebooks.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_in_team_mode_each_user_sees_their_folder_and_a_reader_changes_nothing(team):
    with acting_as(team["olivia"]):
        _call(notebooks.new_notebook, path="owners")
    at = _signed_in("dana", "dana-pass-1")
    assert any("`Users/dana/`" in c.value for c in at.caption)
    assert not at.toggle  # the whole share is an Owner's
    at.text_input(key="nb_new_name").input("mine").run()
    at.button(key="nb_new_notebook").click().run()
    assert not _errors(at)
    assert _tree(at)["path"].tolist() == ["mine.ipynb"]
    with acting_as(team["dana"]):
        assert _paths() == ["mine.ipynb"]

    at = _signed_in("rick", "rick-pass-1")
    at.text_input(key="nb_new_name").input("x").run()
    at.button(key="nb_new_notebook").click().run()
    assert _errors(at) == ["rick (Reader) may not change notebooks: Readers only read"]
    at = _signed_in("rick", "rick-pass-1", share="1")
    assert _errors(at) == [
        "rick (Reader) may not browse the whole notebook share: only Owners see every user's folder"
    ]

    at = _signed_in("olivia", "owner-pass-1")
    assert _tree(at)["path"].tolist() == ["owners.ipynb"]
    at.toggle(key="nb_whole_share").set_value(True).run()
    assert at.query_params["share"] == "1"
    assert _tree(at)["path"].tolist() == [
        "Users",
        "Users/dana",
        "Users/dana/mine.ipynb",
        "Users/olivia",
        "Users/olivia/owners.ipynb",
    ]
    at.query_params["path"] = "Users/dana/mine.ipynb"
    at.run()
    assert not _errors(at) and any("In [ ]" in c.value for c in at.caption)
    with acting_as(team["rick"]):
        assert _paths() == []


def test_a_download_reads_the_file_as_the_user_who_asked_though_it_runs_on_another_thread(team):
    import threading

    from studio.ui.notebooks import files

    with acting_as(team["olivia"]):
        _call(notebooks.upload, path="same-name.txt", data=b"olivia's")
    with acting_as(team["dana"]):
        _call(notebooks.upload, path="same-name.txt", data=b"dana's")
        content = files.downloader(_call(notebooks.notebook_root), "same-name.txt", whole_share=False)
    got: list[bytes] = []
    thread = threading.Thread(target=lambda: got.append(content()))  # (no user set on that thread)
    thread.start()
    thread.join()
    assert got == [b"dana's"]
