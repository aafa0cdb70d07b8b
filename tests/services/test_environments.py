import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.services import (
    ConflictError,
    NotFoundError,
    ValidationError,
    base_environment,
    environment_builds,
    environment_specs,
    environments,
    open_session,
    workspaces,
)
from backend.services.environments import EnvironmentForm
from backend.specs.environment import CondaFile, EnvironmentSpec
from backend.statuses import BuildStatus
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("database")

CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"
MISSING_PACKAGE = "studio-no-such-package-9f3k2"


def _create(name="my-env", *, pip=None, workspace="default", **fields) -> environments.EnvironmentPublic:
    with open_session() as s:
        return environments.create_environment(
            session=s, workspace=workspace, spec=EnvironmentSpec(name=name, **fields), pip_requirements=pip
        )


def _from_file(path: Path, overrides=None) -> environments.EnvironmentPublic:
    with open_session() as s:
        return environments.create_environment_from_file(
            session=s, workspace="default", path=path, overrides=overrides
        )


def _names() -> list[str]:
    with open_session() as s:
        return [e.name for e in environments.list_environments(session=s, workspace="default")]


def _resolve(reference, workspace="default") -> environments.ResolvedEnvironment:
    with open_session() as s:
        return environments.resolve_environment(session=s, workspace=workspace, reference=reference)


def _build_row(spec_hash: str) -> environment_builds.EnvironmentBuildPublic:
    with open_session() as s:
        return environment_builds.get_build(session=s, spec_hash=spec_hash)


def _wait_until_settled(spec_hash: str, timeout: float = 180) -> environment_builds.EnvironmentBuildPublic:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = _build_row(spec_hash)
        if build.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
            return build
        time.sleep(0.3)
    raise AssertionError(f"build {spec_hash} still {build.status} after {timeout}s")


# ------------------------------------------------------------------------------------------- versions


def test_versions_count_up_and_latest_skips_archived():
    assert _create(image="python:3.11").version == "1"
    assert _create(image="python:3.12").version == "2"
    assert _create(version="exp-a", image="python:3.12").version == "exp-a"
    assert _create(image="python:3.13").version == "3"  # the next integer after the highest integer
    assert _resolve("my-env@latest").version == "3"
    with open_session() as s:
        environments.archive_environment(session=s, workspace="default", name="my-env", version="3")
    with open_session() as s:
        latest = environments.get_environment(session=s, workspace="default", name="my-env", label="latest")
        listed = environments.list_environments(session=s, workspace="default")
        everything = environments.list_environments(
            session=s, workspace="default", name="my-env", include_archived=True
        )
    assert latest.version == "2"  # a version that is not a number ranks below numbered ones
    assert [(e.name, e.version) for e in listed] == [("my-env", "2")]
    assert [e.version for e in everything] == ["exp-a", "1", "2", "3"]
    assert _resolve("azureml:my-env:3").version == "3"  # archived versions still resolve by version
    with open_session() as s:
        environments.restore_environment(session=s, workspace="default", name="my-env", version="3")
    assert _resolve("my-env@latest").version == "3"
    assert _create(image="x").version == "4"  # numbers are never reused


def test_archive_makes_latest_go_back_to_the_previous_integer():
    _create(image="python:3.11")
    _create(image="python:3.12")
    assert _resolve("azureml:my-env@latest").version == "2"
    with open_session() as s:
        environments.archive_environment(session=s, workspace="default", name="my-env", version="2")
    assert _resolve("azureml:my-env@latest").version == "1"
    with open_session() as s:
        environments.archive_environment(session=s, workspace="default", name="my-env")
    with pytest.raises(ValidationError, match="only archived versions"):
        _resolve("my-env@latest")


def test_a_version_is_immutable_except_description_and_tags():
    _create(version="1", image="python:3.11", description="old")
    with pytest.raises(ConflictError, match=r"my-env:1 already exists.*leave version out to get 2"):
        _create(version="1", image="python:3.12")
    with open_session() as s:
        env = environments.update_environment(
            session=s, workspace="default", name="my-env", version="1", description="new", tags={"a": "b"}
        )
    assert (env.image, env.description, env.tags) == ("python:3.11", "new", {"a": "b"})


