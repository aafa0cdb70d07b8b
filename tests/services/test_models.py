"""Models are MLflow's registry seen through Studio: a real tracking server, no mocks."""

import uuid
from pathlib import Path

import pytest

from backend.services import ConflictError, NotFoundError, ValidationError, model_cards, models, open_session
from tests.job_fixtures import log_of, submit, wait

pytestmark = pytest.mark.usefixtures("tracking")


def _name(stem: str) -> str:
    # One tracking server serves a whole test run (per worker): names must not meet across tests.
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "model"
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def _create(**kwargs) -> models.ModelPublic:
    base_dir = kwargs.pop("base_dir", None)
    with open_session() as s:
        return models.create_model(
            session=s, workspace="default", data=models.ModelCreate(**kwargs), base_dir=base_dir
        )


def _mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _log_pyfunc(uri: str, registered_model_name: str | None = None) -> str:
    """A real MLflow model logged by plain MLflow code (with a signature and an input example)."""
    import mlflow
    import pandas as pd

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input: pd.DataFrame) -> pd.DataFrame:
            return model_input

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.93)
        mlflow.log_param("alpha", "0.5")
        mlflow.pyfunc.log_model(
            name="model",
            python_model=Echo(),
            input_example=pd.DataFrame({"x": [1.0, 2.0]}),
            registered_model_name=registered_model_name,
        )
    return run.info.run_id


def test_a_local_folder_becomes_version_1_visible_in_mlflow_and_resolvable(tracking, tmp_path):
    name = _name("weights")
    folder = _folder(tmp_path, {"weights.bin": "w", "sub/config.json": "{}"})
    model = _create(name=name, path=str(folder), description="first", tags={"team": "a"})
    assert (model.version, model.type, model.workspace) == ("1", "custom_model", "default")
    assert model.source == str(folder.resolve()) and model.tags == {"team": "a"}
    mv = _mlflow_client(tracking).get_model_version(name, "1")
    assert mv.tags["studio.type"] == "custom_model" and mv.tags["studio.workspace"] == "default"
    assert mv.description == "first"
    with open_session() as s:
        found = models.resolve_model_reference(session=s, workspace="default", reference=f"azureml:{name}:1")
        latest = models.resolve_model_reference(session=s, workspace="default", reference=f"{name}@latest")
    local = Path(found.local_path)
    assert (local / "weights.bin").read_text() == "w" and (local / "sub" / "config.json").is_file()
    assert latest.version == "1"
    download = tmp_path / "dl"
    with open_session() as s:
        target = models.download_model(
            session=s, workspace="default", name=name, version="1", download_path=download
        )
    assert target == download.resolve() / name and (target / "weights.bin").read_text() == "w"


def test_a_global_registry_uri_of_another_server_does_not_divert_registration(tmp_path, monkeypatch):
    """Studio registers in its own tracking server's registry even when the process's global registry URI
    (set by user code or another library with ``mlflow.set_registry_uri``) names another server: a logged
    model created in one server and registered in the other was refused ("model_id ... must identify")."""
    import mlflow
    from mlflow.tracking import _model_registry

    monkeypatch.setattr(_model_registry.utils, "_registry_uri", None)  # both restored after the test
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_registry_uri("http://127.0.0.1:9")  # nothing answers there
    name = _name("diverted")
    model = _create(name=name, path=str(_folder(tmp_path, {"w.bin": "w"})))
    assert model.version == "1"


def test_versions_latest_archive_restore_and_the_version_rule(tmp_path):
    name = _name("iris")
    folder = _folder(tmp_path, {"m.pkl": "1"})
    assert _create(name=name, path=str(folder)).version == "1"
    assert _create(name=name, path=str(folder), version="2").version == "2"
    with pytest.raises(ValidationError) as bad:
        _create(name=name, path=str(folder), version="7")
    assert "the only version allowed is 3" in str(bad.value) and "version" in str(bad.value)
    with open_session() as s:
        assert models.get_model(session=s, workspace="default", name=name, label="latest").version == "2"
        assert models.archive_model(session=s, workspace="default", name=name, version="2") == ["2"]
        assert models.get_model(session=s, workspace="default", name=name).version == "1"
        assert [
            v.archived for v in models.list_model_versions(session=s, workspace="default", name=name)
        ] == [
            True,
            False,
        ]
        assert models.archive_model(session=s, workspace="default", name=name) == ["1", "2"]
        assert name not in [m.name for m in models.list_models(session=s, workspace="default")]
        with pytest.raises(NotFoundError, match="no version that is not archived"):
            models.get_model(session=s, workspace="default", name=name)
        assert models.get_model(session=s, workspace="default", name=name, version="1").archived
        models.restore_model(session=s, workspace="default", name=name)
        summary = next(m for m in models.list_models(session=s, workspace="default") if m.name == name)
        assert (summary.latest_version, summary.versions, summary.archived) == ("2", 2, False)
        updated = models.update_model(
            session=s, workspace="default", name=name, version="1", description="d", tags={"k": "v"}
        )
        assert (updated.description, updated.tags) == ("d", {"k": "v"})
        with pytest.raises(ValidationError, match=r"studio\."):
            models.update_model(
                session=s, workspace="default", name=name, version="1", tags={"studio.x": "1"}
            )


def test_a_model_name_belongs_to_one_workspace(tmp_path):
    from backend.services import workspaces

    name = _name("owned")
    _create(name=name, path=str(_folder(tmp_path, {"a": "1"})))
    with open_session() as s:
        workspaces.create_workspace(session=s, data=workspaces.WorkspaceCreate(name="other"))
    with open_session() as s, pytest.raises(ConflictError, match="belongs to workspace 'default'"):
        models.create_model(
            session=s, workspace="other", data=models.ModelCreate(name=name, path=str(tmp_path / "model"))
        )
    with open_session() as s, pytest.raises(NotFoundError):
        models.get_model(session=s, workspace="other", name=name)


