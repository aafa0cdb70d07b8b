"""Shared storage: one Azure Blob container that every agent, worker and server of a studio reaches.

``STUDIO_STORAGE_URL`` names the container, and a folder in it, as a blob URL:

- ``https://<account>.blob.core.windows.net/<container>[/<folder>]`` (Azure Storage);
- ``http://127.0.0.1:10000/<account>/<container>[/<folder>]`` (an emulator such as Azurite, path-style).

``STUDIO_STORAGE_KEY`` is the account's key: it stays in the environment of Studio's own processes and is
never written to the database or a job's environment. With shared storage set, the MLflow server keeps
artifacts under ``<folder>/mlflow`` and new workspaces get their four built-in datastores under
``<folder>/workspaces/<workspace>/<datastore>``, so agents on other machines (``studio agent``) and Ray
workers see the same files. Unset, both are local folders under ``STUDIO_HOME``, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from backend.errors import ValidationError

SUFFIX = ".blob.core.windows.net"


@dataclass(frozen=True)
class SharedStorage:
    account: str
    endpoint: str  # "core.windows.net", or an emulator's "host:port"
    protocol: str
    container: str
    folder: str  # inside the container ("" for its root)
    key: str

    def datastore_config(self, *parts: str) -> dict[str, Any]:
        """The config of an ``azure_blob`` datastore rooted at ``<folder>/<parts...>`` of the container."""
        return {
            "account_name": self.account,
            "container_name": self.container,
            "endpoint": self.endpoint,
            "protocol": self.protocol,
            "root_prefix": "/".join(p.strip("/") for p in (self.folder, *parts) if p.strip("/")),
            "shared": True,
        }

    @property
    def blob_url(self) -> str:
        if self.endpoint == "core.windows.net":
            return f"{self.protocol}://{self.account}{SUFFIX}"
        return f"{self.protocol}://{self.endpoint}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol={self.protocol};AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.blob_url};"
        )

    @property
    def mlflow_destination(self) -> str:
        """The MLflow server's ``--artifacts-destination`` (MLflow reaches an emulator through the
        connection string it is given, whatever the URI's host says)."""
        path = "/".join(p for p in (self.folder, "mlflow") if p)
        return f"wasbs://{self.container}@{self.account}{SUFFIX}/{path}"

    @property
    def location(self) -> str:
        return f"{self.blob_url}/{self.container}" + (f"/{self.folder}" if self.folder else "")


def parse(url: str, key: str | None) -> SharedStorage:
    """``STUDIO_STORAGE_URL`` and ``STUDIO_STORAGE_KEY`` as a ``SharedStorage``; a ValidationError names
    the variable, what is wrong and what is allowed."""
    allowed = (
        "https://<account>.blob.core.windows.net/<container>[/<folder>] or, for an emulator, "
        "http://host:port/<account>/<container>[/<folder>]"
    )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"STUDIO_STORAGE_URL: {url!r} is not a blob URL; use {allowed}")
    segments = [s for s in parts.path.split("/") if s]
    if parts.netloc.endswith(SUFFIX):
        account, endpoint = parts.netloc.removesuffix(SUFFIX), "core.windows.net"
    else:
        if not segments:
            raise ValidationError(f"STUDIO_STORAGE_URL: {url!r} names no account; use {allowed}")
        account, endpoint = segments.pop(0), parts.netloc
    if not segments:
        raise ValidationError(f"STUDIO_STORAGE_URL: {url!r} names no container; use {allowed}")
    container = segments.pop(0)
    if not key:
        raise ValidationError(
            "STUDIO_STORAGE_KEY: the shared storage's account key is required with STUDIO_STORAGE_URL"
        )
    return SharedStorage(
        account=account,
        endpoint=endpoint,
        protocol=parts.scheme,
        container=container,
        folder="/".join(segments),
        key=key,
    )


def configured() -> SharedStorage | None:
    """The studio's shared storage, or None when its files are local folders."""
    from backend.settings import get_settings

    settings = get_settings()
    if not settings.storage_url:
        return None
    return parse(settings.storage_url, settings.storage_key)
