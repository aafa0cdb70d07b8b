"""A notebook as a job: a command job that runs a notebook with parameters through papermill.

Nothing here is new to the agent: the job is the cloud's command-job YAML (``notebook_job_yaml``), whose
command is ``python -m papermill <nb> outputs/<nb> ...``, run in the curated environment (which carries
papermill and ipykernel). ``python -m`` rather than the ``papermill`` script: papermill starts the
``python3`` kernel with its own interpreter, and ``python`` is the job's own layer (the script's would be
the shared environment's), so ``%pip install`` in a cell installs for that job as a command's ``pip`` does.
The kernel is papermill's child, so it inherits the job's MLflow variables and a plain
``mlflow.log_metric`` in a cell lands in the job's run; the executed notebook is written to ``./outputs``,
which Studio uploads as the run's artifacts (also when the job fails). Parameters are the job's literal
inputs, so they show as its inputs and a clone can change them.

Also here: reading a notebook's ``parameters`` cell (papermill's convention: the code cell tagged
``parameters``), the executed notebooks among a run's artifacts for the job page, and the one-line reason of
a job that papermill failed (``cell_failure``: the failing cell's exception, not "exit code 1").
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlmodel import Session

from backend.errors import NotFoundError, ValidationError

SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
DATASTORE = "workspaceworkingdirectory"
DEFAULT_ENVIRONMENT = "azureml:AzureML-sklearn-1.5@latest"  # curated: papermill and ipykernel are there
KERNEL = "python3"
SUFFIX = ".ipynb"
PARAMETERS_TAG = "parameters"
NOTEBOOK_LIMIT_BYTES = 50 * 1024 * 1024  # a notebook read for a page or a submission (images included)
ARTIFACT_SEARCH_DEPTH = 3  # folder levels of a run's artifacts searched for notebooks
ARTIFACT_SEARCH_FOLDERS = 25  # folders listed at most (one MLflow request each)
STUDIO_LOG_FOLDERS = ("user_logs", "system_logs")  # Studio's own artifacts: never notebooks
LOG_HEAD_BYTES = 4096  # where papermill names the input notebook
LOG_TAIL_BYTES = 64 * 1024  # where its error is, after the failing cell's traceback
TRACEBACK_LINES = 60  # of the failing cell, kept in the job's failure reason
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


# ------------------------------------------------------------------------------------------ notebooks


def _text(value: Any) -> str:
    """A notebook's multi-line string: nbformat stores it as a string or a list of lines."""
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def check_notebook(notebook: Any, *, source: str = "notebook") -> dict[str, Any]:
    """``notebook`` if it looks like an nbformat v4 notebook (a mapping with a list of cells), else one line."""
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValidationError(f"{source}: not a notebook (an .ipynb file is JSON with a list of 'cells')")
    if notebook.get("nbformat") != 4:
        raise ValidationError(
            f"{source}: notebook format {notebook.get('nbformat')!r} is not supported (nbformat 4 is)"
        )
    return notebook


def parse_notebook(data: bytes, *, source: str = "notebook") -> dict[str, Any]:
    """The JSON of an .ipynb file, checked (``check_notebook``)."""
    try:
        notebook = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{source}: not a notebook (not valid JSON: {exc})") from None
    return check_notebook(notebook, source=source)


def _parameters_cell(notebook: dict[str, Any]) -> dict[str, Any] | None:
    """The cell papermill injects after: the first code cell tagged ``parameters``."""
    for cell in notebook.get("cells") or []:
        tags = ((cell or {}).get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in tags:
            return cell
    return None


def notebook_parameters(notebook: dict) -> dict[str, object]:
    """The literal assignments of the notebook's ``parameters`` cell (``alpha = 0.5``), in order.

    Parsed with ``ast`` and ``ast.literal_eval``, never run: an assignment of anything but a literal
    (``n = len(x)``) is not a parameter Studio can show, and is left out. No such cell: no parameters.
    """
    return _parameters(notebook, source="notebook")


def _parameters(notebook: dict, *, source: str) -> dict[str, object]:
    cell = _parameters_cell(check_notebook(notebook, source=source))
    if cell is None:
        return {}
    try:
        tree = ast.parse(_text(cell.get("source")))
    except SyntaxError as exc:
        raise ValidationError(
            f"{source}: its parameters cell is not valid Python (line {exc.lineno}: {exc.msg})"
        ) from None
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            pairs = [(target, value)]
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):  # a, b = 1, 2
                if len(target.elts) != len(value.elts):
                    continue
                pairs = list(zip(target.elts, value.elts, strict=True))
            for name, expr in pairs:
                if not isinstance(name, ast.Name):
                    continue
                try:
                    found[name.id] = ast.literal_eval(expr)
                except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                    continue  # not a literal: papermill could override it, Studio cannot show it
    return found


# -------------------------------------------------------------------------------------------- the YAML


