"""Unix socket addresses that work whatever the length of ``STUDIO_HOME``.

A socket's path has at most 107 bytes (``sun_path``), which a deep home passes easily: a CI checkout's
temporary folders gave ``.../home/notebooks/default/nb1/state/run/sdk.sock`` at 130. Linux reaches a path
through its folder's descriptor as well, ``/proc/self/fd/N/name``, which is short; ``bind``, ``connect`` and
``sendto`` all accept it. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

SHORT_ENOUGH = 100  # bytes: under sun_path's 107 with room to spare


@contextlib.contextmanager
def address(path: str | os.PathLike) -> Iterator[str]:
    """An address for ``bind``, ``connect`` or ``sendto`` of the socket at ``path``: the path itself when it
    is short enough, else the path through its folder's descriptor (valid inside the ``with``)."""
    path = os.fspath(path)
    if len(os.fsencode(path)) <= SHORT_ENOUGH:
        yield path
        return
    folder = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{os.path.basename(path)}"
    finally:
        os.close(folder)


__all__ = ["address"]
