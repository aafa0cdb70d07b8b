"""Studio and the cloud's own loader (``azure-ai-ml``, offline) agree on which files load.

Every YAML file under ``tests/fixtures/cloud`` (written like the azureml-examples repository's files) and
the other cloud-style fixtures of the suite is loaded by both: ``azure.ai.ml.load_job`` / ``load_component``
/ ``load_data`` / ``load_environment`` / ``load_compute`` / ``load_datastore`` and Studio's spec models.
Files under ``reject/`` are mistakes both must refuse. The few files the two treat differently on purpose
are listed in ``DELIBERATE`` with the reason.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from backend.errors import ValidationError
from backend.specs import parse_spec, read_yaml
from tests.conftest import REPO, skip_or_fail

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_cloud_conformance")

CLOUD = REPO / "tests" / "fixtures" / "cloud"
KINDS = ("job", "component", "data", "environment", "compute", "datastore")

# Files outside tests/fixtures/cloud that are cloud-style too: (kind, path).
OTHER_FIXTURES = [
    *(("job", p) for p in sorted((REPO / "tests" / "fixtures" / "pipelines").glob("*/pipeline.yml"))),
    *(
        ("component", p)
        for p in sorted((REPO / "tests" / "fixtures" / "pipelines").glob("*/*.yml"))
        if p.name != "pipeline.yml"
    ),
    ("job", REPO / "tests" / "fixtures" / "sweeps" / "iris_svm" / "sweep.yml"),
]

# Where Studio and the cloud differ on purpose: file name -> (Studio accepts?, why).
DELIBERATE: dict[Path, tuple[bool, str]] = {
    REPO / "tests" / "fixtures" / "pipelines" / "abc" / "pipeline.yml": (
        True,
        "step names with capital letters (componentA): the cloud wants lower-case Python identifiers; "
        "Studio runs them",
    ),
    CLOUD / "jobs" / "tags-any-scalar.yml": (
        True,
        "tag values that are numbers or booleans: the cloud's job schema wants text; Studio keeps their text",
    ),
}


def _kind(path: Path) -> str:
    if path.parent.name == "jobs":
        return "job"
    if path.parent.name == "components":
        return "component"
    prefix = path.name.split("-")[0]
    return {"sweep": "job", "pipeline": "job"}.get(prefix, prefix)


def cloud_files() -> list[tuple[str, Path]]:
    files = [(_kind(p), p) for p in sorted(CLOUD.rglob("*.yml")) if p.name != "conda.yml"]
    return [*files, *OTHER_FIXTURES]


def studio_loads(kind: str, path: Path) -> str | None:
    """None when Studio's spec models take the file, else Studio's one-line message."""
    from backend.specs.component import CommandComponentSpec
    from backend.specs.compute import ComputeSpec
    from backend.specs.data import DataSpec
    from backend.specs.datastore import parse_datastore
    from backend.specs.environment import EnvironmentSpec
    from backend.specs.job import CommandJobSpec
    from backend.specs.pipeline import PipelineJobSpec
    from backend.specs.sweep import SweepJobSpec

    try:
        data = read_yaml(path)
        if kind == "datastore":
            parse_datastore(data, source=str(path), base_dir=path.parent)
            return None
        models = {
            "component": CommandComponentSpec,
            "data": DataSpec,
            "environment": EnvironmentSpec,
            "compute": ComputeSpec,
        }
        if kind == "job":
            jobs = {"command": CommandJobSpec, "sweep": SweepJobSpec, "pipeline": PipelineJobSpec}
            model = jobs.get(data.get("type", "command"), CommandJobSpec)
        elif kind == "component" and data.get("type") == "pipeline":
            model = PipelineJobSpec  # a pipeline component: read as a nested pipeline step reads it
        else:
            model = models[kind]
        parse_spec(model, data, source=str(path))
        return None
    except ValidationError as exc:
        return str(exc)


@pytest.fixture(scope="module")
def cloud_loaders():
    try:
        import azure.ai.ml as aml
    except ImportError:
        skip_or_fail("conformance", "azure-ai-ml is not installed (pip install -e '.[dev]')")
    return {
        "job": aml.load_job,
        "component": aml.load_component,
        "data": aml.load_data,
        "environment": aml.load_environment,
        "compute": aml.load_compute,
        "datastore": aml.load_datastore,
    }


def cloud_loads(loaders, kind: str, path: Path) -> str | None:
    """None when azure-ai-ml loads the file, else the start of its message."""
    logging.disable(logging.WARNING)  # its loader logs what it ignores; only the outcome matters here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaders[kind](path)
        return None
    except Exception as exc:  # it raises its own and marshmallow's exception types
        return " ".join(str(exc).split())[:300]
    finally:
        logging.disable(logging.NOTSET)


def test_every_cloud_style_fixture_loads_in_studio_exactly_when_it_loads_in_the_cloud(cloud_loaders):
    disagreements = []
    checked = 0
    for kind, path in cloud_files():
        cloud = cloud_loads(cloud_loaders, kind, path)
        studio = studio_loads(kind, path)
        checked += 1
        expected = DELIBERATE.get(path, (cloud is None, ""))[0]
        if path in DELIBERATE and (cloud is None) == expected:
            disagreements.append(f"{path.relative_to(REPO)} is listed in DELIBERATE but the cloud agrees now")
        if (studio is None) != expected:
            disagreements.append(
                f"{path.relative_to(REPO)} ({kind}): cloud {'accepts' if cloud is None else 'refuses'}"
                f"{'' if cloud is None else ' (' + cloud + ')'}; Studio "
                f"{'accepts' if studio is None else 'refuses: ' + studio}"
            )
    assert not disagreements, "\n".join(disagreements)
    assert checked >= 70


def test_the_reject_fixtures_are_mistakes_both_loaders_refuse(cloud_loaders):
    refused = [p for p in sorted((CLOUD / "reject").glob("*.yml"))]
    assert len(refused) >= 25
    for path in refused:
        kind = _kind(path)
        assert kind in KINDS, path
        assert cloud_loads(cloud_loaders, kind, path) is not None, f"the cloud accepts {path.name}"
        message = studio_loads(kind, path)
        assert message is not None and message.startswith(str(path)), path.name
        assert "\n" not in message
