"""Notebooks: the files of the workspace's ``workspaceworkingdirectory`` datastore, its notebook share.

Every path is relative to the acting user's root: the whole datastore for a single-user studio, and
``Users/<user name>/`` in team mode (an Owner may also pass ``whole_share=True`` to see every user's
folder). A path that leaves the root (``..``, an absolute path, a symbolic link out of it) is refused, as
is a name with ``/`` where a name is expected, an existing target, a missing file or a file that is not a
notebook where a notebook is expected: one line each, and nothing changes. Changes need a role that may
change notebooks (a Reader changes nothing): they are files, not rows, so ``require`` is called here.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from backend.errors import ConflictError, NotFoundError, ValidationError
from backend.identity import OWNER, PermissionDenied, current, require

__all__ = [
    "COUNT_LIMIT",
    "DATASTORE",
    "KERNEL_DISPLAY_NAME",
    "READ_LIMIT_BYTES",
    "TREE_LIMIT",
    "NotebookFile",
    "NotebookRoot",
    "NotebookTree",
    "child_path",
    "delete",
    "get_file",
    "list_tree",
    "new_folder",
    "new_notebook",
    "new_notebook_json",
    "notebook_root",
    "read_bytes",
    "read_notebook",
    "rename",
    "upload",
    "upload_files",
]

DATASTORE = "workspaceworkingdirectory"
USERS_FOLDER = "Users"
NOTEBOOK_SUFFIX = ".ipynb"
KERNEL_NAME = "python3"
KERNEL_DISPLAY_NAME = "Python 3 (curated)"
TREE_LIMIT = 5000  # entries a tree listing returns; the rest are counted, not listed
COUNT_LIMIT = 100_000  # entries a tree listing counts at most (a folder of a million files stays quick)
MAX_DEPTH = 64  # folder levels a tree listing walks
READ_LIMIT_BYTES = 200 * 1024 * 1024  # what read_bytes hands to a page for a download
NOTEBOOK_LIMIT_BYTES = 50 * 1024 * 1024  # a notebook rendered in a page (outputs with images included)
KIND = "notebook"  # for ``require``: "dana (Reader) may not change notebooks"


class NotebookRoot(BaseModel):
    """Where the acting user's files are: ``prefix`` is that folder inside the datastore ("" for all of it)."""

    workspace: str
    datastore: str
    prefix: str
    folder: Path
    whole_share: bool  # the root is the whole datastore
    may_see_share: bool = False  # an Owner in team mode, who may ask for the whole share

    def share_path(self, path: str) -> str:
        """``path`` (relative to this root) relative to the datastore, as JupyterLab and jobs name files."""
        return posixpath.join(self.prefix, path) if self.prefix and path else path or self.prefix


class NotebookFile(BaseModel):
    name: str
    path: str  # relative to the root
    kind: str  # folder | notebook | file
    size: int | None  # bytes (None for a folder)
    modified: datetime
    depth: int  # 0 for the root's own entries

    @property
    def is_dir(self) -> bool:
        return self.kind == "folder"


class NotebookTree(BaseModel):
    root: NotebookRoot
    entries: list[NotebookFile]  # depth first, each folder's folders before its files, by name
    total: int  # entries under the root (up to COUNT_LIMIT); more than ``len(entries)`` when capped

    @property
    def truncated(self) -> bool:
        return self.total > len(self.entries)


# ------------------------------------------------------------------------------------------------ roots


def notebook_root(*, session: Session, workspace: str, whole_share: bool = False) -> NotebookRoot:
    """The acting user's root: the datastore, or ``Users/<name>/`` in team mode (the whole share for an
    Owner who asks for it)."""
    from backend.services import datastores
    from backend.services.users import team_mode

    store = datastores.get_datastore(session=session, workspace=workspace, name=DATASTORE)
    if store.type != "local":
        raise ValidationError(
            f"datastore {DATASTORE!r} of workspace {workspace!r} is on the studio's shared storage; "
            "notebooks need it as a folder on this machine"
        )
    base = datastores.builtin_folder(workspace, DATASTORE)
    user = current()
    prefix = ""
    owner = False
    if user is not None and team_mode():
        owner = user.role == OWNER
        if whole_share and user.role != OWNER:
            raise PermissionDenied(
                f"{user.name} ({user.role}) may not browse the whole notebook share: only Owners see every "
                f"user's folder"
            )
        if not whole_share:
            prefix = f"{USERS_FOLDER}/{user.name}"
    folder = base / prefix if prefix else base
    if prefix and not folder.resolve().is_relative_to(base.resolve()):
        raise ValidationError(f"{prefix}/ leads out of datastore {DATASTORE!r}; it is refused")
    return NotebookRoot(
        workspace=workspace,
        datastore=DATASTORE,
        prefix=prefix,
        folder=folder,
        whole_share=not prefix,
        may_see_share=owner,
    )