# --------------------------------------------------------------------------------------- cloud YAML


def test_cloud_yaml_with_schema_and_a_conda_file_is_accepted_unchanged(tmp_path):
    (tmp_path / "conda.yml").write_text(
        "name: sklearn-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
        "  - conda-forge::scikit-learn=1.5\n  - numpy==1.26.4\n  - pandas>=2.0\n  - pip\n"
        "  - pip:\n    - mlflow\n    - azureml-mlflow\n"
    )
    (tmp_path / "docker").mkdir()
    (tmp_path / "env.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\n"
        "name: sklearn-env\nversion: 1\ndescription: Scikit-learn\ntags:\n  stage: dev\n  n: 3\n"
        "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\n"
        "conda_file: ./conda.yml\nos_type: Linux\n"
        "inference_config:\n  liveness_route: {port: 5001, path: /}\n"
        "  readiness_route: {port: 5001, path: /ready}\n  scoring_route: {port: 5001, path: /score}\n"
    )
    env = _from_file(tmp_path / "env.yml")
    assert (env.name, env.version, env.tags) == ("sklearn-env", "1", {"stage": "dev", "n": "3"})
    assert env.python_version == "3.11"
    assert env.details["resolved_requirements"] == [
        "azureml-mlflow",
        "mlflow",
        "numpy==1.26.4",
        "pandas>=2.0",
        "scikit-learn==1.5.*",
    ]
    assert env.details["os_type"] == "linux"
    assert env.details["inference_config"]["scoring_route"] == {"port": 5001, "path": "/score"}
    assert env.conda_file["dependencies"][0] == "python=3.11"
    assert not env.uses_builtin and env.spec_hash and env.build_status == "NotStarted"
    assert "its own virtual environment" in env.reason and "recorded, not run" in env.reason
    # The exported YAML loads back (conda file inline) and gives the same build.
    exported = tmp_path / "exported.yml"
    exported.write_text(environments.environment_yaml(env))
    again = _from_file(exported, overrides=["version=2"])
    assert again.spec_hash == env.spec_hash


