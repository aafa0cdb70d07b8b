"""Malformed specs through every ``create --file`` of the CLI: one line on stderr, a non-zero exit, no
traceback, and nothing created (no row in any table, no file under STUDIO_HOME, no MLflow model).

Hypothesis generates the specs from a valid one per kind (``BASES``) and a catalogue of ways to break it:
wrong types, unknown and missing fields, bad YAML, binary garbage, huge values, negative limits, cyclic
pipelines, references to missing assets, paths that leave the datastore, very long and unicode names.
Most go through the CLI in this process (``studio.cli.main``, as a shell would call it, without paying
an interpreter start per spec); a sample goes through real ``python -m studio.cli`` processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("tracking")

ENV = "azureml:AzureML-sklearn-1.5@latest"
TAG = uuid.uuid4().hex[:6]  # names this module creates in the shared MLflow server
ENDPOINT = f"rel-ep-{TAG}"
MODEL = f"rel-model-{TAG}"

# A valid spec per `create --file` command (CLI group), written beside the files it points at.
BASES: dict[str, dict[str, Any]] = {
    "datastore": {"name": "rel_store", "type": "local", "path": "./store", "description": "a folder"},
    "data": {"name": "rel-data", "version": "1", "type": "uri_file", "path": "./iris.csv"},
    "model": {"name": MODEL, "version": "1", "type": "custom_model", "path": "./model"},
    "environment": {"name": "rel-env", "version": "1", "image": "python:3.11-slim"},
    "compute": {"name": "rel-cluster", "type": "amlcompute", "min_instances": 0, "max_instances": 2},
    "component": {
        "type": "command",
        "name": "rel_component",
        "version": "1",
        "code": "./src",
        "environment": ENV,
        "inputs": {"n": {"type": "integer", "default": 1}},
        "command": "python main.py --n ${{inputs.n}}",
    },
    "job": {
        "command": "python main.py",
        "code": "./src",
        "environment": ENV,
        "display_name": "rel-job",
        "limits": {"timeout": 60},
        "inputs": {"table": {"type": "uri_file", "path": "./iris.csv"}},
    },
    "online-endpoint": {"name": "rel-endpoint-2", "auth_mode": "key"},
    "online-deployment": {
        "name": "blue",
        "endpoint_name": ENDPOINT,
        "model": {"path": "./model"},
        "code_configuration": {"code": "./src", "scoring_script": "main.py"},
        "environment": ENV,
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
    },
    "connection": {"name": "rel-conn-2", "type": "online_endpoint", "target": ENDPOINT},
    "benchmark": {"name": "rel-bench", "type": "llm", "dataset": "azureml:rel-qa:1", "models": ["rel-conn"]},
}
SWEEP = {
    "type": "sweep",
    "trial": {"command": "python main.py --lr ${{search_space.lr}}", "code": "./src", "environment": ENV},
    "sampling_algorithm": "random",
    "search_space": {"lr": {"type": "uniform", "min_value": 0.01, "max_value": 0.1}},
    "objective": {"goal": "maximize", "primary_metric": "acc"},
    "limits": {"max_total_trials": 4, "max_concurrent_trials": 2},
}


def _step(source: str | None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "command",
        "command": "python main.py --x ${{inputs.x}} --y ${{outputs.y}}",
        "code": "./src",
        "environment": ENV,
        "outputs": {"y": {"type": "uri_folder"}},
        "inputs": {"x": "${{parent.inputs.table}}" if source is None else source},
    }
    return step


def cyclic_pipeline(length: int) -> dict[str, Any]:
    """Steps s0..s{n-1}, each reading the previous one's output and s0 reading the last one's."""
    names = [f"s{i}" for i in range(length)]
    jobs = {n: _step(f"${{{{parent.jobs.{names[i - 1]}.outputs.y}}}}") for i, n in enumerate(names)}
    return {
        "type": "pipeline",
        "inputs": {"table": {"type": "uri_file", "path": "./iris.csv"}},
        "jobs": jobs,
    }


# Fields per kind: required ones (dropping one is an error), text fields (a list or mapping there is an
# error), whole numbers with their limits, the name field, and references that can name something missing.
REQUIRED = {
    "datastore": ["name", "type", "path"],
    "data": ["name", "path"],
    "model": ["name", "path"],
    "environment": ["name", "image"],
    "compute": ["name", "type"],
    "component": ["name", "command"],
    "job": ["command"],
    "online-endpoint": ["name"],
    "online-deployment": ["name", "endpoint_name"],
    "connection": ["name", "type", "target"],
    "benchmark": ["dataset", "models"],
}
TEXT_FIELDS = {
    "datastore": ["name", "path", "description"],
    "data": ["name", "path", "type"],
    "model": ["name", "path", "type"],
    "environment": ["name", "image", "description"],
    "compute": ["name", "type", "size"],
    "component": ["name", "command", "type"],
    "job": ["command", "display_name", "experiment_name"],
    "online-endpoint": ["name", "auth_mode", "description"],
    "online-deployment": ["name", "endpoint_name", "instance_type"],
    "connection": ["name", "type", "target", "api_key"],
    "benchmark": ["name", "dataset", "judge"],
}
# (kind, dotted field, smallest allowed): negative and huge values are out of bounds.
LIMITS = [
    ("compute", "max_instances", 1),
    ("compute", "min_instances", 0),
    ("compute", "idle_time_before_scale_down", 0),
    ("job", "limits.timeout", 1),
    ("job", "resources.instance_count", 1),
    ("online-deployment", "instance_count", 1),
    ("online-deployment", "request_settings.request_timeout_ms", 1),
    ("benchmark", "max_items", 1),
    ("benchmark", "max_tokens", 1),
    ("sweep", "limits.max_total_trials", 1),
    ("sweep", "limits.max_concurrent_trials", 1),
    ("sweep", "limits.timeout", 1),
]
MISSING_REFERENCES = [
    ("job", "environment", "azureml:no-such-env:3"),
    ("job", "inputs.table.path", "azureml:no-such-data:1"),
    ("job", "inputs.table.path", "azureml:no-such-data@latest"),
    ("job", "compute", "azureml:no-such-cluster"),
    ("job", "code", "./no-such-folder"),
    ("component", "environment", "azureml:no-such-env:1"),
    ("component", "code", "./no-such-folder"),
    ("data", "path", "azureml://datastores/no_such_store/paths/iris.csv"),
    ("data", "path", "./no-such-file.csv"),
    ("model", "path", "./no-such-model"),
    ("online-deployment", "endpoint_name", "no-such-endpoint"),
    ("online-deployment", "model", "azureml:no-such-model:1"),
    ("online-deployment", "environment", "azureml:no-such-env:1"),
    ("connection", "target", "no-such-endpoint"),
    ("benchmark", "dataset", "azureml:no-such-data:1"),
    ("benchmark", "models", ["no-such-connection"]),
    ("benchmark", "judge", "no-such-connection"),
    ("environment", "conda_file", "./no-such-conda.yml"),
]
LEAVING_PATHS = [
    ("data", "path", "azureml://datastores/workspaceblobstore/paths/../../../../etc/passwd"),
    ("data", "path", "azureml://datastores/workspaceblobstore/paths/a/../../../secret.key"),
    ("job", "inputs.table.path", "azureml://datastores/workspaceblobstore/paths/../../../studio.db"),
    ("job", "inputs.table.path", "azureml://datastores/workspaceblobstore/paths/../../../../etc/passwd"),
    ("job", "outputs.out.path", "azureml://datastores/workspaceblobstore/paths/../../../../tmp/escape"),
    ("model", "path", "azureml://datastores/workspaceblobstore/paths/../../../secret.key"),
]
BAD_NAMES = [
    "x" * 300,
    "é" * 40,
    "名前",
    "../../etc/passwd",
    "a/b",
    "-starts-with-dash",
    "has space",
    "emoji-\U0001f600",
    "rtl-\u202eexe",
    "new\nline",
    "",
]
NAME_FIELD = {k: "name" for k in BASES} | {"job": "name", "benchmark": "name"}
BROKEN_YAML = [
    "name: [unclosed\n",
    "name: {a: 1\n",
    "key: 'unterminated\n",
    "a: 1\n  b: 2\n c: 3\n",
    "- a\nb: 1\n",
    "name: *undefined_alias\n",
    "\tname: tab-indented\n",
    "name: x\nname: : :\n",
    "!!python/object/apply:os.system ['echo pwned']\n",
    "@reserved: 1\n",
    "key: `backtick\n",
    "? [a, b\n",
]
SCALAR_DOCUMENTS = ["just text\n", "- a list\n- of items\n", "42\n", "null\n", "---\n...\n", "''\n"]


def set_path(spec: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = spec.get(part)
        if not isinstance(nxt, dict):
            nxt = spec[part] = {}
        spec = nxt
    spec[parts[-1]] = value


def base(kind: str) -> dict[str, Any]:
    import copy

    return copy.deepcopy(SWEEP if kind == "sweep" else BASES[kind])


def group(kind: str) -> str:
    return "job" if kind in ("sweep", "pipeline") else kind


@dataclass
class Case:
    kind: str  # a CLI group (sweep and pipeline are `job`)
    what: str  # the category of breakage
    content: bytes
    argv: list[str] = field(default_factory=list)
    path: str = ""  # where it was written


def yaml_case(kind: str, what: str, spec: Any) -> Case:
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=10**9)
    return Case(group(kind), what, text.encode())


KINDS = sorted(BASES)
KINDS_AND_RUNS = [*KINDS, "sweep"]
weird_values = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(), min_size=1, max_size=2),
)


@st.composite
def wrong_type(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    spec = base(kind)
    spec[draw(st.sampled_from(TEXT_FIELDS[kind]))] = draw(weird_values)
    return yaml_case(kind, "wrong type", spec)


@st.composite
def unknown_field(draw) -> Case:
    kind = draw(st.sampled_from([k for k in KINDS_AND_RUNS if k != "component"]))
    spec = base(kind)
    key = "x_" + draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20))
    spec[key] = draw(st.one_of(st.integers(), st.text(max_size=10), weird_values))
    return yaml_case(kind, "unknown field", spec)


@st.composite
def missing_field(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    spec = base(kind)
    del spec[draw(st.sampled_from(REQUIRED[kind]))]
    return yaml_case(kind, "missing field", spec)


@st.composite
def bad_yaml(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    lines = yaml.safe_dump(base(kind), sort_keys=False).splitlines(keepends=True)
    at = draw(st.integers(0, len(lines)))
    broken = draw(st.sampled_from(BROKEN_YAML))
    text = "".join(lines[:at]) + broken + "".join(lines[at:])
    try:
        loaded = yaml.safe_load(text)
        assert not isinstance(loaded, dict)  # every snippet breaks the document, wherever it goes
    except yaml.YAMLError:
        pass
    return Case(kind, "bad YAML", text.encode())


@st.composite
def scalar_document(draw) -> Case:
    return Case(
        draw(st.sampled_from(KINDS)), "not a mapping", draw(st.sampled_from(SCALAR_DOCUMENTS)).encode()
    )


@st.composite
def garbage(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    noise = draw(st.binary(min_size=1, max_size=400))
    prefix = draw(st.sampled_from([b"", b"\xff\xfe", b"\x00", b"\x89PNG\r\n\x1a\n", b"name: x\n\x00"]))
    return Case(kind, "binary garbage", prefix + noise + b"\xc3\x28")  # an invalid UTF-8 sequence


@st.composite
def huge_value(draw) -> Case:
    kind, dotted, _low = draw(st.sampled_from(LIMITS))
    spec = base(kind)
    set_path(spec, dotted, draw(st.sampled_from([10**12, 2**63, 10**40, 1e308, float("inf")])))
    return yaml_case(kind, "huge value", spec)


@st.composite
def negative_limit(draw) -> Case:
    kind, dotted, low = draw(st.sampled_from(LIMITS))
    spec = base(kind)
    set_path(spec, dotted, draw(st.integers(min_value=-(2**40), max_value=low - 1)))
    return yaml_case(kind, "negative limit", spec)


@st.composite
def huge_text(draw) -> Case:
    kind = draw(st.sampled_from(KINDS))
    spec = base(kind)
    spec[NAME_FIELD[kind]] = draw(st.sampled_from(["n", "é", "名"])) * draw(st.integers(256, 200_000))
    return yaml_case(kind, "huge value", spec)


@st.composite
def bad_name(draw) -> Case:
    kind = draw(st.sampled_from([k for k in KINDS if k not in ("job", "benchmark")]))
    spec = base(kind)
    spec[NAME_FIELD[kind]] = draw(st.sampled_from(BAD_NAMES))
    return yaml_case(kind, "long or unicode name", spec)


@st.composite
def cyclic(draw) -> Case:
    return yaml_case("pipeline", "cyclic pipeline", cyclic_pipeline(draw(st.integers(1, 4))))


@st.composite
def missing_reference(draw) -> Case:
    kind, dotted, value = draw(st.sampled_from(MISSING_REFERENCES))
    spec = base(kind)
    set_path(spec, dotted, value)
    return yaml_case(kind, "missing asset", spec)


@st.composite
def leaving_path(draw) -> Case:
    kind, dotted, value = draw(st.sampled_from(LEAVING_PATHS))
    spec = base(kind)
    if dotted.startswith("outputs."):
        spec["outputs"] = {"out": {"type": "uri_folder"}}
    set_path(spec, dotted, value)
    return yaml_case(kind, "path leaving the datastore", spec)


CASES = st.one_of(
    wrong_type(),
    unknown_field(),
    missing_field(),
    bad_yaml(),
    scalar_document(),
    garbage(),
    huge_value(),
    negative_limit(),
    huge_text(),
    bad_name(),
    cyclic(),
    missing_reference(),
    leaving_path(),
)


# --- the world the specs are tried in --------------------------------------------------------------------


def lay_out(folder: Path) -> None:
    """The files the valid specs point at."""
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "main.py").write_text("print('hi')\n")
    (folder / "store").mkdir(exist_ok=True)
    (folder / "model").mkdir(exist_ok=True)
    (folder / "model" / "weights.bin").write_bytes(b"w")
    (folder / "iris.csv").write_text("a,b\n1,2\n")
    (folder / "qa.jsonl").write_text('{"question": "q", "ground_truth": "a"}\n')


def world(home: Path, models: bool = True) -> dict[str, Any]:
    """What exists: rows per table, every file and folder under STUDIO_HOME (but the database's own files,
    which change as it is read), and this module's models in MLflow's registry."""
    import sqlalchemy as sa

    from backend.db import get_engine
    from backend.services.model_registry import registry_client

    engine = get_engine()
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        rows = {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    skip = {"studio.db", "studio.db-wal", "studio.db-shm", "studio.db-journal"}
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.name not in skip)
    found = registry_client().search_registered_models(f"name LIKE 'rel-model-{TAG}%'") if models else []
    return {"rows": rows, "files": files, "models": [m.name for m in found]}


def prepare(folder: Path) -> None:
    """What the specs name, created before the world is recorded: an endpoint, a connection to it and a
    benchmark's data set."""
    from studio.cli import main

    lay_out(folder)
    (folder / "endpoint.yml").write_text(f"name: {ENDPOINT}\nauth_mode: key\n")
    (folder / "connection.yml").write_text(f"name: rel-conn\ntype: online_endpoint\ntarget: {ENDPOINT}\n")
    (folder / "qa.yml").write_text("name: rel-qa\nversion: 1\ntype: uri_file\npath: ./qa.jsonl\n")
    for kind, file in (("online-endpoint", "endpoint"), ("connection", "connection"), ("data", "qa")):
        assert main([kind, "create", "--file", str(folder / f"{file}.yml"), "-o", "json"]) == 0


