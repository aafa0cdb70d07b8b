"""Bad job specs: one message naming the file and field, and nothing created (no agent needed)."""

import pytest

from backend.services import jobs, open_session
from tests.job_fixtures import submit


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "command: echo ${{inputs.nope}}\nenvironment: azureml:AzureML-x@latest\n",
            "'${{inputs.nope}}' names input 'nope', which is not declared",
        ),
        (
            "command: echo hi\nenvironment: azureml:AzureML-x@latest\ncompute: azureml:gpu-cluster\n",
            "compute: 'azureml:gpu-cluster' does not exist in workspace 'default' (computes: serverless)",
        ),
        ("command: echo hi\nenvironment: my-env:1\n", "my-env"),
        (
            "command: echo ${{inputs.d}}\nenvironment: azureml:AzureML-x@latest\ninputs:\n  d: {type: uri_file, path: ./gone.csv}\n",
            "inputs.d.path: local path",
        ),
        (
            "command: echo hi\nenvironment: azureml:AzureML-x@latest\ncolour: blue\n",
            "field 'colour' is not allowed here",
        ),
        ("command: echo hi\nenvironment: azureml:AzureML-x@latest\ncode: ./nowhere\n", "code: local path"),
        (
            "command: echo hi\nenvironment: azureml:AzureML-x@latest\ninputs:\n  d: {type: uri_file, path: azureml:ghost:1}\n",
            "data asset 'ghost' does not exist",
        ),
        ("type: parallel\ncommand: echo hi\n", "job type 'parallel' is not supported"),
    ],
)
def test_bad_specs_are_one_message_and_create_nothing(tmp_path, yaml_text, message):
    with pytest.raises(jobs.ValidationError) as info:
        submit(tmp_path, yaml_text)
    assert message in str(info.value) and str(info.value).startswith(str(tmp_path / "job.yml"))
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []


# --- what must be refused is refused (issue 9, item 6) ----------------------------------------------------

ENV = "azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest"
HEAD = "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"


def _refused(tmp_path, yaml_text: str, files: dict[str, str] | None = None) -> str:
    """Submit a job file that must be refused: one line naming the file, and nothing created."""
    from sqlmodel import select

    from backend.db.models import Component

    with pytest.raises(jobs.ValidationError) as info:
        submit(tmp_path, yaml_text, files)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'job.yml'}: ")
    assert "\n" not in message and "Traceback" not in message
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default", include_children=True) == []
        assert s.exec(select(Component)).all() == []  # not even an anonymous one
    return message.removeprefix(f"{tmp_path / 'job.yml'}: ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("command: ''\n", "field 'command': must not be empty: give the shell command to run (got '')"),
        ('command: "  \\n\\t "\n', "field 'command': must not be empty: give the shell command to run"),
        ('command: "python train.py\\0 --rm"\n', "field 'command': contains a NUL character (\\x00)"),
    ],
)
def test_an_empty_or_nul_command_is_refused(tmp_path, body, message):
    assert _refused(tmp_path, HEAD + body + f"environment: {ENV}\n").startswith(message)


def test_an_empty_command_is_refused_in_a_component_and_an_inline_pipeline_step(tmp_path):
    component = f"type: command\nname: blank\ninputs: {{}}\ncommand: ' '\nenvironment: {ENV}\n"
    message = _refused(
        tmp_path,
        "type: pipeline\njobs:\n  a: {type: command, component: ./blank.yml}\n",
        {"blank.yml": component},
    )
    assert message == (
        f"{tmp_path / 'blank.yml'}: field 'command': must not be empty: give the shell command to run (got ' ')"
    )
    message = _refused(tmp_path, f"type: pipeline\njobs:\n  a: {{command: '', environment: '{ENV}'}}\n")
    assert message == "field 'jobs.a.command': must not be empty: give the shell command to run (got '')"