def test_a_docker_build_context_is_recorded_and_runs_in_the_builtin_environment(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM python:3.11\n")
    (tmp_path / "env.yml").write_text(
        "name: docker-env\nbuild:\n  path: ./ctx\n  dockerfile_path: Dockerfile\n"
    )
    env = _from_file(tmp_path / "env.yml")
    assert env.details["build"] == {
        "path": str((tmp_path / "ctx").resolve()),
        "dockerfile_path": "Dockerfile",
    }
    assert env.uses_builtin and "docker build context" in env.reason
    assert _resolve("docker-env:1").python == str(base_environment.python())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: e\nimage: x\nfoo: 1\n", "env.yml: field 'foo' is not allowed here"),
        ("name: e\nimage: x\ntags: [a, b]\n", "env.yml: field 'tags': Input should be a valid dictionary"),
        (
            "name: e\nconda_file: ./missing.yml\n",
            "env.yml: field 'conda_file': file './missing.yml' not found",
        ),
        ("name: e\nos_type: plan9\nimage: x\n", "env.yml: field 'os_type'"),
        ("image: x\n", "env.yml: field 'name' is required"),
        ("name: e\n", "env.yml: an environment needs an 'image', a 'conda_file'"),
        ("name: AzureML-mine\nimage: x\n", "reserved for curated environments"),
        ("name: e\nversion: latest\nimage: x\n", "version 'latest' is not valid"),
        ("name: e\nbuild: {path: ./nowhere}\n", "field 'build.path': folder './nowhere' not found"),
        ("name: e\ndependencies: [numpy]\n", "looks like a conda file"),
        (
            "name: e\nconda_file:\n  dependencies: [python=3.11, cudatoolkit=11.8]\n",
            "conda package 'cudatoolkit' has no known pip equivalent here",
        ),
        (
            "name: e\nconda_file:\n  dependencies: [numpy]\n  env: x\n",
            "conda_file: field 'env' is not allowed here",
        ),
        ("name: e\nconda_file:\n  dependencies: [python=three]\n", "python version 'three' is not a version"),
        (
            "name: e\nconda_file:\n  dependencies: [{pip: ['not a requirement!']}]\n",
            "is not a pip requirement",
        ),
    ],
)
def test_a_bad_environment_file_is_one_clear_message_and_nothing_is_created(tmp_path, text, message):
    path = tmp_path / "env.yml"
    path.write_text(text)
    with pytest.raises(ValidationError) as caught:
        _from_file(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert len(str(caught.value).splitlines()) == 1
    assert _names() == []


def test_a_bad_conda_file_is_named_in_the_message(tmp_path):
    (tmp_path / "conda.yml").write_text("dependencies:\n  - python=3.11\n  - mkl\n")
    (tmp_path / "env.yml").write_text("name: e\nconda_file: conda.yml\n")
    with pytest.raises(ValidationError, match=r"conda\.yml: conda package 'mkl' has no known pip equivalent"):
        _from_file(tmp_path / "env.yml")
    assert _names() == []


def test_conda_packages_map_to_pip_and_the_spec_hash_ignores_order_and_spelling():
    conda = CondaFile.model_validate(
        {
            "dependencies": [
                f"python={CURRENT}",
                "scikit-learn=1.5",
                "matplotlib-base",
                "pip",
                "setuptools",
                {"pip": ["Six>=1.0", "# a comment", "--extra-index-url https://example.invalid/simple"]},
            ]
        }
    )
    spec = environments.resolve_packages(conda, [], source="t")
    assert spec.python == CURRENT
    assert spec.requirements == [
        "--extra-index-url https://example.invalid/simple",
        "matplotlib",
        "scikit-learn==1.5.*",
        "six>=1.0",
    ]
    unpinned = environments.resolve_packages(
        None, ["six>=1.0", "matplotlib", "scikit-learn==1.5.*"], source="t"
    )
    reordered = environments.resolve_packages(
        None, ["scikit-learn==1.5.*", "SIX>=1.0", "matplotlib"], source="t"
    )
    assert environments.spec_hash_of(unpinned) == environments.spec_hash_of(reordered)
    assert environments.spec_hash_of(unpinned) != environments.spec_hash_of(spec)  # the extra index differs


def test_the_form_takes_conda_yaml_text_and_pip_lines():
    with open_session() as s:
        env = environments.create_environment_from_form(
            session=s,
            workspace="default",
            form=EnvironmentForm(
                name="from-form",
                conda_yaml="dependencies:\n  - python=3.11\n  - pandas\n",
                pip_requirements=["six", ""],
                tags={"team": "a"},
            ),
        )
        with pytest.raises(ValidationError, match="conda file: not valid YAML"):
            environments.create_environment_from_form(
                session=s,
                workspace="default",
                form=EnvironmentForm(name="bad", conda_yaml="dependencies: [a"),
            )
    assert env.details["resolved_requirements"] == ["pandas", "six"]
    assert env.pip_requirements == ["six"]


def test_a_requirements_file_is_read_line_by_line(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# deps\nsix==1.17.0\n\nrequests>=2  # http\n")
    assert environment_specs.read_requirements_file(path) == ["six==1.17.0", "requests>=2"]
    path.write_text("six\n-e ./local\n")
    with pytest.raises(
        ValidationError, match=r"requirements\.txt: line 2: pip option '-e \./local' is not supported"
    ):
        environment_specs.read_requirements_file(path)


# --------------------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:AzureML-sklearn-1.5@latest",
        "AzureML-sklearn-1.5:3",
        "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        "azureml://registries/azureml/environments/sklearn-1.5/versions/12",
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
    ],
)
def test_curated_names_resolve_to_the_builtin_interpreter_with_a_reason(reference):
    resolved = _resolve(reference)
    assert resolved.python == str(base_environment.python()) and resolved.spec_hash is None
    assert "curated cloud environment" in resolved.reason and "built-in environment" in resolved.reason
    assert "scikit-learn" in resolved.reason and "mlflow" in resolved.reason


