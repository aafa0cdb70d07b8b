"""The "Create sweep" wizard: its fields become the cloud's sweep YAML, which the sweep spec (and
``studio job create --file``) accepts as it is."""

import re
import textwrap

import pytest
import yaml

from backend.services import ConflictError, ValidationError, components, job_files, jobs, open_session, sweeps
from backend.services.sweep_wizard import (
    InputRow,
    PolicyForm,
    SpaceRow,
    SweepForm,
    check_space,
    form_yaml,
    submit_sweep_form,
    validate_form,
)
from backend.specs import parse_spec
from backend.specs.sweep import SweepJobSpec
from backend.statuses import JobStatus
from backend.sweep.space import TYPES, parse_space

pytestmark = pytest.mark.usefixtures("database")
ENV = "azureml:AzureML-sklearn-1.5@latest"

# Every distribution as typed in the wizard, and the search-space entry it must become.
TYPED = {
    "choice": ({"values": "0.01, 0.1, adam, true"}, {"values": [0.01, 0.1, "adam", True]}),
    "randint": ({"upper": "10"}, {"upper": 10}),
    "uniform": ({"min_value": "0.1", "max_value": "0.9"}, {"min_value": 0.1, "max_value": 0.9}),
    "loguniform": ({"min_value": "-6", "max_value": "-1"}, {"min_value": -6, "max_value": -1}),
    "normal": ({"mu": "0", "sigma": "1.5"}, {"mu": 0, "sigma": 1.5}),
    "lognormal": ({"mu": "-2", "sigma": "0.5"}, {"mu": -2, "sigma": 0.5}),
    "quniform": ({"min_value": "8", "max_value": "64", "q": "8"}, {"min_value": 8, "max_value": 64, "q": 8}),
    "qloguniform": (
        {"min_value": "0", "max_value": "5", "q": "2"},
        {"min_value": 0, "max_value": 5, "q": 2},
    ),
    "qnormal": ({"mu": "10", "sigma": "3", "q": "1"}, {"mu": 10, "sigma": 3, "q": 1}),
    "qlognormal": ({"mu": "1", "sigma": "0.2", "q": "0.5"}, {"mu": 1, "sigma": 0.2, "q": 0.5}),
}


def _form(**fields) -> SweepForm:
    base = {
        "command": "python train.py --lr ${{search_space.lr}}",
        "environment": ENV,
        "search_space": [SpaceRow(name="lr", type="uniform", args={"min_value": "0.01", "max_value": "0.5"})],
        "primary_metric": "acc",
        "max_total_trials": 4,
        "max_concurrent_trials": 2,
    }
    return SweepForm(**(base | fields))


def _parsed(form: SweepForm) -> SweepJobSpec:
    """What `studio job create --file` reads from the YAML the wizard shows."""
    return parse_spec(SweepJobSpec, yaml.safe_load(form_yaml(form)), source="sweep.yml")


def test_every_distribution_type_round_trips_through_the_sweep_spec():
    assert set(TYPED) == set(TYPES)
    rows = [SpaceRow(name=f"p_{kind}", type=kind, args=typed) for kind, (typed, _) in TYPED.items()]
    command = "python train.py " + " ".join(f"${{{{search_space.p_{kind}}}}}" for kind in TYPED)
    form = _form(search_space=rows, command=command)
    spec = _parsed(form)
    assert spec.search_space == {f"p_{kind}": {"type": kind, **entry} for kind, (_, entry) in TYPED.items()}
    assert [d.type for d in parse_space(spec.search_space, algorithm="random")] == list(TYPED)
    assert validate_form(form).search_space == spec.search_space


def test_choice_values_take_commas_or_a_yaml_list_and_keep_their_types():
    rows = [
        SpaceRow(name="opt", type="choice", args={"values": "adam, sgd"}),
        SpaceRow(name="layers", type="choice", args={"values": "[1, 2, 3]"}),
    ]
    assert check_space(rows, "grid") == {
        "opt": {"type": "choice", "values": ["adam", "sgd"]},
        "layers": {"type": "choice", "values": [1, 2, 3]},
    }