def _check_parameter(name: str, value: Any) -> None:
    if not name.isidentifier():
        raise ValidationError(f"parameter {name!r}: not a Python name")
    if isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if "'" in value:  # it goes into the command in single quotes (see notebook_job_yaml)
            raise ValidationError(f"parameter {name!r}: a value with a single quote (') cannot be passed")
        return
    raise ValidationError(
        f"parameter {name!r}: only strings, numbers and booleans can be passed to a notebook job "
        f"(got {type(value).__name__}); set it in the notebook instead"
    )


def notebook_job_yaml(
    *,
    path: str,
    parameters: dict,
    compute: str | None,
    environment: str | None,
    experiment_name: str | None,
) -> str:
    """The command-job YAML that runs the notebook at ``path`` (relative to the code folder) with papermill.

    Each parameter is a literal input, passed as ``-p name ${{inputs.name}}`` (papermill reads numbers and
    booleans from the text) or, for a string, ``-r name '${{inputs.name}}'`` (raw, in quotes: a string that
    looks like a number stays a string, and spaces stay in it). ``--log-output`` copies the cells' output
    to the job's log as they run; ``--no-progress-bar`` keeps the log free of a progress bar's redraws.
    The executed notebook is ``outputs/<name>.ipynb``, an artifact of the job's run.
    """
    rel = PurePosixPath(path)
    if rel.suffix.lower() != SUFFIX or rel.is_absolute() or ".." in rel.parts:
        raise ValidationError(f"notebook {path!r}: give a path to an .ipynb file inside the code folder")
    words = ["python", "-m", "papermill", shlex.quote(str(rel)), shlex.quote(f"outputs/{rel.name}")]
    words += ["-k", KERNEL, "--log-output", "--no-progress-bar"]
    for name, value in parameters.items():
        _check_parameter(name, value)
        if isinstance(value, str):
            words += ["-r", name, f"'${{{{inputs.{name}}}}}'"]
        else:
            words += ["-p", name, f"${{{{inputs.{name}}}}}"]
    data: dict[str, Any] = {
        "$schema": SCHEMA,
        "type": "command",
        "display_name": rel.name,
        "experiment_name": experiment_name or rel.stem,
        "code": ".",
        "command": " ".join(words),
    }
    if parameters:
        data["inputs"] = dict(parameters)
    data["environment"] = environment or DEFAULT_ENVIRONMENT
    if compute and compute.removeprefix("azureml:") != "serverless":
        data["compute"] = f"azureml:{compute.removeprefix('azureml:')}"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


# ------------------------------------------------------------------------------------------ submitting


def _datastore_path(path: str) -> PurePosixPath:
    """``path`` relative to the datastore's root (a leading '/' is its root); never out of it."""
    text = (path or "").strip().replace("\\", "/")
    norm = posixpath.normpath(text.lstrip("/")) if text.strip("/") else ""
    if not norm or norm == ".":
        raise ValidationError("notebook: give the path of an .ipynb file on the workspace's notebook share")
    if norm == ".." or norm.startswith("../"):
        raise ValidationError(f"notebook {path!r}: the path leaves datastore {DATASTORE!r}")
    rel = PurePosixPath(norm)
    if rel.suffix.lower() != SUFFIX:
        raise ValidationError(f"notebook {path!r}: not a notebook (an .ipynb file)")
    return rel