def test_image_only_environments_resolve_to_the_builtin_interpreter():
    _create("img-env", image="mcr.microsoft.com/azureml/curated/sklearn-1.5:3")
    resolved = _resolve("azureml:img-env:1")
    assert resolved.python == str(base_environment.python())
    assert "names only image" in resolved.reason and "does not run containers" in resolved.reason


def test_an_unknown_reference_names_it_and_lists_the_workspace_environments():
    _create("alpha", image="x")
    _create("alpha", image="y")
    _create("beta", pip=["six"])
    with pytest.raises(ValidationError, match=r"environment 'gamma' does not exist.*alpha:1,2, beta:1"):
        _resolve("azureml:gamma:1")
    with pytest.raises(ValidationError, match=r"environment 'alpha' has no version '7' \(versions: 1, 2\)"):
        _resolve("alpha:7")
    with pytest.raises(ValidationError, match="registry 'myreg' is not available here"):
        _resolve("azureml://registries/myreg/environments/x/versions/1")
    with pytest.raises(ValidationError, match="label 'prod' is not known"):
        _resolve("alpha@prod")
    with open_session() as s, pytest.raises(NotFoundError, match="environment 'gamma' does not exist"):
        environments.get_environment(session=s, workspace="default", name="gamma")


def test_a_custom_environment_resolves_to_its_venv_python():
    env = _create("pkgs", pip=["six"])
    resolved = _resolve("pkgs@latest")
    assert resolved.spec_hash == env.spec_hash
    assert resolved.python.endswith(f"envs/{env.spec_hash}/venv/bin/python")
    assert resolved.build_status == "NotStarted"


def test_an_inline_environment_is_registered_once_per_content():
    first = _resolve(
        {"image": "python:3.11", "conda_file": {"dependencies": ["python=3.11", {"pip": ["six"]}]}}
    )
    second = _resolve(
        {"image": "python:3.11", "conda_file": {"dependencies": ["python=3.11", {"pip": ["six"]}]}}
    )
    assert first.name == environments.ANONYMOUS_NAME and first.version == second.version
    with open_session() as s:
        versions = environments.list_environments(
            session=s, workspace="default", name=environments.ANONYMOUS_NAME
        )
    assert len(versions) == 1


# ------------------------------------------------------------------------------------------- builds


def test_a_tiny_environment_builds_with_uv_and_a_second_one_with_the_same_spec_reuses_it():
    env = _create("tiny", pip=["six"])
    lines: list[str] = []
    build = environment_builds.build_environment(env.spec_hash, echo=lines.append)
    assert build.status == BuildStatus.SUCCEEDED, build.error
    assert build.python_version == ".".join(map(str, sys.version_info[:3]))
    assert any(line.startswith("$ ") and " venv " in line for line in lines)
    ran = subprocess.run(
        [build.python, "-c", "import six, mlflow, sys; print(sys.prefix)"], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert Path(ran.stdout.strip()) == Path(build.venv_path)
    log = Path(build.log_path)
    assert (
        log == environment_builds.envs_root() / env.spec_hash / "build.log" and "Succeeded" in log.read_text()
    )

    # Same spec, written differently, in another workspace: same hash, no second build.
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="other-ws"))
    twin = _create("twin", pip=["SIX"], workspace="other-ws")
    assert twin.spec_hash == env.spec_hash and twin.build_status == BuildStatus.SUCCEEDED
    before = log.stat().st_mtime_ns
    again = environment_builds.build_environment(twin.spec_hash)
    assert again.status == BuildStatus.SUCCEEDED and again.finished_at == build.finished_at
    assert log.stat().st_mtime_ns == before


def test_a_failing_build_is_failed_with_the_log_tail():
    env = _create("broken", pip=[MISSING_PACKAGE])
    build = environment_builds.build_environment(env.spec_hash)
    assert build.status == BuildStatus.FAILED
    assert MISSING_PACKAGE in build.error
    assert build.error.strip().splitlines()[-1].startswith("Build failed: uv pip install exited with code")
    assert len(build.error.splitlines()) <= environment_builds.LOG_TAIL_LINES
    with open_session() as s:
        assert (
            environments.get_environment(session=s, workspace="default", name="broken").build_status
            == BuildStatus.FAILED
        )
        assert MISSING_PACKAGE in environment_builds.read_build_log(session=s, spec_hash=env.spec_hash)


