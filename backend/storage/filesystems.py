"""Datastores as fsspec filesystems: one interface over local folders and Azure storage.

``DatastoreFS`` wraps an fsspec filesystem and the datastore's root inside it; paths given to it are
relative to the datastore (``data/iris.csv``), never absolute. ``for_datastore`` picks the backend by
datastore type; this module is the only place that builds fsspec filesystems for datastores, and (with
``backend.storage.secrets``) the only place that sees a datastore's plain credential.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import json
import posixpath
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import fsspec

from backend.errors import NotFoundError, StudioError, UnavailableError, ValidationError

# Connecting to cloud storage: fail within seconds when the endpoint is unreachable, instead of the
# SDK's default of retrying for about a minute.
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120
CONNECT_CHECK_TIMEOUT_S = 5
_AZURE_RETRY = {"retry_total": 3, "retry_connect": 1, "initial_backoff": 1, "increment_base": 2}
TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


@dataclass(frozen=True)
class FileEntry:
    name: str
    path: str  # relative to the datastore root
    is_dir: bool
    size: int | None
    modified: datetime | None


def clean_relative(path: str) -> str:
    """A datastore-relative POSIX path; '..' that would leave the datastore is refused."""
    norm = posixpath.normpath("/" + (path or "").replace("\\", "/")).lstrip("/")
    if norm == ".":
        norm = ""
    if ".." in norm.split("/"):
        raise ValidationError(f"path {path!r} leaves the datastore")
    return norm


@dataclass
class DatastoreFS:
    name: str
    fs: fsspec.AbstractFileSystem
    root: str  # the datastore's root inside ``fs`` (a folder, or container/prefix)
    is_local: bool
    # Where it points, for messages ("container 'data' of account 'acct' at https://...").
    location: str = ""
    url: str = ""  # the account's blob service URL (cloud stores)
    # Plain credential values, kept only to strip them from library error messages.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn a storage library's failure into one clear message that never carries the credential."""
        if self.is_local:
            yield
            return
        try:
            yield
        except StudioError:
            raise
        except FileNotFoundError as exc:
            missing = str(exc.args[-1] if exc.args else exc)
            raise NotFoundError(
                self._redact(f"datastore {self.name!r}: {action}: {missing} does not exist")
            ) from None
        except Exception as exc:
            raise UnavailableError(
                self._redact(f"datastore {self.name!r}: {action} failed: {azure_reason(exc)}")
            ) from None

    def _redact(self, text: str) -> str:
        from backend.storage.secrets import redact

        return redact(text, self.secrets)

    def full(self, path: str = "") -> str:
        rel = clean_relative(path)
        return f"{self.root.rstrip('/')}/{rel}" if rel else self.root

    def local_path(self, path: str = "") -> Path:
        if not self.is_local:
            raise ValidationError(f"datastore {self.name!r} is not a local folder")
        return Path(self.full(path))

    def exists(self, path: str = "") -> bool:
        with self.errors(f"checking {path or '/'}"):
            return self.fs.exists(self.full(path))

    def is_dir(self, path: str = "") -> bool:
        with self.errors(f"checking {path or '/'}"):
            return self.fs.isdir(self.full(path))

    def ls(self, path: str = "") -> list[FileEntry]:
        target = self.full(path)
        with self.errors(f"listing {path or '/'}"):
            if not self.fs.exists(target):
                if not path and "/" in self.root.strip("/") and not self.is_local:
                    return []  # a folder of a container (shared storage) holds nothing yet
                raise NotFoundError(f"{path or '/'} does not exist on datastore {self.name!r}")
            infos = self.fs.ls(target, detail=True)
        entries = []
        for info in infos:
            full = info["name"].rstrip("/")
            rel = full[len(self.root.rstrip("/")) :].lstrip("/")
            is_dir = info.get("type") == "directory"
            entries.append(
                FileEntry(
                    name=posixpath.basename(full),
                    path=rel,
                    is_dir=is_dir,
                    size=None if is_dir else info.get("size"),
                    modified=_modified(info),
                )
            )
        return sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))

    def size(self, path: str = "") -> int:
        target = self.full(path)
        with self.errors(f"measuring {path or '/'}"):
            if self.fs.isdir(target):
                return int(self.fs.du(target, total=True))
            return int(self.fs.size(target))

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        with self.errors(f"opening {path}"):
            if "w" in mode:
                parent = posixpath.dirname(self.full(path))
                if self.is_local:
                    self.fs.makedirs(parent, exist_ok=True)
            return self.fs.open(self.full(path), mode)

    def put(self, local: str | Path, dest: str) -> None:
        """Copy a local file or folder to ``dest`` on the datastore."""
        local = Path(local)
        target = self.full(dest)
        with self.errors(f"uploading to {dest or '/'}"):
            if local.is_dir():
                for file in sorted(p for p in local.rglob("*") if p.is_file()):
                    self._put_file(file, f"{target}/{file.relative_to(local).as_posix()}")
            else:
                self._put_file(local, target)

    def _put_file(self, local: Path, target: str) -> None:
        if self.is_local:
            self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        self.fs.put_file(str(local), target)

    def get(self, src: str, local: str | Path) -> None:
        """Copy a file or folder from the datastore to a local path."""
        source = self.full(src)
        local = Path(local)
        with self.errors(f"downloading {src or '/'}"):
            if self.fs.isdir(source):
                local.mkdir(parents=True, exist_ok=True)
                for file in self.fs.find(source):
                    rel = file[len(source.rstrip("/")) :].lstrip("/")
                    (local / rel).parent.mkdir(parents=True, exist_ok=True)
                    self.fs.get_file(file, str(local / rel))
            elif self.fs.exists(source):
                local.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(source, str(local))
            else:
                raise NotFoundError(f"{src} does not exist on datastore {self.name!r}")

    def delete(self, path: str) -> None:
        with self.errors(f"deleting {path or '/'}"):
            self.fs.rm(self.full(path), recursive=True)


