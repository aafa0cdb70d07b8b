"""``ml_client.models`` and ``Model``, as cloud code uses them."""

import uuid

import pytest

from studio.ml import MLClient, Model

pytestmark = pytest.mark.usefixtures("tracking")


def test_models_create_get_list_archive_restore_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "w.bin").write_text("w")
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    ml_client = MLClient()
    made = ml_client.models.create_or_update(
        Model(name=name, path="model", type="custom_model", tags={"a": "1"})
    )
    assert (made.version, made.type, made.tags) == ("1", "custom_model", {"a": "1"})
    assert made.id == f"azureml:{name}:1"
    ml_client.create_or_update(Model(name=name, path="model"))
    assert ml_client.models.get(name, label="latest").version == "2"
    ml_client.models.archive(name, version=2)
    assert ml_client.models.get(name).version == "1"
    assert [m.version for m in ml_client.models.list(name=name)] == ["1"]
    ml_client.models.restore(name, version=2)
    assert next(m for m in ml_client.models.list() if m.name == name).latest_version == "2"
    ml_client.models.download(name, 1, download_path=tmp_path / "dl")
    assert (tmp_path / "dl" / name / "w.bin").read_text() == "w"