@pytest.mark.parametrize(
    ("row", "algorithm", "message"),
    [
        (
            SpaceRow(name="lr", type="uniform", args={"min_value": "abc", "max_value": "1"}),
            "random",
            "search_space.lr.min_value: must be a number (got 'abc')",
        ),
        (
            SpaceRow(name="lr", type="uniform", args={"min_value": "0.5", "max_value": "0.1"}),
            "random",
            "search_space.lr: min_value must be below max_value",
        ),
        (
            SpaceRow(name="lr", type="uniform", args={"min_value": "0.1"}),
            "random",
            "search_space.lr: 'uniform' needs max_value",
        ),
        (
            SpaceRow(name="lr", type="uniform", args={"min_value": "0", "max_value": "1"}),
            "grid",
            "search_space.lr: the grid sampling algorithm does not support 'uniform'",
        ),
        (
            SpaceRow(name="depth", type="normal", args={"mu": "0", "sigma": "1"}),
            "bayesian",
            "search_space.depth: the bayesian sampling algorithm does not support 'normal'",
        ),
        (
            SpaceRow(name="n", type="randint", args={"upper": "2.5"}),
            "random",
            "search_space.n.upper: must be a whole",
        ),
        (
            SpaceRow(name="q", type="qnormal", args={"mu": "0", "sigma": "1", "q": "0"}),
            "random",
            "search_space.q.q",
        ),
        (SpaceRow(name="2x", type="choice", args={"values": "1"}), "random", "search_space.2x: not a valid"),
        (
            SpaceRow(name="", type="choice", args={"values": "1"}),
            "random",
            "search_space: parameter 1 has no name",
        ),
    ],
)
def test_a_bad_search_space_row_is_an_error_naming_the_parameter(row, algorithm, message):
    with pytest.raises(ValidationError, match="^" + re.escape(message)):
        check_space([row], algorithm)
    with pytest.raises(
        ValidationError, match="^" + re.escape("sweep wizard: " + message.split(":")[0] + ":")
    ):
        validate_form(_form(search_space=[row], algorithm=algorithm, policy=PolicyForm()))


def test_blank_rows_are_ignored_and_two_rows_with_one_name_are_refused():
    lr = SpaceRow(name="lr", type="choice", args={"values": "1, 2"})
    assert check_space([lr, SpaceRow(type="uniform")], "random") == {
        "lr": {"type": "choice", "values": [1, 2]}
    }
    with pytest.raises(ValidationError, match=r"search_space\.lr: two parameters are named 'lr'"):
        check_space([lr, lr], "random")


