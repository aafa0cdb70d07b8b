"""The Sweeps page: the list, a sweep's view by deep link (trials, policy reasons, charts, compute), the
policy what-if on a finished sweep, the "Create sweep" wizard, and the chart builders behind them."""

from __future__ import annotations

import json

import pytest

from backend.services import components, open_session, sweeps
from backend.statuses import JobStatus
from studio.ui import sweep_charts
from tests.conftest import STUDIO_ENV, reset_caches
from tests.job_fixtures import AgentProcess, submit, wait
from tests.services.test_importance import sweep_view

# Logs `acc` over MLflow's REST API (no `import mlflow`: trials start fast). Low-q trials are slow, so the
# bandit policy finds them still running once the good trials have reported; kind b (0.9x) is slower than
# kind a, so a replayed tight bandit finds it still running when kind a reports.
TRAIN = """
    import argparse, json, os, time, urllib.request
    p = argparse.ArgumentParser()
    p.add_argument("--q", type=float)
    p.add_argument("--kind")
    a = p.parse_args()
    url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
    for i in range(4):
        value = a.q * (i + 1) / 4 * (1.0 if a.kind == "a" else 0.9)
        body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "acc", "value": value,
                "timestamp": int(time.time() * 1000), "step": i}
        urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(),
                                                      {"Content-Type": "application/json"})).read()
        time.sleep(1.5 if a.q < 0.5 else 0.3 if a.kind == "a" else 0.8)
"""
SWEEP = """
    type: sweep
    display_name: q-by-kind
    trial:
      code: src
      command: python train.py --q ${{search_space.q}} --kind ${{search_space.kind}}
      environment: azureml:AzureML-sklearn-1.5@latest
    sampling_algorithm: grid
    search_space:
      q: {type: choice, values: [1.0, 0.2]}
      kind: {type: choice, values: [b, a]}
    objective: {goal: maximize, primary_metric: acc}
    limits: {max_total_trials: 4, max_concurrent_trials: 2}
    early_termination: {type: bandit, slack_factor: 0.2}
"""


def _view(name: str) -> sweeps.SweepView:
    with open_session() as s:
        return sweeps.get_sweep(session=s, workspace="default", name=name)