@dataclass
class Tally:
    tried: int = 0
    one_line: int = 0
    tracebacks: int = 0
    created: int = 0
    naming_the_file: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_what: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, case: Case, code: int, out: str, err: str, before: dict, after: dict) -> None:
        self.tried += 1
        self.by_kind[case.kind] = self.by_kind.get(case.kind, 0) + 1
        self.by_what[case.what] = self.by_what.get(case.what, 0) + 1
        lines = err.strip().splitlines()
        traceback = "Traceback" in err or "Traceback" in out
        self.tracebacks += traceback
        self.created += before != after
        fine = code != 0 and len(lines) == 1 and lines[0].startswith("error: ") and not traceback
        self.one_line += fine
        self.naming_the_file += case.path in err
        if os.environ.get("SHOW_ERRORS") and case.path not in err:
            print(f"[{case.kind} / {case.what}] {err.strip()[:300]}", file=sys.__stdout__)
        if not fine or before != after:
            shown = case.content[:200]
            self.problems.append(
                f"{case.kind} ({case.what}): exit {code}, stderr {err.strip()[-300:]!r}, "
                f"created {_difference(before, after)}, spec {shown!r}"
            )


def _difference(before: dict, after: dict) -> str:
    if before == after:
        return "nothing"
    rows = {t: (before["rows"].get(t), n) for t, n in after["rows"].items() if before["rows"].get(t) != n}
    files = sorted(set(after["files"]) ^ set(before["files"]))[:5]
    return f"rows {rows}, files {files}, models {sorted(set(after['models']) - set(before['models']))}"