def submit_notebook_job(
    *,
    session: Session,
    workspace: str,
    path: str,
    parameters: dict,
    compute: str | None = None,
    environment: str | None = None,
    experiment_name: str | None = None,
):
    """Run the notebook at ``path`` on ``workspaceworkingdirectory`` as a job (its folder is the job's code);
    the job is created only when the notebook, its parameters and the rest are valid."""
    from backend.services import datastores, jobs
    from backend.specs import parse_spec
    from backend.specs.job import CommandJobSpec

    rel = _datastore_path(path)
    source = f"notebook {rel}"
    store = datastores.get_filesystem(session=session, workspace=workspace, name=DATASTORE)
    if store.is_local:  # a symbolic link must not let Studio read a file elsewhere on its behalf
        root = store.local_path().resolve()
        if not store.local_path(str(rel)).resolve().is_relative_to(root):
            raise ValidationError(f"{source}: the path leaves datastore {DATASTORE!r}")
    try:
        data = datastores.read_bytes(
            session=session,
            workspace=workspace,
            name=DATASTORE,
            path=str(rel),
            max_bytes=NOTEBOOK_LIMIT_BYTES,
        )
    except NotFoundError:
        raise NotFoundError(f"{source}: no such notebook on datastore {DATASTORE!r}") from None
    parameters = dict(parameters or {})
    known = _parameters(parse_notebook(data, source=source), source=source)
    unknown = [name for name in parameters if name not in known]
    if unknown:
        listed = ", ".join(known) if known else "none: it has no cell tagged 'parameters'"
        raise ValidationError(
            f"{source}: unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"(its parameters: {listed})"
        )
    try:
        text = notebook_job_yaml(
            path=rel.name,
            parameters=parameters,
            compute=compute,
            environment=environment,
            experiment_name=experiment_name,
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None
    spec_data = yaml.safe_load(text)
    folder = "" if str(rel.parent) == "." else str(rel.parent)
    spec_data["code"] = f"azureml://datastores/{DATASTORE}/paths/{folder}"
    spec = parse_spec(CommandJobSpec, spec_data, source=source)
    try:
        return jobs.submit_command_job(
            session=session,
            workspace=workspace,
            spec=spec,
            source=source,
            extra_tags={"studio.notebook": str(rel)},
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc}") from None


# ---------------------------------------------------------------------------------- executed notebooks


def list_notebook_artifacts(*, run_id: str) -> list[str]:
    """The .ipynb files among a run's artifacts (``outputs/`` first), searched a few folders deep."""
    from backend.services import runs

    found: list[str] = []
    level, listed = [""], 0
    for _depth in range(ARTIFACT_SEARCH_DEPTH):
        deeper = []
        for folder in level:
            if listed >= ARTIFACT_SEARCH_FOLDERS:
                break
            listed += 1
            for entry in runs.list_artifacts(run_id=run_id, path=folder):
                if entry.is_dir and entry.path not in STUDIO_LOG_FOLDERS:
                    deeper.append(entry.path)
                elif not entry.is_dir and entry.name.lower().endswith(SUFFIX):
                    found.append(entry.path)
        level = deeper
    return sorted(found, key=lambda p: (not p.startswith("outputs/"), p.count("/"), p.lower()))


def read_notebook_artifact(*, run_id: str, path: str) -> dict[str, Any]:
    """One notebook among a run's artifacts, as its JSON (for a read-only render)."""
    from backend.services import runs

    data = runs.read_artifact(run_id=run_id, path=path, max_bytes=NOTEBOOK_LIMIT_BYTES)
    return parse_notebook(data, source=f"artifact {path}")


# ----------------------------------------------------------------------------------- failure reasons


def _read_ends(log: Path) -> tuple[str, str]:
    try:
        with open(log, "rb") as handle:
            head = handle.read(LOG_HEAD_BYTES)
            size = log.stat().st_size
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return "", ""
    return head.decode("utf-8", "replace"), tail.decode("utf-8", "replace")


_ERROR_AT = re.compile(r'^Exception encountered at "In \[(?P<count>[^\]]*)\]":[ \t]*$', re.M)
_INPUT = re.compile(r"^Input Notebook:\s+(?P<path>.+?)\s*$", re.M)
_TRACEBACK_HEAD = re.compile(r"^(?P<ename>[A-Za-z_][\w.]*)\s+Traceback \(most recent call last\)")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)?(: .*)?$")


def failure_from_log(text: str, code: int | None, head: str = "") -> str | None:
    """The reason of a job whose log ends with papermill's error: the failing cell's exception on the first
    line (``ValueError: alpha must be positive (notebook train.ipynb, cell In [4]; exit code 1)``), that
    cell's traceback below. None when the log shows no failing cell (the caller says "exit code N")."""
    marks = [
        m
        for m in _ERROR_AT.finditer(text)
        if "PapermillExecutionError" in text[max(0, m.start() - 400) : m.start()]
    ]
    if not marks:
        return None
    mark = marks[-1]
    lines = [ANSI.sub("", line).rstrip() for line in text[mark.end() :].splitlines()]
    lines = [line for line in lines if not set(line) <= {"-"} or not line][:TRACEBACK_LINES]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return None
    exception = None
    head_match = _TRACEBACK_HEAD.match(lines[0])
    if head_match:
        ename = head_match["ename"]
        exception = next(
            (line for line in reversed(lines) if line == ename or line.startswith(f"{ename}: ")), None
        )
    if exception is None:  # a SyntaxError and the like: no "Traceback" header, the exception last
        exception = next((line for line in reversed(lines) if _EXCEPTION_LINE.match(line)), lines[-1])
    inputs = list(_INPUT.finditer(text[: mark.start()])) or list(_INPUT.finditer(head))
    where = f"notebook {inputs[-1]['path']}, cell" if inputs else "notebook cell"
    first = f"{exception[:500]} ({where} In [{mark['count']}]; exit code {code})"
    return first + "\n" + "\n".join(lines)


def cell_failure(log: Path, code: int | None) -> str | None:
    """``failure_from_log`` of a job's ``user_logs/std_log.txt``, read at its two ends only."""
    head, tail = _read_ends(log)
    return failure_from_log(tail, code, head) if tail else None


__all__ = [
    "DATASTORE",
    "DEFAULT_ENVIRONMENT",
    "cell_failure",
    "check_notebook",
    "failure_from_log",
    "list_notebook_artifacts",
    "notebook_job_yaml",
    "notebook_parameters",
    "parse_notebook",
    "read_notebook_artifact",
    "submit_notebook_job",
]
