"""Accept what the cloud accepts (issue 9, item 11): cloud-style files from ``tests/fixtures/cloud`` are
submitted or registered through the services, keys the cloud keeps are stored as given with a warning, and
read-only keys of an exported file are ignored with a warning."""

from __future__ import annotations

import logging

import pytest

from backend.services import (
    components,
    compute,
    data_assets,
    datastores,
    environments,
    job_files,
    jobs,
    open_session,
)
from backend.specs import parse_spec, parse_yaml_text
from tests.conftest import REPO

CLOUD = REPO / "tests" / "fixtures" / "cloud"


@pytest.fixture
def cpu_cluster():
    with open_session() as s:
        return compute.create_compute_from_file(
            session=s, workspace="default", path=CLOUD / "assets" / "compute-cluster.yml"
        )


@pytest.fixture
def iris_on_blobstore():
    with open_session() as s:
        datastores.upload(
            session=s,
            workspace="default",
            name="workspaceblobstore",
            src=CLOUD / "assets" / "iris.csv",
            dest="iris/",
        )


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "studio.specs"]


def _row(name: str):
    with open_session() as s:
        return jobs.get_job_row(session=s, workspace="default", name=name)


def test_pipeline_settings_the_cloud_keeps_are_stored_as_given_with_a_warning(cpu_cluster, caplog):
    file = CLOUD / "jobs" / "pipeline-settings-extra.yml"
    with caplog.at_level(logging.WARNING), open_session() as s:
        job = job_files.create_job_from_file(session=s, workspace="default", file=file)
    assert (job.type, job.status, job.compute) == ("pipeline", "Queued", "cpu-cluster")
    settings = _row(job.name).spec["settings"]
    assert settings["default_run_settings"] == {"retries": 1}
    assert (
        settings["continue_on_step_failure"] is True and settings["default_datastore"] == "workspaceblobstore"
    )
    assert _warnings(caplog) == [
        f"{file}: field 'settings.default_run_settings' is not used by Studio; kept as given"
    ]


def test_steps_and_components_keep_the_keys_the_cloud_keeps(cpu_cluster, iris_on_blobstore, caplog):
    file = CLOUD / "jobs" / "pipeline-components.yml"
    with caplog.at_level(logging.WARNING), open_session() as s:
        job = job_files.create_job_from_file(session=s, workspace="default", file=file)
    steps = _row(job.name).spec["steps"]
    assert steps["score_job"]["interface"]["test_data"]["type"] == "uri_folder"  # `type: path`, the old name
    assert steps["score_job"]["tags"] == {"stage": "2"}
    score = CLOUD / "jobs" / ".." / "components" / "score-with-extra-keys.yml"  # as the step names it
    assert set(_warnings(caplog)) == {
        f"{file}: field 'jobs.score_job.comment' is not used by Studio; kept as given",
        f"{score}: field 'latest_version' is read-only (the cloud sets it); ignored",
        f"{score}: field 'creation_context' is read-only (the cloud sets it); ignored",
        f"{score}: field 'services' is not used by Studio; kept as given",
        f"{score}: field 'queue_settings' is not used by Studio; kept as given",
    }


def test_a_component_registers_with_the_clouds_input_forms_and_output_modes():
    with open_session() as s:
        created = components.create_component_from_file(
            session=s, workspace="default", file=CLOUD / "components" / "train.yml"
        )
    spec = created.spec
    assert (created.name, created.version, created.is_deterministic) == ("train_model", "1", False)
    assert spec["inputs"]["max_epochs"] == {
        **spec["inputs"]["max_epochs"],
        "type": "integer",
        "default": 10,
        "min": 1.0,
        "max": 100.0,
    }
    assert spec["inputs"]["learning_rate_schedule"]["enum"] == ["time-based", "step-based"]
    assert spec["outputs"]["model_output"]["mode"] == "upload"
    assert spec["resources"]["docker_args"] == "--ipc=host"
    assert spec["distribution"] == {"type": "pytorch", "process_count_per_instance": 1}


def test_a_job_exported_from_the_cloud_runs_here_and_its_read_only_fields_are_ignored(cpu_cluster, caplog):
    file = CLOUD / "jobs" / "exported-command.yml"
    with caplog.at_level(logging.WARNING), open_session() as s:
        job = job_files.create_job_from_file(session=s, workspace="default", file=file)
    assert (job.name, job.status, job.compute) == ("brave_heron_abc12345", "Queued", "cpu-cluster")
    assert _warnings(caplog) == [
        f"{file}: field '{key}' is read-only (the cloud sets it); ignored"
        for key in ("status", "id", "creation_context")
    ]