def test_a_component_file_with_an_empty_command_registers_nothing(tmp_path, capsys):
    from studio.cli import main

    (tmp_path / "c.yml").write_text(f"type: command\nname: blank\ncommand: ''\nenvironment: {ENV}\n")
    assert main(["component", "create", "--file", str(tmp_path / "c.yml")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: {tmp_path / 'c.yml'}: field 'command': must not be empty: give the shell command to run "
        "(got '')"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "limits: {timeout: 99999999999999}\n",
            "field 'limits.timeout': must be a whole number of seconds from 1 to 5184000 (60 days) "
            "(got 99999999999999)",
        ),
        ("limits: {timeout: 0}\n", "field 'limits.timeout': must be a whole number of seconds from 1"),
        ("limits: {timeout: .inf}\n", "field 'limits.timeout': must be a whole number of seconds from 1"),
        (
            "resources: {instance_count: 100000}\n",
            "field 'resources.instance_count': must be a whole number from 1 to 1000 (got 100000)",
        ),
        (
            "environment_variables: {DATA_DIRS: [/a, /b]}\n",
            "field 'environment_variables.DATA_DIRS': an environment variable's value must be text, a number "
            "or a boolean, not a list (got ['/a', '/b'])",
        ),
        (
            "environment_variables: {OPTS: {level: 2}}\n",
            "field 'environment_variables.OPTS': an environment variable's value must be text, a number or "
            "a boolean, not a dict",
        ),
        (
            "environment_variables: {'A=B': x}\n",
            "field 'environment_variables.A=B': is not a valid environment variable name",
        ),
        (
            'environment_variables: {TOKEN: "abc\\0def"}\n',
            "field 'environment_variables.TOKEN': contains a NUL character (\\x00)",
        ),
        (
            'environment_variables: {"A\\0B": x}\n',
            "field 'environment_variables.A\\x00B': contains a NUL character (\\x00)",
        ),
        (
            "distribution: {type: horovod}\n",
            "field 'distribution.type': must be one of 'pytorch', 'mpi', 'tensorflow', 'ray' (got 'horovod')",
        ),
        (
            "distribution: {type: pytorch, processes: 4}\n",
            "field 'distribution.processes': is not a field of a pytorch distribution "
            "(fields: process_count_per_instance)",
        ),
        (
            "distribution: {type: mpi, process_count_per_instance: 0}\n",
            "field 'distribution.process_count_per_instance': must be a whole number from 1 to 1000 (got 0)",
        ),
    ],
)
def test_limits_environment_variables_and_distributions_beyond_what_is_allowed_are_refused(
    tmp_path, body, message
):
    got = _refused(
        tmp_path, HEAD + f"command: echo ${{{{inputs.x}}}}\nenvironment: {ENV}\n" + body + "inputs: {x: 1}\n"
    )
    assert got.startswith(message), got


def test_a_nul_in_an_input_literal_is_refused(tmp_path):
    got = _refused(
        tmp_path, HEAD + f'command: echo ${{{{inputs.x}}}}\nenvironment: {ENV}\ninputs:\n  x: "a\\0b"\n'
    )
    assert got.startswith("field 'inputs.x': contains a NUL character (\\x00)")


def test_more_nodes_than_the_compute_has_are_refused_for_each_kind_of_compute(tmp_path):
    import os

    from backend.services import compute

    with open_session() as s:
        for text in (
            "name: cpu-cluster\ntype: amlcompute\nmax_instances: 4\n",
            "name: my-instance\ntype: computeinstance\n",
        ):
            (tmp_path / "c.yml").write_text(text)
            compute.create_compute_from_file(session=s, workspace="default", path=tmp_path / "c.yml")
    cores = os.cpu_count() or 1
    cases = {
        "azureml:cpu-cluster": (5, "compute 'cpu-cluster' can give (its max_instances is 4); ask for 1 to 4"),
        "my-instance": (
            2,
            "compute 'my-instance' can give (a compute instance is a single node); ask for 1 to 1",
        ),
        "serverless": (
            cores + 1,
            f"compute 'serverless' can give (serverless runs at most one node per CPU core of this machine "
            f"({cores})); ask for 1 to {cores}",
        ),
    }
    for name, (count, why) in cases.items():
        got = _refused(
            tmp_path,
            HEAD
            + f"command: echo hi\nenvironment: {ENV}\ncompute: {name}\nresources: {{instance_count: {count}}}\n",
        )
        assert (
            got
            == f"resources.instance_count: {count} nodes is more than {why}, or use a cluster with more nodes"
        )
    # within the maximum: accepted
    job = submit(
        tmp_path,
        HEAD
        + f"command: echo hi\nenvironment: {ENV}\ncompute: azureml:cpu-cluster\nresources: {{instance_count: 4}}\n",
    )
    assert (job.compute, job.instance_count, job.status) == ("cpu-cluster", 4, "Queued")


@pytest.mark.parametrize("jobs_yaml", ["jobs: {}\n", "", "jobs:\n"])
def test_a_pipeline_with_no_steps_is_refused(tmp_path, jobs_yaml):
    header = "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\n"
    got = _refused(tmp_path, header + "settings: {default_compute: serverless}\n" + jobs_yaml)
    assert got.startswith("field 'jobs': a pipeline needs at least one step (jobs: {<step name>: {...}})")


def test_pipeline_steps_are_checked_like_jobs(tmp_path):
    step = f"type: pipeline\njobs:\n  train:\n    command: echo hi\n    environment: {ENV}\n"
    got = _refused(tmp_path, step + "    environment_variables: {PATHS: [a, b]}\n")
    assert got.startswith("field 'jobs.train.environment_variables.PATHS': an environment variable's value")
    got = _refused(tmp_path, step + "    limits: {timeout: 10000000000}\n")
    assert got.startswith("field 'jobs.train.limits.timeout': must be a whole number of seconds from 1")
    got = _refused(tmp_path, step + "    distribution: {type: deepspeed}\n")
    assert got.startswith("field 'jobs.train.distribution.type': must be one of 'pytorch', 'mpi'")
