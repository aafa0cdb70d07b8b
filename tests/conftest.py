"""Shared fixtures: an isolated STUDIO_HOME per test, and the database on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.job_fixtures", "tests.azurite"]

REPO = Path(__file__).resolve().parents[1]
BASE_ENV_DIR = REPO / ".tools" / "base-env"
TEST_DATABASE_URL = os.environ.get("STUDIO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
STUDIO_ENV = (
    "STUDIO_HOME",
    "STUDIO_DATABASE_URL",
    "STUDIO_DATABASE_SCHEMA",
    "STUDIO_MLFLOW_URI",
    "STUDIO_WORKSPACE",
    "STUDIO_SECRET_KEY",
    "STUDIO_UI_PORT",
    "STUDIO_MLFLOW_PORT",
    "STUDIO_BASE_ENV_DIR",
    "STUDIO_ENDPOINT_PORT",
)


def required(part: str) -> bool:
    """CI sets STUDIO_REQUIRE_<PART>=1: there a missing part fails the run instead of skipping."""
    return os.environ.get(f"STUDIO_REQUIRE_{part.upper()}") == "1"


def skip_or_fail(part: str, message: str) -> None:
    if required(part):
        pytest.fail(f"{message} (required in this run: STUDIO_REQUIRE_{part.upper()}=1)")
    pytest.skip(message)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_caches() -> None:
    from backend.db import dispose_engines
    from backend.settings import reset_settings

    dispose_engines()
    reset_settings()


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new STUDIO_HOME as a studio's first start leaves it: the SQLite database at the migrations' head,
    with the default workspace and its built-in datastore folders. Each test starts from a copy: migrating
    a new database costs about 0.7 s, copying it a few milliseconds."""
    import shutil

    home = tmp_path_factory.mktemp("template") / "home"
    with pytest.MonkeyPatch.context() as patch:
        for name in STUDIO_ENV:
            patch.delenv(name, raising=False)
        patch.setenv("STUDIO_HOME", str(home))
        reset_caches()
        from backend.db import ensure_schema
        from backend.services import open_session

        ensure_schema()
        with open_session():
            pass
        reset_caches()
    for leftover in home.glob("*.migrate-lock"):
        leftover.unlink()
    shutil.rmtree(home / "run", ignore_errors=True)
    return home


@pytest.fixture(autouse=True)
def studio_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """Every test gets its own STUDIO_HOME (and so its own SQLite database), a copy of ``template_home``;
    a test marked ``empty_home`` starts from nothing, as a studio's very first start does."""
    import shutil

    for name in STUDIO_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    if request.node.get_closest_marker("empty_home") is None:
        shutil.copytree(request.getfixturevalue("template_home"), home)
    monkeypatch.setenv("STUDIO_HOME", str(home))
    # The curated base venv is built once per machine and shared by every test (and test run).
    monkeypatch.setenv("STUDIO_BASE_ENV_DIR", str(BASE_ENV_DIR))
    # Agents serve online endpoints on this port: each test its own, so parallel tests never share a router.
    monkeypatch.setenv("STUDIO_ENDPOINT_PORT", str(free_port()))
    reset_caches()
    yield home
    reset_caches()
    _stop_notebook_servers(home)


def _stop_notebook_servers(home: Path) -> None:
    """A compute instance's JupyterLab outlives its agent by design (the next agent adopts it): a test that
    created a running instance leaves it, so it is ended here (its host's group; the sandbox dies with it)."""
    import psutil

    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info["cmdline"] or []
        if any(a.endswith("notebook_host.py") for a in argv) and str(home) in " ".join(argv):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def team(studio_home):
    """Team mode: Owner ``olivia``, Data Scientist ``dana`` and Reader ``rick`` (name -> user)."""
    from backend.db import ensure_schema
    from backend.identity import acting_as
    from backend.services import users

    ensure_schema()
    owner = users.add_user("olivia", "Owner", "owner-pass-1")
    with acting_as(owner):
        users.add_user("dana", "Data Scientist", "dana-pass-1")
        users.add_user("rick", "Reader", "rick-pass-1")
    return {u.name: u for u in users.list_users()}


def _postgres_reachable(url: str) -> str | None:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on SQLite, then on PostgreSQL in a fresh schema that is dropped afterwards."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    problem = _postgres_reachable(TEST_DATABASE_URL)
    if problem:
        skip_or_fail("postgres", f"PostgreSQL at {TEST_DATABASE_URL} is not reachable: {problem}")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("STUDIO_DATABASE_URL", TEST_DATABASE_URL)
    monkeypatch.setenv("STUDIO_DATABASE_SCHEMA", schema)
    reset_caches()
    try:
        yield "postgresql"
    finally:
        reset_caches()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session(database: str):
    """A service session on the parametrised database; committed at the end of the test."""
    from backend.services import open_session

    with open_session() as s:
        yield s


class RunningStudio:
    """A real ``studio up`` subprocess on free ports, stopped with SIGINT like Ctrl-C."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None):
        import subprocess
        import sys

        self.home = home
        self.log = home.parent / f"studio-up-{uuid.uuid4().hex[:6]}.log"
        home.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if k not in STUDIO_ENV}
        full_env.update(
            {
                "STUDIO_HOME": str(home),
                "STUDIO_BASE_ENV_DIR": str(BASE_ENV_DIR),
                "STUDIO_ENDPOINT_PORT": str(free_port()),
                **(env or {}),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio.cli", "up", "--ui-port", "0", "--mlflow-port", "0", *args],
            stdout=open(self.log, "wb"),  # noqa: SIM115  (the child keeps writing after this returns)
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO,
        )

    def wait_ready(self, timeout: float = 120) -> dict:
        import json
        import time

        path = self.home / "run" / "up.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"studio up exited with {self.proc.returncode}:\n{self.output()}")
            if path.exists():
                return json.loads(path.read_text())
            time.sleep(0.3)
        raise AssertionError(f"studio up not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run fails when a process that a test started is still alive at its end (and is then killed)."""
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks once every worker has finished
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    from tests import leftovers

    root = str(factory.getbasetemp())
    left = leftovers.wait_for_none(root)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = leftovers.describe(left)
    leftovers.kill(left)
    message = f"{len(lines)} process(es) started by tests were still running (now killed):\n  " + "\n  ".join(
        lines
    )
    if reporter is not None:
        reporter.write_line(message, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    """The figures the reliability suite reported (tests/reliability/conftest.py), one per line."""
    figures = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "figure"
    ]
    if figures:
        terminalreporter.section("reliability figures")
        for line in figures:
            terminalreporter.write_line(line)
