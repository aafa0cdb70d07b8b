"""The Azurite blob emulator on a free loopback port, for tests that need Azure Blob storage.

``start_azurite(folder)`` returns a running emulator (or None when the npm package is missing); the
``azurite`` fixture (a pytest plugin of tests/conftest.py) starts one per test session for the tests that
ask for it. Accounts and keys are the emulator's well-known, public ones.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

AZURITE_BIN = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"
INSTALL_HINT = "npm install --no-audit --no-fund --prefix .tools azurite@3"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 30
FLAGS = ("--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Azurite:
    port: int
    proc: subprocess.Popen
    log: Path
    account: str = ACCOUNT
    account_key: str = ACCOUNT_KEY
    containers: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """What a datastore's ``endpoint`` field holds for the emulator (with ``protocol: http``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.account_key};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{self.account};"
        )

    def new_container(self, prefix: str = "test") -> str:
        """A fresh, empty container (tests share one emulator, never a container)."""
        from azure.storage.blob import BlobServiceClient

        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)
        self.containers.append(name)
        return name

    def sas_token(self, container: str, *, write: bool = True, hours: int = 1) -> str:
        from datetime import UTC, datetime, timedelta

        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            account_name=self.account,
            container_name=container,
            account_key=self.account_key,
            permission=ContainerSasPermissions(read=True, list=True, write=write, delete=write, add=write),
            expiry=datetime.now(UTC) + timedelta(hours=hours),
        )

    def blob_names(self, container: str) -> list[str]:
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(self.connection_string)
        return sorted(b.name for b in client.get_container_client(container).list_blobs())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_azurite(folder: Path) -> Azurite | None:
    """Start ``azurite-blob`` on a free port with its data in ``folder``; None when it is not installed."""
    if not AZURITE_BIN.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = folder / "azurite.log"
    address = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(folder)]
    proc = subprocess.Popen(
        [str(AZURITE_BIN), *address, *FLAGS],
        stdout=open(log, "wb"),  # noqa: SIM115  (the emulator keeps writing after this returns)
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Azurite(port=port, proc=proc, log=log)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"azurite did not listen on port {port} within {START_TIMEOUT_S}s: {log.read_text()}")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One emulator for every test of the session that asks for it (each test makes its own containers)."""
    from tests.conftest import skip_or_fail

    emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    if emulator is None:
        skip_or_fail("azurite", f"the Azurite emulator is not installed ({INSTALL_HINT})")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def shared(azurite: Azurite, monkeypatch, studio_home) -> tuple[Azurite, str]:
    """The studio's shared storage (``STUDIO_STORAGE_URL``/``KEY``) in a fresh container of the emulator."""
    from tests.conftest import reset_caches

    container = azurite.new_container("shared")
    monkeypatch.setenv(
        "STUDIO_STORAGE_URL", f"http://{azurite.endpoint}/{azurite.account}/{container}/studio"
    )
    monkeypatch.setenv("STUDIO_STORAGE_KEY", azurite.account_key)
    reset_caches()
    return azurite, container