def _open(app, **query):
    at = app("sweeps.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _table_with(at, column: str):
    """The shown table that has ``column`` (tables without selection carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


@pytest.fixture(scope="session")
def finished_home(tmp_path_factory, mlflow_server):
    """One real sweep (grid of 4, bandit policy) run by a real agent, shared by the tests of a class. Session
    scope: a class fixture was made again for each of its tests in a CI run (60-73 s each)."""
    from backend.db import ensure_schema

    home = tmp_path_factory.mktemp("sweeps_page") / "home"
    with pytest.MonkeyPatch.context() as mp:
        for name in STUDIO_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("STUDIO_HOME", str(home))
        mp.setenv("STUDIO_MLFLOW_URI", mlflow_server)
        reset_caches()
        ensure_schema()
        agent = AgentProcess(home).start()
        try:
            job = submit(home.parent, SWEEP, {"src/train.py": TRAIN})
            done = wait(job.name, timeout_s=180)
        finally:
            agent.stop()
        assert done.status == JobStatus.COMPLETED, (done.failure_reason, agent.log()[-3000:])
        reset_caches()
    return home, job.name


@pytest.mark.xdist_group("finished_sweep")  # (its class fixture runs a sweep: once)
class TestAFinishedSweep:
    @pytest.fixture
    def studio_home(self, finished_home, monkeypatch):
        home, _ = finished_home
        for name in STUDIO_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("STUDIO_HOME", str(home))
        reset_caches()
        yield home
        reset_caches()

    @pytest.fixture
    def name(self, finished_home) -> str:
        return finished_home[1]

    def test_the_list_shows_the_sweep_with_trials_done_and_its_best_value(self, app, name):
        at = _open(app)
        table = at.dataframe(key="sw_table").value
        row = table[table["name"] == name].iloc[0]
        view = _view(name)
        best = next(t for t in view.trials if t.is_best)
        assert (row["status"], row["trials done"], row["max trials"]) == ("Completed", 4, 4)
        assert (row["objective"], row["best trial"], row["policy"]) == ("maximize acc", best.name, "bandit")
        assert row["best value"] == pytest.approx(best.metric) == pytest.approx(1.0)
        at.multiselect(key="sw_status").set_value(["Failed"]).run()
        assert not at.dataframe and "No sweep matches these filters" in at.info[0].value

    def test_a_deep_link_shows_trials_with_sampled_values_and_the_policy_reasons(self, app, name):
        view = _view(name)
        canceled = {t.name: t.canceled_by["reason"] for t in view.trials if t.canceled_by}
        assert canceled, "the bandit policy canceled no trial"
        at = _open(app, sweep=name)
        assert at.header[0].value == "q-by-kind"
        table = at.dataframe(key="sw_trials").value
        assert list(table["trial"]) == [f"{name}_{i}" for i in range(4)]
        assert [(q, k) for q, k in zip(table["q"], table["kind"], strict=True)] == [
            (1.0, "b"),
            (1.0, "a"),
            (0.2, "b"),
            (0.2, "a"),
        ]
        assert table["best"].sum() == 1 and table[table["best"]]["trial"].item() == view.best_trial
        shown = dict(zip(table["trial"], table["canceled by policy"], strict=True))
        for trial, reason in canceled.items():
            assert shown[trial] == reason and reason.startswith("bandit policy at interval ")
            assert "with slack_factor 0.2)" in reason
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Trials done"] == "4 / 4" and metrics["Canceled by policy"] == str(len(canceled))
        assert metrics["Best acc"] == "1"
        links = [el.proto.label for el in at.get("page_link")]
        assert f"Best trial: {view.best_trial} (acc 1)" in links
        assert not _figures(at)  # only the open tab is drawn

    def test_each_chart_tab_opens_by_link(self, app, name):
        at = _open(app, sweep=name, tab="Charts")
        titles = [f["layout"]["title"]["text"] for f in _figures(at)]
        assert titles == ["acc by trial (maximize)", "Learning curves: acc per interval"]
        best_line = next(t for t in _figures(at)[0]["data"] if t["name"] == "best so far")
        assert best_line["y"] == [0.9, 1.0, 1.0, 1.0]
        dashed = [t["name"] for t in _figures(at)[1]["data"] if t.get("line", {}).get("dash") == "dash"]
        assert dashed == [f"{name}_{i} (canceled by policy)" for i in (2, 3)]
        at.query_params["tab"] = "Parallel coordinates"
        at.run()
        (parallel,) = _figures(at)
        dims = parallel["data"][0]["dimensions"]
        assert [d["label"] for d in dims] == ["q", "kind", "acc"]
        assert dims[1]["ticktext"] == ["b", "a"]  # a categorical axis keeps the search space's order
        at.query_params["tab"] = "Importance"
        at.run()
        (bars,) = _figures(at)
        assert bars["data"][0]["type"] == "bar" and bars["data"][0]["y"][-1] == "kind"  # q never varied
        at.query_params["tab"] = "Scatter"
        at.run()
        at.segmented_control(key="sw_sc_mode").set_value("3-D").run()
        assert not at.exception and _figures(at)[0]["data"][0]["type"] == "scatter3d"

    def test_the_what_if_replays_another_policy_on_the_finished_sweep(self, app, name):
        at = _open(app, sweep=name, tab="Policy what-if")
        at.selectbox(key="sw_wi_type").set_value("truncation_selection").run()
        at.slider(key="sw_wi_pct").set_value(50).run()
        assert not at.exception, at.exception
        policy = {"type": "truncation_selection", "truncation_percentage": 50}
        expected = sweeps.replay_policy(
            _view(name), {**policy, "evaluation_interval": 1, "delay_evaluation": 0}
        )
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Trials it would stop"] == f"{len(expected.stopped)} of 4"
        assert metrics["Best trial survives"] == ("yes" if expected.best_survives else "no")
        if expected.stopped:
            table = _table_with(at, "stopped at interval")
            assert dict(zip(table["trial"], table["reason"], strict=True)) == {
                t: info["reason"] for t, info in expected.stopped.items()
            }
        # A loose bandit stops nothing, and says so.
        at.selectbox(key="sw_wi_type").set_value("bandit").run()
        at.number_input(key="sw_wi_slack").set_value(5.0).run()
        assert "would not have stopped any trial" in at.success[0].value
        # A tight one stops the 0.9x trial (kind b) while it runs behind the best, and marks it on the curves.
        at.number_input(key="sw_wi_slack").set_value(0.05).run()
        stops = sweeps.replay_policy(
            _view(name),
            {"type": "bandit", "slack_factor": 0.05, "evaluation_interval": 1, "delay_evaluation": 0},
        )
        assert f"{name}_0" in stops.stopped and stops.best_survives
        table = _table_with(at, "stopped at interval")
        assert set(table["trial"]) == set(stops.stopped)
        assert {m.label: m.value for m in at.metric}["Best trial survives"] == "yes"
        curves = [
            f for f in _figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Learning")
        ]
        marks = next(t for t in curves[-1]["data"] if t.get("name") == "would stop here")
        assert sorted(c[0] for c in marks["customdata"]) == sorted(stops.stopped)

    def test_the_list_pages_through_every_sweep_with_the_true_total(self, app, name):
        """(Last in the class: it adds 59 sweeps.) 60 sweeps: the first page shows 50 of the true total,
        Next and a deep link show the rest, and the search runs in the database over all of them."""
        from backend.services import jobs
        from backend.services.lookup import get_job_row, get_workspace_row

        with open_session() as s:
            row = get_job_row(session=s, workspace="default", name=name)
            ws = get_workspace_row(session=s, name="default")
            for i in range(59):
                jobs.insert_job(
                    session=s, workspace_id=ws.id, name=f"copy_{i:02d}", type_="sweep", spec=row.spec,
                    compute=row.compute, state={"trials": []},
                )  # fmt: skip
        at = _open(app)
        assert "60 sweeps" in at.caption[0].value and "rows 1-50 of 60" in at.caption[0].value
        assert len(at.dataframe(key="sw_table").value) == 50
        at.button(key="sw_next").click().run()
        assert not at.exception, at.exception
        assert "rows 51-60 of 60" in at.caption[0].value
        assert len(at.dataframe(key="sw_table").value) == 10 and at.query_params["page"] == "2"
        linked = _open(app, page="2")
        assert "rows 51-60 of 60" in linked.caption[0].value
        at.text_input(key="sw_search").set_value("copy_5").run()
        shown = at.dataframe(key="sw_table").value
        assert sorted(shown["name"]) == [f"copy_5{i}" for i in range(9)]
        assert "rows 1-9 of 9" in at.caption[0].value


def test_a_sweep_that_does_not_exist_is_one_error(app):
    at = _open(app, sweep="nope")
    assert [e.value for e in at.error] == ["job 'nope' does not exist in workspace 'default'"]


# ----------------------------------------------------------------------------------------------- wizard


def _fill(at, **widgets):
    """Set widgets named ``"<kind>:<key>"`` (e.g. ``text_input:sw_metric``) one after the other."""
    for name, value in widgets.items():
        kind, _, key = name.partition(":")
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, at.exception
    return at


def test_the_wizard_checks_the_search_space_as_you_type_and_names_the_parameter(app):
    at = _open(app, create="1")
    _fill(at, **{"text_input:sw_p_name_0": "lr", "selectbox:sw_p_type_0": "uniform"})
    _fill(at, **{"text_input:sw_p_min_value_0": "0.5", "text_input:sw_p_max_value_0": "0.1"})
    assert [e.value for e in at.error] == [
        "sweep wizard: search_space.lr: min_value must be below max_value (got 0.5 and 0.1)"
    ]
    _fill(at, **{"text_input:sw_p_min_value_0": "abc"})
    assert [e.value for e in at.error] == [
        "sweep wizard: search_space.lr.min_value: must be a number (got 'abc')"
    ]
    _fill(at, **{"text_input:sw_p_min_value_0": "0.01", "selectbox:sw_algorithm": "grid"})
    assert [e.value for e in at.error] == [
        "sweep wizard: search_space.lr: the grid sampling algorithm does not support 'uniform' (it supports choice)"
    ]
    _fill(at, **{"selectbox:sw_algorithm": "random"})
    assert not at.error
    # Every type shows its own arguments.
    _fill(at, **{"selectbox:sw_p_type_0": "qlognormal"})
    keys = {w.key for w in at.text_input}
    assert {"sw_p_mu_0", "sw_p_sigma_0", "sw_p_q_0"} <= keys
    assert [e.value for e in at.error] == ["sweep wizard: search_space.lr: 'qlognormal' needs mu, sigma, q"]
    # The YAML beside the form follows the fields.
    _fill(at, **{"selectbox:sw_p_type_0": "choice", "text_input:sw_p_values_0": "0.1, 0.01"})
    assert "  lr:\n    type: choice\n    values:\n    - 0.1\n    - 0.01\n" in at.code[0].value


def test_the_wizard_refuses_on_submit_with_one_error_and_submits_a_valid_sweep(app):
    at = _open(app, create="1")
    at.button(key="sw_submit").click().run()
    assert len(at.error) == 1 and at.error[0].value.startswith("sweep wizard: trial.command: required")
    _fill(
        at,
        **{
            "text_area:sw_command": "echo ${{search_space.lr}} ${{search_space.units}}",
            "text_input:sw_metric": "loss",
            "selectbox:sw_goal": "minimize",
            "text_input:sw_p_name_0": "lr",
            "selectbox:sw_p_type_0": "loguniform",
            "text_input:sw_p_min_value_0": "-6",
            "text_input:sw_p_max_value_0": "-2",
        },
    )
    assert [e.value for e in at.error] == [
        "sweep wizard: trial.command: '${{search_space.units}}' names parameter 'units', which is not declared "
        "(search_space: lr)"
    ]
    at.button(key="sw_p_add").click().run()
    _fill(
        at,
        **{
            "text_input:sw_p_name_1": "units",
            "selectbox:sw_p_type_1": "quniform",
            "text_input:sw_p_min_value_1": "16",
            "text_input:sw_p_max_value_1": "128",
            "text_input:sw_p_q_1": "16",
            "text_input:sw_seed": "11",
            "number_input:sw_max_total": 3,
            "selectbox:sw_et_type": "median_stopping",
            "number_input:sw_et_delay": 2,
            "text_input:sw_name": "wizard-sweep",
        },
    )
    assert not at.error
    text = at.code[0].value
    assert "sampling_algorithm:\n  type: random\n  seed: 11\n  rule: random\n" in text
    at.button(key="sw_submit").click().run()
    assert not at.exception and not at.error
    assert at.query_params["sweep"] == "wizard-sweep"
    view = _view("wizard-sweep")
    assert view.search_space == {
        "lr": {"type": "loguniform", "min_value": -6, "max_value": -2},
        "units": {"type": "quniform", "min_value": 16, "max_value": 128, "q": 16},
    }
    assert (view.goal, view.primary_metric, view.job.state["seed"], view.limits["max_total_trials"]) == (
        "minimize",
        "loss",
        11,
        3,
    )
    assert view.policy == {"type": "median_stopping", "evaluation_interval": 1, "delay_evaluation": 2}
    assert at.header[0].value == "wizard-sweep"  # the deep link opened the new sweep


def test_the_wizard_runs_a_registered_component_and_sweeps_its_inputs(app, tmp_path):
    (tmp_path / "comp.yml").write_text(
        "type: command\nname: tiny_train\nversion: 3\n"
        "inputs:\n  rate: {type: number, min: 0, max: 1}\n  epochs: {type: integer, default: 2}\n"
        "environment: azureml:AzureML-sklearn-1.5@latest\ncommand: echo ${{inputs.rate}} ${{inputs.epochs}}\n"
    )
    with open_session() as s:
        components.create_component_from_file(session=s, workspace="default", file=tmp_path / "comp.yml")
    at = _open(app, create="1")
    _fill(at, **{"radio:sw_trial_kind": "component", "text_input:sw_metric": "acc"})
    interface = _table_with(at, "constraints")
    assert list(interface["name"]) == ["rate", "epochs"]
    _fill(at, **{"text_input:sw_p_name_0": "lr", "text_input:sw_p_values_0": "0.1, 0.2"})
    assert [e.value for e in at.error] == [
        "sweep wizard: search_space.lr: the trial component has no input 'lr' (inputs: rate, epochs)"
    ]
    _fill(at, **{"text_input:sw_p_name_0": "rate"})
    assert not at.error and "trial: azureml:tiny_train:3\n" in at.code[0].value
    at.button(key="sw_submit").click().run()
    view = _view(at.query_params["sweep"])
    assert view.search_space == {"rate": {"type": "choice", "values": [0.1, 0.2]}}


# ---------------------------------------------------------------------------------------- chart builders

SPACE = {
    "opt": {"type": "choice", "values": ["sgd", "adam", "rmsprop"]},
    "lr": {"type": "uniform", "min_value": 0.0, "max_value": 1.0},
}
CANCELED = {"policy": "bandit", "interval": 1, "reason": "bandit policy at interval 1: ...", "numbers": {}}


def _small_view(goal="maximize"):
    return sweep_view(
        [
            {"params": {"opt": "adam", "lr": 0.5}, "curve": [0.2, 0.5, 0.7]},
            {
                "params": {"opt": "sgd", "lr": 0.1},
                "curve": [0.1],
                "status": "Canceled",
                "canceled_by": CANCELED,
            },
            {"params": {"opt": "rmsprop", "lr": 0.9}, "curve": [0.3, 0.6, 0.9]},
            {"params": {"opt": "adam", "lr": 0.3}, "curve": [], "status": "Failed"},
        ],
        space=SPACE,
        goal=goal,
    )


def test_trials_frame_has_sampled_values_as_columns_and_marks_the_best():
    frame = sweep_charts.trials_frame(_small_view())
    assert list(frame.columns[:6]) == ["trial", "#", "status", "opt", "lr", "acc"]
    assert list(frame["best"]) == [False, False, True, False]
    assert list(frame["canceled by policy"]) == ["", CANCELED["reason"], "", ""]
    assert list(frame["note"]) == ["", "", "", ""]
    never = sweep_view([{"params": {"opt": "sgd", "lr": 0.1}, "curve": []}], space=SPACE)
    assert list(sweep_charts.trials_frame(never)["note"]) == ["never logged 'acc': not ranked"]
    assert frame["lr"].dtype.kind == "f" and list(frame["opt"]) == ["adam", "sgd", "rmsprop", "adam"]


def test_metric_over_trials_draws_the_running_best_for_the_goal():
    assert sweep_charts.running_best(_small_view()) == [(0, 0.7), (1, 0.7), (2, 0.9), (3, 0.9)]
    assert sweep_charts.running_best(_small_view("minimize")) == [(0, 0.7), (1, 0.1), (2, 0.1), (3, 0.1)]
    fig = sweep_charts.metric_over_trials(_small_view())
    best = next(t for t in fig.data if t.name == "best so far")
    assert list(best.y) == [0.7, 0.7, 0.9, 0.9] and best.line.shape == "hv"


def test_learning_curves_dash_canceled_trials_and_mark_what_if_stops():
    view = _small_view()
    fig = sweep_charts.learning_curves(view, stopped={"sw_2": {"interval": 2, "reason": "would stop"}})
    lines = {t.name: t for t in fig.data if t.name}
    assert lines["sw_1 (canceled by policy)"].line.dash == "dash" and lines["sw_0"].line.dash == "solid"
    assert list(lines["sw_2"].y) == [0.3, 0.6]  # the part it would have run; the rest is faded
    faded = [t for t in fig.data if t.legendgroup == "sw_2" and t.opacity == 0.25]
    assert len(faded) == 1 and list(faded[0].y) == [0.6, 0.9]
    marks = lines["would stop here"]
    assert (list(marks.x), list(marks.y)) == ([2], [0.6])
    assert "sw_3" not in {t.legendgroup for t in fig.data}  # a trial without values draws nothing


def test_parallel_coordinates_put_categorical_values_on_tick_labels_in_declared_order():
    fig = sweep_charts.parallel_coordinates(_small_view())
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims) == ["opt", "lr", "acc"]
    assert list(dims["opt"].ticktext) == ["sgd", "adam", "rmsprop"]
    assert list(dims["opt"].values) == [1, 0, 2]  # adam, sgd, rmsprop (the failed trial has no metric)
    assert list(dims["acc"].values) == [0.7, 0.1, 0.9]
    assert fig.data[0].line.colorscale and "1 without acc left out" in fig.layout.title.text


def test_scatter_and_importance_figures():
    view = _small_view()
    assert sweep_charts.axis_columns(view) == ["opt", "lr", "acc", "run time (s)", "intervals", "#"]
    flat = sweep_charts.scatter_figure(view, x="lr", y="acc", color="opt")
    assert list(flat.data[0].x) == [0.5, 0.1, 0.9] and "left out" in flat.layout.title.text
    cube = sweep_charts.scatter_figure(view, x="lr", y="opt", z="acc")
    assert cube.data[0].type == "scatter3d"
    bars = sweep_charts.importance_bar({"lr": 0.8, "opt": 0.2}, evaluator="fANOVA")
    assert list(bars.data[0].y) == ["opt", "lr"] and bars.layout.title.text.endswith("(fANOVA)")
