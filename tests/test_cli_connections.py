"""``studio connection`` and ``ml_client.connections``: create, update, list, show and delete, with the
key going in and never coming out (table, json, SDK entity); every mistake is one line on stderr."""

from __future__ import annotations

import json

from studio.cli import main

KEY = "sk-cli-secret-42424242"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _yaml(tmp_path, text: str):
    path = tmp_path / "connection.yml"
    path.write_text(text)
    return str(path)


OPENAI = f"""\
$schema: https://azuremlschemas.azureedge.net/latest/workspaceConnection.schema.json
name: gpt
type: openai
target: https://api.example.com/v1
model: gpt-4o-mini
api_key: {KEY}
price_per_1k_input_tokens: 0.15
price_per_1k_output_tokens: 0.6
tags: {{team: nlp}}
"""


def test_create_list_show_delete_never_print_the_key(capsys, tmp_path):
    spec = _yaml(tmp_path, OPENAI)
    outputs = []
    for argv in (
        ("connection", "create", "--file", spec),
        ("connection", "create", "--file", spec, "--set", "description=updated", "-o", "json"),
        ("connection", "list"),
        ("connection", "list", "-o", "json"),
        ("connection", "show", "--name", "gpt"),
        ("connection", "show", "--name", "gpt", "--output", "json"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert KEY not in out + err
        outputs.append(out)
    updated, listed, shown = json.loads(outputs[1]), json.loads(outputs[3]), json.loads(outputs[5])
    assert updated["description"] == "updated" and updated["api_key_set"] is True
    assert [c["name"] for c in listed] == ["gpt"] and "api_key" not in listed[0]
    assert shown["model"] == "gpt-4o-mini" and shown["price_per_1k_output_tokens"] == 0.6
    assert shown["tags"] == {"team": "nlp"} and "api_key" not in shown

    code, out, err = run(capsys, "connection", "delete", "--name", "gpt", "--yes")
    assert code == 0 and out.strip() == "deleted connection gpt"
    code, out, err = run(capsys, "connection", "list", "-o", "json")
    assert json.loads(out) == []


def test_errors_are_one_line_and_hide_the_key(capsys, tmp_path):
    cases = [
        (OPENAI.replace("https://api.example.com/v1", "api.example.com"), "must be an http(s) URL"),
        (OPENAI.replace("name: gpt", "name: gpt\nendpoint: x"), "field 'endpoint' is not allowed here"),
        (OPENAI.replace("name: gpt", "name: no spaces"), "field 'name'"),
        (OPENAI.replace("0.15", "-1"), "field 'price_per_1k_input_tokens'"),
        (
            "name: ep\ntype: online_endpoint\ntarget: my-endpoint\n",
            "online endpoint 'my-endpoint' does not exist",
        ),
        ("name: m\ntype: llama_cpp\ntarget: missing.gguf\n", "GGUF file"),
    ]
    for text, message in cases:
        code, out, err = run(capsys, "connection", "create", "--file", _yaml(tmp_path, text))
        assert code == 1 and out == ""
        assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
        assert KEY not in err
    code, _, err = run(capsys, "connection", "show", "--name", "nope")
    assert (
        code == 1
        and err == "error: connection 'nope' does not exist in workspace 'default' (connections: none)\n"
    )
    code, _, err = run(capsys, "connection", "delete", "--name", "nope", "--yes")
    assert code == 1 and err.count("\n") == 1
    code, _, err = run(capsys, "connection", "create", "--file", str(tmp_path / "absent.yml"))
    assert code == 1 and "file not found" in err


def test_the_sdk_takes_the_key_and_never_gives_it_back():
    from studio.ml import MLClient
    from studio.ml.entities import WorkspaceConnection

    ml_client = MLClient()
    entity = WorkspaceConnection(name="gpt", type="openai", target="https://api.example.com/v1", api_key=KEY)
    assert KEY not in repr(entity) and KEY not in str(entity._to_dict()) and entity.api_key is None
    created = ml_client.connections.create_or_update(entity)
    assert created.api_key_set and created.api_key is None
    assert KEY not in repr(ml_client.connections.get("gpt"))
    assert [c.name for c in ml_client.connections.list(connection_type="openai")] == ["gpt"]
    assert ml_client.connections.list(connection_type="llama_cpp") == []
    ml_client.connections.delete("gpt")
    assert ml_client.connections.list() == []

    from backend.services import connections, open_session

    with open_session() as s:
        assert connections.list_connections(session=s, workspace="default") == []
