from pathlib import Path

import pytest

from backend.errors import ValidationError
from backend.storage.uris import (
    AssetRef,
    DatastorePath,
    FsspecUrl,
    JobOutput,
    LocalPath,
    RegistryAsset,
    RunArtifact,
    WebUrl,
    parse_reference,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("./data/iris.csv", LocalPath(Path("/base/data/iris.csv"))),
        ("data", LocalPath(Path("/base/data"))),
        ("/abs/file.csv", LocalPath(Path("/abs/file.csv"))),
        ("file:///abs/f.csv", LocalPath(Path("/abs/f.csv"))),
        (
            "azureml://datastores/workspaceblobstore/paths/a/b.csv",
            DatastorePath("workspaceblobstore", "a/b.csv"),
        ),
        ("azureml://datastores/ds/paths/folder/", DatastorePath("ds", "folder")),
        ("azureml:iris:2", AssetRef("iris", version="2")),
        ("azureml:iris@latest", AssetRef("iris", label="latest")),
        ("iris:1", AssetRef("iris", version="1")),
        ("iris@latest", AssetRef("iris", label="latest")),
        ("azureml://jobs/job-1/outputs/model/paths/x.pkl", JobOutput("job-1", "model", "x.pkl")),
        ("azureml://jobs/job-1/outputs/model", JobOutput("job-1", "model", "")),
        ("runs:/abc123/model", RunArtifact("abc123", "model")),
        ("https://example.org/iris.csv", WebUrl("https://example.org/iris.csv")),
        (
            "wasbs://c@acct.blob.core.windows.net/x.csv",
            FsspecUrl("wasbs://c@acct.blob.core.windows.net/x.csv", "wasbs"),
        ),
        (
            "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            RegistryAsset("azureml", "environments", "sklearn-1.5", "/labels/latest"),
        ),
    ],
)
def test_every_reference_form_is_recognised(text, expected):
    assert parse_reference(text, base_dir=Path("/base")) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a path or reference is required"),
        ("ftp://host/x", "unknown scheme 'ftp'"),
        ("azureml:iris@newest", "the only label is 'latest'"),
        ("azureml://somewhere/else", "not a known azureml:// form"),
        ("azureml:bad name", "not an asset reference"),
    ],
)
def test_bad_references_name_the_field_and_the_reference(text, message):
    with pytest.raises(ValidationError, match=message) as info:
        parse_reference(text, field="inputs.data.path")
    assert str(info.value).startswith("inputs.data.path:")