def test_a_python_version_that_is_not_installed_is_a_clear_error():
    env = _create("old-python", conda_file={"dependencies": ["python=3.4", {"pip": ["six"]}]})
    assert env.python_version == "3.4"
    build = environment_builds.build_environment(env.spec_hash)
    assert build.status == BuildStatus.FAILED
    last = build.error.strip().splitlines()[-1]
    assert "Python 3.4 is not installed on this machine (installed: " in last
    assert f"{sys.version_info.major}.{sys.version_info.minor}." in last
    assert not Path(build.venv_path).exists()


def test_request_build_returns_at_once_and_a_detached_process_builds():
    env = _create("detached", pip=["six"])
    started = time.monotonic()
    with open_session() as s:
        queued = environments.request_build(session=s, workspace="default", name="detached")
    assert time.monotonic() - started < 2
    assert queued.status == "Queued"
    build = _wait_until_settled(env.spec_hash)
    assert build.status == BuildStatus.SUCCEEDED, build.error
    assert Path(build.python).exists()
    with open_session() as s:  # a built environment is not queued again
        assert (
            environments.request_build(session=s, workspace="default", name="detached").status
            == BuildStatus.SUCCEEDED
        )
    _create("plain", image="x")
    with open_session() as s, pytest.raises(ValidationError, match="nothing to build"):
        environments.request_build(session=s, workspace="default", name="plain")


def test_two_processes_asking_for_the_same_hash_at_once_build_it_once():
    # A package that does not exist keeps this fast: the loser must wait and report the winner's result.
    env = _create("shared", pip=[MISSING_PACKAGE])
    code = (
        "from backend.services.environment_builds import build_environment; "
        f"print(build_environment({env.spec_hash!r}).status)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0].strip().splitlines()[-1] for p in procs]
    assert outputs == [BuildStatus.FAILED, BuildStatus.FAILED]
    log = Path(_build_row(env.spec_hash).log_path).read_text()
    assert log.count("# Studio environment build") == 1
    assert log.count("$ ") == 2  # uv venv and uv pip install, once each


def test_a_build_whose_builder_died_is_taken_over():
    env = _create("orphan", pip=[MISSING_PACKAGE])
    with open_session() as s:
        environment_builds.set_build_status(session=s, spec_hash=env.spec_hash, status="Building")
    pid_file = environment_builds.envs_root() / env.spec_hash / "build.pid"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text("999999999 0")  # no such process
    with open_session() as s:  # the UI may ask again: it is queued, not left "Building" forever
        assert environments.request_build(session=s, workspace="default", name="orphan").status == "Queued"
    build = _wait_until_settled(env.spec_hash)
    assert (
        build.status == BuildStatus.FAILED
        and "# Studio environment build" in Path(build.log_path).read_text()
    )
    assert MISSING_PACKAGE in build.error  # a real build ran, not just the takeover


def test_deleting_a_workspace_is_refused_while_an_environment_builds():
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="busy-ws"))
    env = _create("my-env", pip=["six"], workspace="busy-ws")
    with open_session() as s:
        environment_builds.set_build_status(session=s, spec_hash=env.spec_hash, status="Building")
    with (
        open_session() as s,
        pytest.raises(ConflictError, match=r"has work running \(environment build my-env:1\)"),
    ):
        workspaces.delete_workspace(session=s, name="busy-ws", confirm="busy-ws")
    with open_session() as s:
        assert workspaces.running_work(session=s, name="default") == []
        environment_builds.set_build_status(
            session=s, spec_hash=env.spec_hash, status=BuildStatus.FAILED, error="stopped"
        )
    with open_session() as s:
        workspaces.delete_workspace(session=s, name="busy-ws", confirm="busy-ws")