def _modified(info: dict[str, Any]) -> datetime | None:
    for key in ("mtime", "last_modified", "LastModified", "modified"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def local_datastore(name: str, folder: str | Path) -> DatastoreFS:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return DatastoreFS(name=name, fs=fsspec.filesystem("file"), root=str(folder), is_local=True)


def _is_emulator_host(endpoint: str) -> bool:
    """An IP address, ``localhost`` or any ``host:port``: storage reached path-style, like Azurite."""
    host, _, port = endpoint.rpartition(":") if not endpoint.startswith("[") else endpoint.partition("]:")
    if port and port.isdigit() and host:
        return True
    host = endpoint.strip("[]")
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def account_url(config: dict[str, Any]) -> str:
    """The blob service URL of an Azure datastore's account.

    ``core.windows.net`` gives ``https://<account>.blob.core.windows.net``; an emulator endpoint such as
    ``127.0.0.1:10000`` gives the path-style ``http://127.0.0.1:10000/<account>``. Data Lake Gen2
    accounts are reached through the same blob endpoint (adlfs speaks the blob API to both).
    """
    endpoint = config.get("endpoint") or "core.windows.net"
    protocol = config.get("protocol") or "https"
    account = config["account_name"]
    if _is_emulator_host(endpoint):
        return f"{protocol}://{endpoint}/{account}"
    return f"{protocol}://{account}.blob.{endpoint}"


def container_of(config: dict[str, Any]) -> str:
    return config.get("container_name") or config.get("filesystem") or ""


@functools.cache
def _blob_filesystem_class():
    from adlfs import AzureBlobFileSystem

    class StudioBlobFileSystem(AzureBlobFileSystem):
        """adlfs with short retries: an unreachable endpoint fails in seconds, not after a minute."""

        def do_connect(self):
            if self.connection_string is None:
                return super().do_connect()
            from azure.storage.blob.aio import BlobServiceClient

            try:
                self.service_client = BlobServiceClient.from_connection_string(
                    conn_str=self.connection_string, connection_timeout=CONNECT_TIMEOUT_S, **_AZURE_RETRY
                )
            except Exception as exc:  # the SDK's message may quote the connection string
                raise ValueError(f"unable to connect to the account ({type(exc).__name__})") from None

    return StudioBlobFileSystem


def _connection_string(url: str, account: str, credentials: dict[str, str]) -> str:
    """An explicit ``BlobEndpoint`` works for the cloud and for path-style emulator URLs alike."""
    parts = [f"BlobEndpoint={url}"]
    if credentials.get("account_key"):
        protocol = url.split("://", 1)[0]
        parts = [
            f"DefaultEndpointsProtocol={protocol}",
            f"AccountName={account}",
            f"AccountKey={credentials['account_key']}",
            *parts,
        ]
    elif credentials.get("sas_token"):
        parts.append(f"SharedAccessSignature={credentials['sas_token'].lstrip('?')}")
    return ";".join(parts) + ";"


def azure_datastore(name: str, config: dict[str, Any], credentials: dict[str, str]) -> DatastoreFS:
    """An ``azure_blob`` / ``azure_data_lake_gen2`` datastore through adlfs.

    ``credentials`` holds ``account_key``, ``sas_token``, or ``tenant_id``/``client_id``/``client_secret``
    (a service principal), or nothing (anonymous access to a public container).
    """
    url = account_url(config)
    container = container_of(config)
    cls = _blob_filesystem_class()
    common = {
        "use_listings_cache": False,  # jobs and other processes write here too
        "skip_instance_cache": True,
        "assume_container_exists": True,  # a container-scoped SAS token cannot read the container's properties
        "connection_timeout": CONNECT_TIMEOUT_S,
        "read_timeout": READ_TIMEOUT_S,
    }
    if credentials.get("client_secret"):
        fs = cls(
            account_name=config["account_name"],
            account_host=url.split("://", 1)[1],
            tenant_id=credentials["tenant_id"],
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            **common,
        )
    else:
        fs = cls(
            connection_string=_connection_string(url, config["account_name"], credentials),
            anon=True,
            **common,
        )
    secrets = tuple(v for k, v in credentials.items() if k in ("account_key", "sas_token", "client_secret"))
    return DatastoreFS(
        name=name,
        fs=fs,
        root=f"{container}/{config['root_prefix']}" if config.get("root_prefix") else container,
        is_local=False,
        location=f"container {container!r} of storage account {config['account_name']!r} at {url}",
        url=url,
        secrets=secrets,
    )


def for_datastore(row) -> DatastoreFS:
    """The filesystem of a user datastore row (``backend.db.models.Datastore``)."""
    if row.type == "local":
        return local_datastore(row.name, row.config["path"])
    if row.type in ("azure_blob", "azure_data_lake_gen2"):
        credentials: dict[str, str] = {}
        if row.secret:
            from backend.storage.secrets import decrypt

            credentials = json.loads(decrypt(row.secret, what=f"the credential of datastore {row.name!r}"))
        return azure_datastore(row.name, dict(row.config or {}), credentials)
    raise ValidationError(f"datastore {row.name!r} has type {row.type!r}, which Studio cannot open")


def azure_reason(exc: BaseException) -> str:
    """What went wrong talking to Azure storage, in words (the caller redacts credentials)."""
    exc = _azure_cause(exc)
    code = str(getattr(exc, "error_code", "") or "")
    code = code.rsplit(".", 1)[-1] if code.startswith("StorageErrorCode") else code
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if name == "AzureSigningError":
        return "the account key is not a valid key (it must be the base64 key shown for the storage account)"
    if code.upper() in ("AUTHORIZATION_FAILURE", "AUTHORIZATIONFAILURE", "AUTHENTICATIONFAILED") or (
        status == 403 and "permission" not in str(exc).lower()
    ):
        return "the storage account refused the credential (check the account key or SAS token)"
    if status == 403:
        return "the credential is not allowed to do this (the SAS token or role lacks a permission)"
    if name == "ClientAuthenticationError" or "ClientAuthentication" in name:
        return "the service principal could not sign in (check tenant_id, client_id and client_secret)"
    if name in ("ServiceRequestError", "ServiceRequestTimeoutError", "ClientConnectorError") or isinstance(
        exc, OSError | TimeoutError
    ):
        return f"cannot reach the storage endpoint ({_first_line(exc)})"
    detail = _first_line(exc)
    return f"{name}: {detail}" if detail else name


def _azure_cause(exc: BaseException) -> BaseException:
    """adlfs wraps the SDK's error (``RuntimeError: Failed to upload block``); find the SDK's own."""
    seen = exc
    for _ in range(5):
        if type(seen).__module__.startswith("azure.") or getattr(seen, "status_code", None):
            return seen
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _probe(url: str) -> None:
    """Open (and close) a TCP connection to the URL's host: a fast, clear check of reachability."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_CHECK_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnavailableError(f"cannot reach {parts.hostname}:{port} ({reason})") from None


def check_connection(store: DatastoreFS) -> None:
    """Make sure the datastore answers: its folder exists, or its container can be listed.

    The message of a failure names the datastore, where it points and what failed, never a credential.
    """
    if store.is_local:
        root = Path(store.root)
        if not root.is_dir():
            raise ValidationError(f"datastore {store.name!r}: {root} is not a folder")
        return
    from backend.storage.secrets import redact

    where = store.location or repr(store.root)
    try:
        _probe(store.url)
        store.fs.ls(store.root, detail=False)
    except UnavailableError as exc:
        raise UnavailableError(
            f"datastore {store.name!r}: {exc}; check the account name, endpoint and protocol of {where}"
        ) from None
    except FileNotFoundError:
        raise ValidationError(f"datastore {store.name!r}: {where} does not exist") from None
    except Exception as exc:
        reason = azure_reason(exc)
        if not store.secrets and reason.startswith("the storage account refused"):
            reason = "the container does not allow anonymous access; give an account key or a SAS token"
        raise ValidationError(
            redact(f"datastore {store.name!r}: cannot list {where}: {reason}", store.secrets)
        ) from None


def tabular_format(path: str) -> str | None:
    """``csv``, ``tsv``, ``parquet``, ``jsonl`` or ``json`` by file suffix; None for other files."""
    return TABULAR_SUFFIXES.get(Path(path).suffix.lower())


def read_table_head(store: DatastoreFS, path: str, rows: int = 100):
    """The first ``rows`` rows of a csv/tsv/parquet/json-lines file on a datastore, as a DataFrame."""
    import pandas as pd

    kind = tabular_format(path)
    if kind is None:
        raise ValidationError(
            f"{path}: only csv, tsv, parquet and json lines (.jsonl) files can be previewed"
        )
    if not store.exists(path) or store.is_dir(path):
        raise NotFoundError(f"file {path} does not exist on datastore {store.name!r}")
    try:
        with store.errors(f"reading {path}"), store.open(path, "rb") as handle:
            if kind == "parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                batches = pq.ParquetFile(handle).iter_batches(batch_size=rows)
                first = next(batches, None)
                schema = pq.read_schema(handle) if first is None else first.schema
                table = pa.Table.from_batches([first] if first is not None else [], schema=schema)
                return table.to_pandas()
            if kind == "jsonl":
                return pd.read_json(handle, lines=True, nrows=rows)
            if kind == "json":  # json lines, or else one JSON array of records
                data = handle.read()
                try:
                    return pd.read_json(io.BytesIO(data), lines=True, nrows=rows)
                except ValueError:
                    return pd.read_json(io.BytesIO(data)).head(rows)
            return pd.read_csv(handle, sep="\t" if kind == "tsv" else ",", nrows=rows)
    except StudioError:
        raise
    except Exception as exc:  # a malformed file: say which, and what the reader said
        raise ValidationError(f"{path} cannot be read as {kind}: {_first_line(exc)}") from None
