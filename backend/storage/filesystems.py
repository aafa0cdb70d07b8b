"""Datastores as fsspec filesystems: one interface over local folders and Azure storage.

``DatastoreFS`` wraps an fsspec filesystem and the datastore's root inside it; paths given to it are
relative to the datastore (``data/iris.csv``), never absolute. ``for_datastore`` picks the backend by
datastore type.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import fsspec

from backend.errors import NotFoundError, ValidationError


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

    def full(self, path: str = "") -> str:
        rel = clean_relative(path)
        return f"{self.root.rstrip('/')}/{rel}" if rel else self.root

    def local_path(self, path: str = "") -> Path:
        if not self.is_local:
            raise ValidationError(f"datastore {self.name!r} is not a local folder")
        return Path(self.full(path))

    def exists(self, path: str = "") -> bool:
        return self.fs.exists(self.full(path))

    def is_dir(self, path: str = "") -> bool:
        return self.fs.isdir(self.full(path))

    def ls(self, path: str = "") -> list[FileEntry]:
        target = self.full(path)
        if not self.fs.exists(target):
            raise NotFoundError(f"{path or '/'} does not exist on datastore {self.name!r}")
        entries = []
        for info in self.fs.ls(target, detail=True):
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
        if self.fs.isdir(target):
            return int(self.fs.du(target, total=True))
        return int(self.fs.size(target))

    def open(self, path: str, mode: str = "rb") -> IO[Any]:
        if "w" in mode:
            parent = posixpath.dirname(self.full(path))
            if self.is_local:
                self.fs.makedirs(parent, exist_ok=True)
        return self.fs.open(self.full(path), mode)

    def put(self, local: str | Path, dest: str) -> None:
        """Copy a local file or folder to ``dest`` on the datastore."""
        local = Path(local)
        target = self.full(dest)
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


def for_datastore(row) -> DatastoreFS:
    """The filesystem of a user datastore row (``backend.db.models.Datastore``)."""
    if row.type == "local":
        return local_datastore(row.name, row.config["path"])
    raise ValidationError(f"datastore {row.name!r} has type {row.type!r}, which Studio cannot open")