def _relative(path: str | None) -> str:
    """``path`` as a clean relative POSIX path ("" for the root); refused when it could leave the root."""
    given = path or ""
    if "\x00" in given:
        raise ValidationError(f"path {given!r} holds a NUL character")
    if given.startswith(("/", "\\")):
        raise ValidationError(f"path {given!r} is absolute: give it relative to your notebooks folder")
    parts = given.replace("\\", "/").split("/")
    if ".." in parts:
        raise ValidationError(f"path {given!r} leaves your notebooks folder ('..' is not allowed)")
    clean = posixpath.normpath("/".join(parts)) if given.strip("/") else ""
    return "" if clean == "." else clean


def _inside(root: Path, target: Path, shown: str) -> Path:
    """``target`` with every link resolved, refused when that lands outside ``root``."""
    real_root = root.resolve()
    real = target.resolve()
    if real != real_root and real_root not in real.parents:
        # (where it leads is not said: that is outside what the user may see)
        raise ValidationError(f"{shown} leads out of your notebooks folder through a link; it is refused")
    return real


def _locate(root: NotebookRoot, path: str | None) -> tuple[str, Path]:
    """The clean relative path and its place on disk (inside the root, links resolved)."""
    rel = _relative(path)
    target = root.folder / rel if rel else root.folder
    # The parent decides where a new file lands; an existing target must not be a link out either.
    _inside(root.folder, target.parent if rel else target, rel or "/")
    if target.is_symlink() or target.exists():
        _inside(root.folder, target, rel or "/")
    return rel, target


def _existing(root: NotebookRoot, path: str | None, *, what: str = "file or folder") -> tuple[str, Path]:
    rel, target = _locate(root, path)
    if not target.exists():
        raise NotFoundError(f"{what} {rel or '/'} does not exist in your notebooks folder")
    return rel, target