def test_register_from_a_run_gives_card_and_lineage(tracking, tmp_path):
    run_id = _log_pyfunc(tracking)
    name = _name("echo")
    model = _create(name=name, type="mlflow_model", path=f"runs:/{run_id}/model")
    assert model.run_id == run_id and model.source == f"runs:/{run_id}/model"
    with open_session() as s:
        card = model_cards.model_card(session=s, workspace="default", name=name, version="1")
        lineage = model_cards.model_lineage(session=s, workspace="default", name=name, version="1")
    assert "python_function" in card.flavors
    assert card.signature and card.signature["inputs"][0]["name"] == "x"
    assert card.input_example is not None
    assert "MLmodel" in [f.path for f in card.files]
    assert card.metrics == {"accuracy": 0.93} and lineage.params == {"alpha": "0.5"}
    with pytest.raises(ValidationError, match="MLmodel"):
        _create(name=_name("x"), type="mlflow_model", path=str(_folder(tmp_path, {"a.txt": "a"})))
    with pytest.raises(ValidationError, match="no artifacts"):
        _create(name=_name("x"), path=f"runs:/{run_id}/nothing-here")


def test_a_model_registered_with_plain_mlflow_is_a_studio_model(tracking, tmp_path):
    name = _name("plain")
    _log_pyfunc(tracking, registered_model_name=name)
    client = _mlflow_client(tracking)
    folder = _folder(tmp_path, {"w.bin": "w"})
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
    client.log_artifacts(run.info.run_id, str(folder), "files")
    client.create_model_version(name, source=f"runs:/{run.info.run_id}/files", run_id=run.info.run_id)
    with open_session() as s:
        versions = models.list_model_versions(session=s, workspace="default", name=name)
        summary = next(m for m in models.list_models(session=s, workspace="default") if m.name == name)
        card = model_cards.model_card(session=s, workspace="default", name=name, version="1")
    assert [(v.version, v.type, v.workspace) for v in versions] == [
        ("2", "custom_model", "default"),
        ("1", "mlflow_model", "default"),
    ]
    assert summary.latest_version == "2" and card.metrics == {"accuracy": 0.93}
    # The type Studio found is kept in MLflow, so the next read needs no look at the files.
    assert client.get_model_version(name, "1").tags["studio.type"] == "mlflow_model"


def test_bad_yaml_gives_one_clear_message(tmp_path):
    (tmp_path / "w.bin").write_text("w")
    bad = tmp_path / "model.yml"
    bad.write_text("name: m\npath: w.bin\ntype: pickle\n")
    with open_session() as s, pytest.raises(ValidationError) as err:
        models.create_model_from_file(session=s, workspace="default", file=bad)
    message = str(err.value)
    assert message.startswith(str(bad)) and "'type'" in message
    assert "mlflow_model" in message and "custom_model" in message and "triton_model" in message
    good = tmp_path / "good.yml"
    name = _name("yaml")
    good.write_text(
        f"$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: {name}\n"
        "version: 1\npath: w.bin\ntype: custom_model\nproperties: {a: 1}\nstage: Development\n"
        "id: ignored\n"
    )
    with open_session() as s:
        model = models.create_model_from_file(session=s, workspace="default", file=good)
    assert (model.version, model.properties, model.stage) == ("1", {"a": "1"}, "Development")


@pytest.mark.usefixtures("agent")
def test_a_named_model_output_is_registered_when_the_job_completes(tmp_path):
    name = _name("trained")
    job = submit(
        tmp_path,
        f"""
        command: >-
          mkdir -p ${{{{outputs.model}}}} && echo 42 > ${{{{outputs.model}}}}/weights.txt
        environment: azureml:AzureML-sklearn-1.5@latest
        outputs:
          model:
            type: custom_model
            name: {name}
        """,
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    with open_session() as s:
        model = models.resolve_model_reference(session=s, workspace="default", reference=f"{name}@latest")
        lineage = model_cards.model_lineage(session=s, workspace="default", name=name, version="1")
    assert (model.job, model.output, model.run_id) == (job.name, "model", done.mlflow_run_id)
    assert (Path(model.local_path) / "weights.txt").read_text().strip() == "42"
    assert lineage.job["name"] == job.name
    with open_session() as s:  # by hand too, from the job's output
        again = models.create_model(
            session=s,
            workspace="default",
            data=models.ModelCreate(name=name, path=f"azureml://jobs/{job.name}/outputs/model"),
        )
    assert again.version == "2" and again.job == job.name


@pytest.mark.usefixtures("agent")
def test_a_registered_model_is_a_job_input(tmp_path):
    name = _name("weights")
    _create(name=name, type="custom_model", path=str(_folder(tmp_path, {"weights.txt": "7\n"})))
    job = submit(
        tmp_path / "job",
        f"""
        command: cat ${{{{inputs.model}}}}/weights.txt
        environment: azureml:AzureML-sklearn-1.5@latest
        inputs:
          model:
            type: custom_model
            path: azureml:{name}:1
        """,
    )
    done = wait(job.name)
    assert done.status == "Completed", done.failure_reason
    assert done.inputs["model"]["asset"] == f"{name}:1"
    assert "7" in log_of(job.name)
    with pytest.raises(ValidationError, match=r"inputs\.model.*does not exist"):
        submit(
            tmp_path / "missing",
            """
            command: echo
            environment: azureml:AzureML-sklearn-1.5@latest
            inputs:
              model:
                type: custom_model
                path: azureml:no-such-model:1
            """,
        )
