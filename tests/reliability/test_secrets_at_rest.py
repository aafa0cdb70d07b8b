"""Secrets are never in plain text: not in the database (nor its WAL), any file under STUDIO_HOME, the logs,
MLflow's store, the output of the CLI's list and show commands, exported YAML, the pages' HTML, or the
environment a job sees.

The secrets: an Azure Blob datastore's account key (Azurite's), a connection's API key, and an online
endpoint's two keys. A real agent runs a job that reads its input from that datastore and writes its
output there (so the agent itself uses the key), and the job prints its environment to its log.
"""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import psutil
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from tests.job_fixtures import log_of, submit, wait

pytestmark = pytest.mark.usefixtures("tracking")


def _mlflow_store(uri: str) -> list[Path]:
    """The backend store and artifact folder of the tracking server listening at ``uri`` (from its
    command line: the session's server is started by tests/job_fixtures.py)."""
    port = int(uri.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            args = psutil.Process(conn.pid).cmdline()
            for parent in [psutil.Process(conn.pid), *psutil.Process(conn.pid).parents()]:
                if "--backend-store-uri" in parent.cmdline():
                    args = parent.cmdline()
                    break
            store = args[args.index("--backend-store-uri") + 1].removeprefix("sqlite:///")
            artifacts = args[args.index("--artifacts-destination") + 1]
            return [Path(store).parent, Path(artifacts)]
    raise AssertionError(f"no tracking server listens at {uri}")


class Scan:
    def __init__(self, secrets: dict[str, str]):
        self.secrets = {name: value.encode() for name, value in secrets.items()}
        self.files = self.bytes = self.texts = 0
        self.hits: list[str] = []

    def data(self, where: str, data: bytes) -> None:
        self.bytes += len(data)
        for name, secret in self.secrets.items():
            if secret in data:
                self.hits.append(f"{name} in {where}")

    def text(self, where: str, text: str) -> None:
        self.texts += 1
        self.data(where, text.encode())

    def tree(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink() and not path.is_socket():
                self.files += 1
                self.data(str(path), path.read_bytes())


def cli(*argv: str) -> str:
    """stdout and stderr of the CLI, run as a shell would run it."""
    from studio.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    assert code == 0, f"studio {' '.join(argv)}: {err.getvalue()}"
    return out.getvalue() + err.getvalue()


def rendered(at: AppTest) -> str:
    """Everything a page sent to the browser (every element's message) plus its widget state."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    parts.append(repr(at.session_state))
    return "\n".join(parts)


def page(file: str, **query: str) -> str:
    at = AppTest.from_file(str(REPO / "studio" / "app.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"../pages/{file}").run()
    assert not at.exception, at.exception
    return rendered(at)


def test_secrets_are_never_in_plain_text(tmp_path, studio_home, tracking, azurite, agent, report):
    from backend.services import endpoint_access, open_session

    container = azurite.new_container("secrets")
    api_key = f"sk-rel-{uuid.uuid4().hex}"
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "blob.yml").write_text(
        f"name: blobds\ntype: azure_blob\naccount_name: {azurite.account}\ncontainer_name: {container}\n"
        f"endpoint: {azurite.endpoint}\nprotocol: http\ncredentials:\n  account_key: {azurite.account_key}\n"
    )
    (folder / "endpoint.yml").write_text("name: rel-secret-ep\nauth_mode: key\n")
    (folder / "connection.yml").write_text(
        f"name: rel-llm\ntype: openai\ntarget: https://llm.example.invalid/v1\nmodel: m\napi_key: {api_key}\n"
    )
    (folder / "in.csv").write_text("a,b\n1,2\n")
    cli("datastore", "create", "--file", str(folder / "blob.yml"))
    cli("online-endpoint", "create", "--file", str(folder / "endpoint.yml"))
    cli("connection", "create", "--file", str(folder / "connection.yml"))
    cli("datastore", "upload", "--name", "blobds", "--src", str(folder / "in.csv"), "--dest", "in/")
    with open_session() as s:
        keys = endpoint_access.get_keys(session=s, workspace="default", name="rel-secret-ep")
    secrets = {
        "the datastore's account key": azurite.account_key,
        "the connection's API key": api_key,
        "the endpoint's primary key": keys.primaryKey,
        "the endpoint's secondary key": keys.secondaryKey,
    }

    job = submit(
        tmp_path / "job",
        """
        command: env && cat ${{inputs.table}} && cp ${{inputs.table}} ${{outputs.copy}}/copy.csv
        environment: azureml:AzureML-sklearn-1.5@latest
        inputs:
          table: {type: uri_file, path: azureml://datastores/blobds/paths/in/in.csv}
        outputs:
          copy: {type: uri_folder, path: azureml://datastores/blobds/paths/out/}
        """,
    )
    done = wait(job.name, timeout_s=240)
    assert done.status == "Completed", (done.status, log_of(job.name), agent.log()[-3000:])
    job_log = log_of(job.name)
    assert "MLFLOW_TRACKING_URI=" in job_log  # the log does hold the job's environment
    assert "copy.csv" in "".join(azurite.blob_names(container))

    scan = Scan(secrets)
    scan.text("the environment and log of the job", job_log)
    for command in (
        ["datastore", "list"], ["datastore", "show", "--name", "blobds"],
        ["connection", "list"], ["connection", "show", "--name", "rel-llm"],
        ["online-endpoint", "list"], ["online-endpoint", "show", "--name", "rel-secret-ep"],
        ["job", "list"], ["job", "show", "--name", job.name], ["workspace", "show", "--name", "default"],
        ["data", "list"], ["datastore", "ls", "--name", "blobds"],
    ):  # fmt: skip
        for output in ("json", "table"):
            scan.text(f"studio {' '.join(command)} -o {output}", cli(*command, "-o", output))
    manifests = tmp_path / "k8s"
    scan.text("studio online-endpoint export-k8s", cli("online-endpoint", "export-k8s", "--name",
              "rel-secret-ep", "--output-dir", str(manifests)))  # fmt: skip
    for path in sorted(manifests.iterdir()):
        if path.name.endswith("-keys.yaml"):  # the Secret the export is asked for: the keys, owner-only
            assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)
            continue
        scan.text(f"exported manifest {path.name}", path.read_text())
    for name, query in (
        ("datastores.py", {"name": "blobds"}),
        ("datastores.py", {}),
        ("endpoints.py", {"name": "rel-secret-ep"}),
        ("model_benchmarks.py", {}),
        ("jobs.py", {"name": job.name}),
    ):
        scan.text(f"page {name} {query}", page(name, **query))
    agent.stop()  # its log and the database's WAL are complete once it has stopped
    scan.tree(studio_home)  # studio.db, -wal and -shm, logs, job folders, datastores, run files
    database_files = [p.name for p in studio_home.glob("studio.db*")]
    for root in _mlflow_store(tracking):
        scan.tree(root)

    report(
        f"secrets at rest: {len(secrets)} secrets, {scan.files} files ({scan.bytes / 2**20:.1f} MiB, "
        f"{', '.join(sorted(database_files))} among them) and {scan.texts} CLI outputs, pages, exports "
        f"and job logs scanned: {len(scan.hits)} hits"
    )
    assert not scan.hits, "\n".join(scan.hits)
    assert json.loads(cli("connection", "show", "--name", "rel-llm", "-o", "json"))["name"] == "rel-llm"