def _check_name(name: str) -> str:
    """A file or folder name: one segment, not hidden (hidden files are never listed)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("give a name")
    if "/" in name or "\\" in name:
        raise ValidationError(f"name {name!r} holds '/': give a name, not a path")
    if name in (".", ".."):
        raise ValidationError(f"{name!r} is not a file name")
    if name.startswith("."):
        raise ValidationError(f"name {name!r} starts with '.': such hidden files are not listed")
    if "\x00" in name or len(name.encode()) > 255:
        raise ValidationError(f"name {name[:40]!r}… is not a valid file name (at most 255 bytes, no NUL)")
    return name


def child_path(folder: str, name: str) -> str:
    """The path of ``name`` (one name, checked) in ``folder`` (a path relative to the root)."""
    name = _check_name(name)
    folder = _relative(folder)
    return posixpath.join(folder, name) if folder else name


def _new_target(root: NotebookRoot, path: str) -> tuple[str, Path]:
    """A path to create: its name is valid, its folder exists and nothing is there yet."""
    rel, target = _locate(root, path)
    if not rel:
        raise ValidationError("give a name")
    _check_name(posixpath.basename(rel))
    folder = posixpath.dirname(rel)
    if folder and not target.parent.is_dir():
        raise NotFoundError(f"folder {folder} does not exist in your notebooks folder")
    if target.exists() or target.is_symlink():
        raise ConflictError(f"{rel} already exists")
    return rel, target


def _writable(session: Session, workspace: str, whole_share: bool) -> NotebookRoot:
    """The root, for a change: refused (before anything is looked at) for a role that changes nothing."""
    root = notebook_root(session=session, workspace=workspace, whole_share=whole_share)
    require(KIND)
    return root


def _made(root: NotebookRoot) -> None:
    root.folder.mkdir(parents=True, exist_ok=True)  # a user's folder is made on their first change


def _kind(entry: os.DirEntry | Path, is_dir: bool) -> str:
    if is_dir:
        return "folder"
    return "notebook" if entry.name.endswith(NOTEBOOK_SUFFIX) else "file"


def _file(root: NotebookRoot, rel: str, target: Path) -> NotebookFile:
    stat = target.stat()
    is_dir = target.is_dir()
    return NotebookFile(
        name=target.name,
        path=rel,
        kind=_kind(target, is_dir),
        size=None if is_dir else stat.st_size,
        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        depth=rel.count("/"),
    )


# ------------------------------------------------------------------------------------------------ reads


def list_tree(
    *, session: Session, workspace: str, whole_share: bool = False, limit: int = TREE_LIMIT
) -> NotebookTree:
    """Every folder and file under the root (hidden ones and links out of it left out), at most ``limit``."""
    root = notebook_root(session=session, workspace=workspace, whole_share=whole_share)
    entries: list[NotebookFile] = []
    total = 0
    if not root.folder.is_dir():
        return NotebookTree(root=root, entries=[], total=0)
    real_root = root.folder.resolve()

    def walk(folder: Path, prefix: str, depth: int) -> None:
        nonlocal total
        try:
            with os.scandir(folder) as found:
                items = [e for e in found if not e.name.startswith(".")]
        except OSError:
            return  # unreadable (or vanished meanwhile): nothing to list there
        rows = []
        for item in items:
            try:
                if item.is_symlink():  # (the walk never follows one, so only a link can lead out)
                    real = Path(item.path).resolve()
                    if real != real_root and real_root not in real.parents:
                        continue  # a link out of the share
                stat = os.stat(item.path)
                is_dir = item.is_dir()
            except OSError:
                continue  # a dangling link
            rows.append((item, is_dir, stat))
        rows.sort(key=lambda r: (not r[1], r[0].name.lower(), r[0].name))
        for item, is_dir, stat in rows:
            if total >= COUNT_LIMIT:
                return
            total += 1
            rel = f"{prefix}{item.name}"
            if len(entries) < limit:
                entries.append(
                    NotebookFile(
                        name=item.name,
                        path=rel,
                        kind=_kind(item, is_dir),
                        size=None if is_dir else stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                        depth=depth,
                    )
                )
            if is_dir and not item.is_symlink() and depth < MAX_DEPTH:  # (links inside: listed, not walked)
                walk(Path(item.path), f"{rel}/", depth + 1)

    walk(root.folder, "", 0)
    return NotebookTree(root=root, entries=entries, total=total)


def get_file(*, session: Session, workspace: str, path: str, whole_share: bool = False) -> NotebookFile:
    """One file or folder."""
    root = notebook_root(session=session, workspace=workspace, whole_share=whole_share)
    rel, target = _existing(root, path)
    if not rel:
        raise ValidationError("give a file or folder, not the root")
    return _file(root, rel, target)


def read_bytes(
    *,
    session: Session,
    workspace: str,
    path: str,
    whole_share: bool = False,
    max_bytes: int = READ_LIMIT_BYTES,
) -> bytes:
    """A file's content (for a download); folders and files over ``max_bytes`` are refused."""
    root = notebook_root(session=session, workspace=workspace, whole_share=whole_share)
    rel, target = _existing(root, path, what="file")
    if target.is_dir():
        raise ValidationError(f"{rel or '/'} is a folder: download its files one at a time")
    size = target.stat().st_size
    if size > max_bytes:
        raise ValidationError(
            f"{rel} is {size / 1e6:.0f} MB, more than the {max_bytes / 1e6:.0f} MB a page downloads; use "
            f"`studio datastore download --name {DATASTORE} --src {posixpath.join(root.prefix, rel)} --dest .`"
        )
    return target.read_bytes()


def read_notebook(
    *, session: Session, workspace: str, path: str, whole_share: bool = False
) -> dict[str, Any]:
    """A notebook (nbformat 4) as a dict; a file that is not one is refused with what is wrong."""
    root = notebook_root(session=session, workspace=workspace, whole_share=whole_share)
    rel = _relative(path)
    if not rel.endswith(NOTEBOOK_SUFFIX):
        raise ValidationError(f"{rel or '/'} is not a notebook: notebooks end in {NOTEBOOK_SUFFIX}")
    rel, target = _existing(root, rel, what="notebook")
    if target.is_dir():
        raise ValidationError(f"{rel} is a folder, not a notebook")
    size = target.stat().st_size
    if size > NOTEBOOK_LIMIT_BYTES:
        raise ValidationError(
            f"{rel} is {size / 1e6:.0f} MB, more than the {NOTEBOOK_LIMIT_BYTES / 1e6:.0f} MB a page shows: "
            "open it in JupyterLab"
        )
    return _parse_notebook(rel, target.read_bytes())


def _parse_notebook(rel: str, text: bytes) -> dict[str, Any]:
    try:
        notebook = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{rel} is not a valid notebook: not JSON ({exc})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("nbformat"), int):
        raise ValidationError(f"{rel} is not a valid notebook: no 'nbformat' version")
    if notebook["nbformat"] < 4:
        raise ValidationError(
            f"{rel} is a version {notebook['nbformat']} notebook: open and save it in JupyterLab to "
            "convert it to version 4"
        )
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "cell_type" in c for c in cells):
        raise ValidationError(f"{rel} is not a valid notebook: 'cells' is not a list of cells")
    return notebook