def test_sampler_objective_limits_inputs_and_policies_reach_the_yaml():
    form = _form(
        command="python train.py --lr ${{search_space.lr}} --epochs ${{inputs.epochs}} --opt ${{inputs.opt}}",
        inputs=[InputRow(name="epochs", value="3"), InputRow(name="opt", value="adam")],
        seed="7",
        rule="sobol",
        goal="minimize",
        primary_metric="loss",
        timeout=600,
        trial_timeout=60,
        name="my-sweep",
        experiment_name="tuning",
        policy=PolicyForm(
            type="bandit", slack_kind="slack_amount", slack=0.2, evaluation_interval=2, delay_evaluation=3
        ),
    )
    data = yaml.safe_load(form_yaml(form))
    assert data["$schema"].endswith("sweepJob.schema.json") and data["type"] == "sweep"
    assert data["sampling_algorithm"] == {"type": "random", "seed": 7, "rule": "sobol"}
    assert data["inputs"] == {"epochs": 3, "opt": "adam"}
    assert data["objective"] == {"goal": "minimize", "primary_metric": "loss"}
    assert data["limits"] == {
        "max_total_trials": 4,
        "max_concurrent_trials": 2,
        "timeout": 600,
        "trial_timeout": 60,
    }
    assert data["early_termination"] == {
        "type": "bandit",
        "slack_amount": 0.2,
        "evaluation_interval": 2,
        "delay_evaluation": 3,
    }
    spec = validate_form(form)
    assert (spec.name, spec.experiment_name, spec.sampling.seed, spec.sampling.rule) == (
        "my-sweep",
        "tuning",
        7,
        "sobol",
    )

    truncation = PolicyForm(type="truncation_selection", truncation_percentage=30, exclude_finished_jobs=True)
    assert _parsed(_form(policy=truncation)).early_termination == {
        "type": "truncation_selection",
        "truncation_percentage": 30,
        "exclude_finished_jobs": True,
        "evaluation_interval": 1,
        "delay_evaluation": 0,
    }
    assert (
        _parsed(_form(policy=PolicyForm(type="median_stopping"))).early_termination["type"]
        == "median_stopping"
    )
    grid = _form(algorithm="grid", search_space=[SpaceRow(name="lr", type="choice", args={"values": "1, 2"})])
    assert _parsed(grid).sampling_algorithm == "grid" and "early_termination" not in yaml.safe_load(
        form_yaml(grid)
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"algorithm": "bayesian", "policy": PolicyForm(type="bandit")},
            "bayesian sampling algorithm does not support early",
        ),
        (
            {"command": "python train.py --x ${{search_space.x}}"},
            "names parameter 'x', which is not declared",
        ),
        (
            {"command": "python t.py ${{inputs.epochs}} ${{search_space.lr}}"},
            "names input 'epochs', which is not declared",
        ),
        ({"primary_metric": " "}, "objective.primary_metric: required"),
        ({"max_total_trials": None}, "limits.max_total_trials: required for random sampling"),
        ({"seed": "1.5"}, "sampling_algorithm.seed: must be a whole number"),
        ({"environment": ""}, "trial.environment: required"),
        (
            {"policy": PolicyForm(type="truncation_selection", truncation_percentage=0)},
            "truncation_percentage: must be 1 to 99",
        ),
        ({"inputs": [InputRow(name="epochs", value="")]}, "inputs.epochs: give a value"),
    ],
)
def test_the_wizard_refuses_what_the_sweep_would_refuse(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        validate_form(_form(**fields))


def test_the_wizard_yaml_runs_through_studio_job_create_and_the_wizard_submits_the_same(tmp_path):
    form = _form(policy=PolicyForm(type="median_stopping", delay_evaluation=2), seed="3", name="from-yaml")
    (tmp_path / "sweep.yml").write_text(form_yaml(form))
    with open_session() as s:
        from_file = job_files.create_job_from_file(
            session=s, workspace="default", file=tmp_path / "sweep.yml"
        )
    with open_session() as s:
        from_wizard = submit_sweep_form(
            session=s, workspace="default", form=form.model_copy(update={"name": "from-ui"})
        )
    assert (from_file.type, from_wizard.type) == ("sweep", "sweep")
    with open_session() as s:
        a = sweeps.get_sweep(session=s, workspace="default", name="from-yaml")
        b = sweeps.get_sweep(session=s, workspace="default", name="from-ui")
    for view in (a, b):
        assert view.search_space == {"lr": {"type": "uniform", "min_value": 0.01, "max_value": 0.5}}
        assert (view.algorithm, view.goal, view.primary_metric) == ("random", "maximize", "acc")
        assert view.policy == {"type": "median_stopping", "evaluation_interval": 1, "delay_evaluation": 2}
        assert view.limits["max_total_trials"] == 4 and view.job.status == JobStatus.QUEUED
    with open_session() as s, pytest.raises(ConflictError, match="a job named 'from-ui' already exists"):
        submit_sweep_form(session=s, workspace="default", form=form.model_copy(update={"name": "from-ui"}))


def test_a_registered_component_as_the_trial(tmp_path):
    (tmp_path / "comp.yml").write_text(
        textwrap.dedent(
            """
            type: command
            name: tiny_train
            version: 2
            inputs:
              lr: {type: number, min: 0, max: 1}
              epochs: {type: integer, default: 2}
            environment: azureml:AzureML-sklearn-1.5@latest
            command: echo ${{inputs.lr}} ${{inputs.epochs}}
            """
        )
    )
    with open_session() as s:
        components.create_component_from_file(session=s, workspace="default", file=tmp_path / "comp.yml")
    form = _form(
        trial_kind="component",
        component="azureml:tiny_train:2",
        command="",
        environment="",
        inputs=[InputRow(name="epochs", value="5")],
    )
    assert yaml.safe_load(form_yaml(form))["trial"] == "azureml:tiny_train:2"
    with pytest.raises(ValidationError, match=r"search_space\.lr: the trial component has no input 'lr'"):
        validate_form(form, component_inputs=["rate", "epochs"])
    with open_session() as s:
        job = submit_sweep_form(session=s, workspace="default", form=form)
    with open_session() as s:
        row = jobs.get_job_row(session=s, workspace="default", name=job.name)
        assert row.spec["trial"]["command"] == "echo ${{inputs.lr}} ${{inputs.epochs}}"
        assert row.spec["trial"]["inputs"]["epochs"]["value"] == 5
    wrong = form.model_copy(
        update={"search_space": [SpaceRow(name="rate", type="choice", args={"values": "1"})]}
    )
    with (
        open_session() as s,
        pytest.raises(ValidationError, match=r"search_space\.rate: the trial component has no"),
    ):
        submit_sweep_form(session=s, workspace="default", form=wrong)
