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