# ---------------------------------------------------------------------------------------------- changes


def new_notebook_json() -> dict[str, Any]:
    """An empty notebook (nbformat 4.5) on the curated Python kernel, with one empty code cell."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": [],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": KERNEL_DISPLAY_NAME, "language": "python", "name": KERNEL_NAME},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _create(target: Path, data: bytes, rel: str) -> None:
    """Write a new file; another writer that got there first makes it a conflict, not an overwrite."""
    try:
        with open(target, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise ConflictError(f"{rel} already exists") from None


def new_notebook(*, session: Session, workspace: str, path: str, whole_share: bool = False) -> NotebookFile:
    """Create an empty notebook at ``path`` (``.ipynb`` added when the name has no such ending)."""
    root = _writable(session, workspace, whole_share)
    rel = _relative(path)
    if rel and not rel.endswith(NOTEBOOK_SUFFIX):
        rel += NOTEBOOK_SUFFIX
    rel, target = _new_target(root, rel)
    _made(root)
    _create(target, (json.dumps(new_notebook_json(), indent=1) + "\n").encode(), rel)
    return _file(root, rel, target)


def new_folder(*, session: Session, workspace: str, path: str, whole_share: bool = False) -> NotebookFile:
    """Create an empty folder at ``path`` (its parent folder must exist)."""
    root = _writable(session, workspace, whole_share)
    rel, target = _new_target(root, path)
    _made(root)
    try:
        target.mkdir()
    except FileExistsError:
        raise ConflictError(f"{rel} already exists") from None
    return _file(root, rel, target)


def _upload_target(root: NotebookRoot, path: str, overwrite: bool) -> tuple[str, Path, bool]:
    """Where an upload goes, checked: (path, place, whether it replaces a file there)."""
    rel, target = _locate(root, path)
    if target.is_dir():
        raise ConflictError(f"{rel or '/'} is a folder")
    if overwrite and target.exists():
        _check_name(posixpath.basename(rel))
        return rel, target, True
    rel, target = _new_target(root, rel)
    return rel, target, False


def _write(root: NotebookRoot, rel: str, target: Path, data: bytes, replace: bool) -> NotebookFile:
    _made(root)
    if replace:
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.upload")
        tmp.write_bytes(data)
        tmp.replace(target)  # readers see the old file or the new one, never half of it
    else:
        _create(target, data, rel)
    return _file(root, rel, target)


def upload(
    *,
    session: Session,
    workspace: str,
    path: str,
    data: bytes,
    overwrite: bool = False,
    whole_share: bool = False,
) -> NotebookFile:
    """Write ``data`` as the file ``path``; an existing file is replaced only with ``overwrite``."""
    root = _writable(session, workspace, whole_share)
    rel, target, replace = _upload_target(root, path, overwrite)
    return _write(root, rel, target, data, replace)


def upload_files(
    *,
    session: Session,
    workspace: str,
    folder: str,
    files: dict[str, bytes],
    overwrite: bool = False,
    whole_share: bool = False,
) -> list[NotebookFile]:
    """Write several files (name: content) into ``folder``: every name and target is checked before the
    first is written, so one that is refused leaves all of them unwritten."""
    root = _writable(session, workspace, whole_share)
    if not files:
        raise ValidationError("choose files to upload")
    targets = [_upload_target(root, child_path(folder, name), overwrite) for name in files]
    return [
        _write(root, rel, target, data, replace)
        for (rel, target, replace), data in zip(targets, files.values(), strict=True)
    ]


def rename(
    *, session: Session, workspace: str, path: str, new_name: str, whole_share: bool = False
) -> NotebookFile:
    """Give a file or folder another name in the same folder."""
    root = _writable(session, workspace, whole_share)
    rel, source = _existing(root, path)
    if not rel:
        raise ValidationError("your notebooks folder itself cannot be renamed")
    name = _check_name(new_name)
    if name == source.name:
        raise ValidationError(f"{rel} already has the name {name!r}")
    new_rel = posixpath.join(posixpath.dirname(rel), name)
    new_rel, target = _new_target(root, new_rel)
    if target.exists():  # created since the check above: never replace it
        raise ConflictError(f"{new_rel} already exists")
    os.rename(source, target)
    return _file(root, new_rel, target)


def delete(*, session: Session, workspace: str, path: str, whole_share: bool = False) -> None:
    """Delete a file, or a folder with everything in it."""
    root = _writable(session, workspace, whole_share)
    rel, target = _existing(root, path)
    if not rel:
        raise ValidationError("your notebooks folder itself cannot be deleted")
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)  # (links inside are removed, never followed)
    else:
        target.unlink()