def write_case(folder: Path, case: Case, index: int) -> Path:
    path = folder / f"spec-{index:04d}.yml"
    path.write_bytes(case.content)
    case.path = str(path)
    return path


def run_in_process(capsys: pytest.CaptureFixture, argv: list[str]) -> tuple[int, str, str]:
    from studio.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- the tests ---------------------------------------------------------------------------------------------

EXAMPLES = 220


def test_the_valid_specs_the_breakages_start_from_are_valid(tmp_path, capsys):
    """So that each refusal below is the breakage's doing."""
    folder = tmp_path / "specs"
    prepare(folder)
    specs = [(kind, spec) for kind, spec in BASES.items()] + [("sweep", SWEEP)]
    specs.append(("pipeline", {**cyclic_pipeline(2), "jobs": {"s0": _step(None)}}))
    for index, (kind, spec) in enumerate(specs):
        path = write_case(folder, yaml_case(kind, "valid", spec), index)
        code, _, err = run_in_process(capsys, [group(kind), "create", "--file", str(path)])
        assert code == 0, f"{kind}: {err}"


def test_malformed_specs_in_process(tmp_path, studio_home, capsys, report):
    folder = tmp_path / "specs"
    prepare(folder)
    capsys.readouterr()
    state = {"before": world(studio_home)}
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(CASES)
    def attempt(case: Case) -> None:
        path = write_case(folder, case, tally.tried)
        code, out, err = run_in_process(capsys, [case.kind, "create", "--file", str(path), *case.argv])
        after = world(studio_home, models=case.kind == "model")  # only `model create` writes to MLflow
        if case.kind != "model":
            after["models"] = state["before"]["models"]
        tally.add(case, code, out, err, state["before"], after)
        state["before"] = after  # one failure is reported once, not again by every later example

    attempt()
    figure = (
        f"malformed specs (in process): {tally.tried} tried across {len(tally.by_kind)} create commands, "
        f"{tally.one_line} one-line errors ({tally.naming_the_file} naming the file), {tally.tracebacks} "
        f"tracebacks, {tally.created} created anything"
    )
    report(figure)
    report("  by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.by_kind.items())))
    report("  by breakage: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.by_what.items())))
    assert not tally.problems, f"{len(tally.problems)} problems:\n" + "\n".join(tally.problems[:40])
    assert tally.tried >= 200 and len(tally.by_kind) == len(BASES)
    assert set(tally.by_what) >= {
        "wrong type", "unknown field", "missing field", "bad YAML", "binary garbage", "huge value",
        "negative limit", "cyclic pipeline", "missing asset", "path leaving the datastore",
        "long or unicode name",
    }  # fmt: skip


SUBPROCESS_SAMPLE = [
    Case("job", "bad YAML", b"command: [unclosed\n"),
    Case("data", "binary garbage", b"\x89PNG\r\n\x1a\n\x00\xff\xfe"),
    yaml_case("pipeline", "cyclic pipeline", cyclic_pipeline(2)),
    yaml_case("compute", "negative limit", {**BASES["compute"], "max_instances": -3}),
    yaml_case("online-deployment", "missing asset", {**BASES["online-deployment"], "endpoint_name": "nope"}),
    yaml_case("connection", "long or unicode name", {**BASES["connection"], "name": "名前" * 200}),
    yaml_case("data", "path leaving the datastore", {**BASES["data"], "path": LEAVING_PATHS[0][2]}),
    yaml_case("environment", "wrong type", {**BASES["environment"], "image": [1, 2]}),
]


def test_malformed_specs_through_real_processes(tmp_path, studio_home, tracking, report):
    folder = tmp_path / "specs"
    prepare(folder)
    before = world(studio_home)
    tally = Tally()
    env = {**os.environ, "STUDIO_HOME": str(studio_home), "STUDIO_MLFLOW_URI": tracking}
    for index, case in enumerate(SUBPROCESS_SAMPLE):
        path = write_case(folder, case, index)
        done = subprocess.run(
            [sys.executable, "-m", "studio.cli", case.kind, "create", "--file", str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
        )
        after = world(studio_home)
        tally.add(case, done.returncode, done.stdout, done.stderr, before, after)
        before = after
    report(
        f"malformed specs (real processes): {tally.tried} tried, {tally.one_line} one-line errors, "
        f"{tally.tracebacks} tracebacks, {tally.created} created anything"
    )
    assert not tally.problems, "\n".join(tally.problems)