def test_sweeps_in_the_clouds_forms_are_queued_with_normalised_settings(cpu_cluster):
    with open_session() as s:
        every = job_files.create_job_from_file(
            session=s, workspace="default", file=CLOUD / "jobs" / "sweep-every-distribution.yml"
        )
        bayes = job_files.create_job_from_file(
            session=s, workspace="default", file=CLOUD / "jobs" / "sweep-bayesian.yml"
        )
        grid = job_files.create_job_from_file(
            session=s, workspace="default", file=CLOUD / "jobs" / "sweep-grid-truncation.yml"
        )
    spec = _row(every.name).spec
    assert (spec["algorithm"], spec["rule"], spec["seed"]) == ("random", "sobol", 42)
    assert (spec["objective"]["primary_metric"], spec["objective"]["goal"]) == ("accuracy", "maximize")
    assert spec["early_termination"] == {
        "type": "median_stopping",
        "evaluation_interval": 1,
        "delay_evaluation": 5,
    }
    assert spec["trial"]["environment_variables"] == {"PYTHONUNBUFFERED": "1"}
    assert spec["search_space"]["c"] == {"type": "choice", "values": [1, "two", 3.0]}
    assert _row(bayes.name).spec["algorithm"] == "bayesian"
    grid_spec = _row(grid.name).spec
    assert (grid_spec["algorithm"], grid_spec["limits"]["max_total_trials"]) == ("grid", 9)
    assert grid_spec["early_termination"]["truncation_percentage"] == 20


def test_assets_from_the_clouds_files_register_with_their_extra_fields(iris_on_blobstore, caplog):
    with caplog.at_level(logging.WARNING), open_session() as s:
        single = data_assets.create_data_asset_from_file(
            session=s, workspace="default", file=CLOUD / "assets" / "data-uri-file.yml"
        )
        folder = data_assets.create_data_asset_from_file(
            session=s, workspace="default", file=CLOUD / "assets" / "data-uri-folder-datastore.yml"
        )
        env = environments.create_environment_from_file(
            session=s, workspace="default", path=CLOUD / "assets" / "environment-inference.yml"
        )
        exported = compute.create_compute_from_file(
            session=s, workspace="default", path=CLOUD / "assets" / "compute-exported.yml"
        )
    assert single.tags == {"rows": "2", "source": "uci"}
    assert folder.path.startswith("azureml://datastores/workspaceblobstore/paths/iris")
    assert env.name == "custom-inference"
    assert (exported.name, exported.max_instances) == ("cpu-cluster", 2)
    assert (
        f"{CLOUD / 'assets' / 'environment-inference.yml'}: field 'intellectual_property' is read-only (the cloud sets it); ignored"
        in _warnings(caplog)
    )
    assert (
        f"{CLOUD / 'assets' / 'compute-exported.yml'}: field 'provisioning_state' is read-only (the cloud sets it); ignored"
        in _warnings(caplog)
    )


@pytest.mark.parametrize(
    ("yaml_text", "field", "expected"),
    [
        # The cloud's loader truncates a fractional timeout and reads numbers YAML leaves as text.
        ("limits: {timeout: 90.7}", "timeout", 90),
        (
            "tags: {epochs: 10, tuned: true, score: 0.5, note: null}",
            "tags",
            {"epochs": "10", "tuned": "True", "score": "0.5", "note": ""},
        ),
        (
            "resources: {instance_count: 1, locations: [westus2], max_instance_count: 2, shm_size: 8g}",
            "resources",
            ["westus2"],
        ),
        ("distribution: {type: PyTorch}", "distribution", {"type": "pytorch"}),
        ("queue_settings: {job_tier: Spot, priority: High}", "queue_settings", ("spot", "high")),
        ("parent_job_name: my_pipeline", "parent_job_name", "my_pipeline"),
    ],
)
def test_a_command_job_takes_the_value_forms_the_cloud_takes(yaml_text, field, expected):
    from backend.specs.job import CommandJobSpec

    data = parse_yaml_text(f"command: echo hi\nenvironment: azureml:env:1\n{yaml_text}\n", source="job.yml")
    spec = parse_spec(CommandJobSpec, data, source="job.yml")
    got = {
        "timeout": lambda: spec.limits.timeout,
        "tags": lambda: spec.tags,
        "resources": lambda: spec.resources.locations,
        "distribution": lambda: spec.distribution,
        "queue_settings": lambda: (spec.queue_settings.job_tier, spec.queue_settings.priority),
        "parent_job_name": lambda: spec.parent_job_name,
    }[field]()
    assert got == expected


def test_search_space_numbers_written_as_text_are_read_as_numbers():
    from backend.specs.sweep import SweepJobSpec

    data = parse_yaml_text(
        "type: sweep\ntrial: {command: 'echo ${{search_space.lr}}', environment: 'azureml:e:1'}\n"
        "search_space: {lr: {type: loguniform, min_value: -1e1, max_value: 1e-1}}\n"
        "objective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n",
        source="sweep.yml",
    )
    assert data["search_space"]["lr"]["max_value"] == "1e-1"  # YAML 1.1 leaves it as text
    spec = parse_spec(SweepJobSpec, data, source="sweep.yml")
    assert spec.search_space["lr"] == {"type": "loguniform", "min_value": -10.0, "max_value": 0.1}
