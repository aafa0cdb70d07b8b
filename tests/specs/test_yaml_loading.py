"""Loading YAML safely: oversized, deeply nested and self-expanding files are one clean line, never a
RecursionError or a hang; keys kept as given or ignored are one warning each, naming the file and the key."""

from __future__ import annotations

import logging
import time

import pytest

from backend.errors import ValidationError
from backend.services import jobs, open_session
from backend.specs import MAX_DEPTH, parse_spec, parse_yaml_text, read_yaml
from backend.specs.job import CommandJobSpec
from studio.cli import main

ENV = "azureml:AzureML-sklearn-1.5-ubuntu22.04-py39-cpu@latest"


def _cli_refuses(capsys, path) -> str:
    assert main(["job", "create", "--file", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "Recursion" not in err
    with open_session() as s:
        assert jobs.list_jobs(session=s, workspace="default") == []
    return err


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 5000 + "]" * 5000,  # flow style: libyaml's own limit
        "{a: " * 200 + "1" + "}" * 200,
        "\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)) + "  " * 300 + "x",  # block style
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_a_deeply_nested_file_is_one_clean_line_naming_the_file(tmp_path, capsys, nested):
    path = tmp_path / "job.yml"
    path.write_text(f"command: echo hi\nenvironment: {ENV}\nproperties: {nested}\n")
    err = _cli_refuses(capsys, path)
    assert err.startswith(f"error: {path}: too deeply nested")
    assert f"more than {MAX_DEPTH} levels of mappings and lists" in err


def test_nesting_within_the_limit_loads():
    nested = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    assert parse_yaml_text(f"a: {nested}", source="x.yml")["a"]


def test_a_billion_laughs_file_is_refused_at_once(tmp_path, capsys):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    path = tmp_path / "job.yml"
    path.write_text(f"command: echo hi\nenvironment: {ENV}\nproperties:\n  " + "\n  ".join(lines) + "\n")
    started = time.monotonic()
    err = _cli_refuses(capsys, path)
    assert time.monotonic() - started < 5
    assert err.startswith(f"error: {path}: too large at line ")
    assert "more than 1,000,000 values once YAML aliases (*name) are expanded" in err


def test_an_alias_inside_the_node_it_names_is_refused():
    with pytest.raises(ValidationError) as caught:
        parse_yaml_text("a: &loop [1, *loop]\n", source="x.yml")
    assert str(caught.value) == (
        "x.yml: the alias *loop at line 1 is inside the node it names (a value cannot contain itself)"
    )


def test_ordinary_aliases_still_load():
    data = parse_yaml_text("base: &env {A: '1'}\njob: {environment_variables: *env}\n", source="x.yml")
    assert data["job"]["environment_variables"] == {"A": "1"}


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "data.yml"
    with open(path, "wb") as handle:
        handle.truncate(11 * 2**20)  # sparse: costs nothing to make
    with pytest.raises(ValidationError) as caught:
        read_yaml(path)
    assert str(caught.value) == (
        f"{path}: the file is 11.0 MiB; a spec file is at most 10 MiB (is it the right file?)"
    )


def test_a_deeply_nested_mapping_from_the_sdk_is_refused_without_recursion():
    properties: dict = {}
    inner = properties
    for _ in range(2000):
        inner["a"] = {}
        inner = inner["a"]
    data = {"command": "echo hi", "environment": ENV, "properties": properties}
    with pytest.raises(ValidationError) as caught:
        parse_spec(CommandJobSpec, data, source="Command(...)")
    assert str(caught.value) == (
        f"Command(...): field 'properties.a.a': too deeply nested (more than {MAX_DEPTH} levels)"
    )


def test_a_nul_anywhere_in_a_spec_from_python_is_refused():
    data = {"command": "echo hi", "environment": ENV, "inputs": {"x": {"type": "string", "default": "a\x00"}}}
    with pytest.raises(ValidationError) as caught:
        parse_spec(CommandJobSpec, data, source="Command(...)")
    assert str(caught.value).startswith(
        "Command(...): field 'inputs.x.default': contains a NUL character (\\x00)"
    )


def test_kept_and_ignored_keys_are_one_warning_each_naming_the_file_and_the_key(caplog):
    data = parse_yaml_text(
        "type: pipeline\nstatus: Completed\nsettings: {default_compute: serverless, retries: 2}\n"
        f"jobs:\n  a: {{command: echo hi, environment: '{ENV}', comment: first step}}\n",
        source="p.yml",
    )
    from backend.specs.pipeline import PipelineJobSpec

    with caplog.at_level(logging.WARNING, logger="studio.specs"):
        spec = parse_spec(PipelineJobSpec, data, source="p.yml")
    assert spec.settings.model_extra == {"retries": 2}
    assert [r.getMessage() for r in caplog.records] == [
        "p.yml: field 'status' is read-only (the cloud sets it); ignored",
        "p.yml: field 'settings.retries' is not used by Studio; kept as given",
        "p.yml: field 'jobs.a.comment' is not used by Studio; kept as given",
    ]


def test_nothing_is_logged_for_a_spec_that_is_refused(caplog):
    from backend.specs.pipeline import PipelineJobSpec

    with caplog.at_level(logging.WARNING, logger="studio.specs"), pytest.raises(ValidationError):
        parse_spec(PipelineJobSpec, {"type": "pipeline", "settings": {"retries": 2}}, source="p.yml")
    assert caplog.records == []
