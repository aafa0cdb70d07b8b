"""Content-addressed uploads that belong to the unit of work that made them.

A create uploads local code, data or a model (``LocalUpload/<hash>/<name>``) before everything about it
is checked (a pipeline's cycle, a deployment's environment). When the unit of work then fails, what it
uploaded is removed again, so bad input leaves nothing behind; an upload that was already there is kept.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session

from backend.storage.filesystems import DatastoreFS

log = logging.getLogger("studio.uploads")
_KEY = "studio_uploads"


def put_once(session: Session, store: DatastoreFS, source: Path, dest: str) -> None:
    """Copy ``source`` to ``dest`` on ``store`` unless it is there; removed again if ``session`` rolls back."""
    if store.exists(dest):
        return
    created = _created_by(session)
    created.append((store, dest))
    store.put(source, dest)


def _created_by(session: Session) -> list[tuple[DatastoreFS, str]]:
    if _KEY not in session.info:
        session.info[_KEY] = []
        event.listen(session, "after_commit", _forget)
        event.listen(session, "after_soft_rollback", _remove)
    return session.info[_KEY]


def _forget(session: Session) -> None:
    session.info.get(_KEY, []).clear()


def _remove(session: Session, previous_transaction: object) -> None:
    if getattr(previous_transaction, "parent", None) is not None:
        return  # a savepoint rolled back inside a unit of work that goes on
    created = session.info.get(_KEY, [])
    while created:
        store, dest = created.pop()
        try:
            store.delete(dest)
            if store.is_local:  # folders are real there: drop the ones left empty (LocalUpload/<hash>)
                parent = posixpath.dirname(dest)
                while parent:
                    with contextlib.suppress(OSError):
                        store.local_path(parent).rmdir()
                    parent = posixpath.dirname(parent)
        except Exception as exc:  # the failure being reported matters more than a leftover upload
            log.warning("could not remove the upload %s of a failed create: %s", dest, exc)
