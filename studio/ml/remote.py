"""``MLClient`` in a notebook's kernel on a compute instance: every call goes to the agent's SDK gateway.

The kernel runs sandboxed and cannot open Studio's database. Its environment names the gateway's socket
(``STUDIO_SDK_SOCKET``, see ``backend/agent/sdk_gateway.py``); ``MLClient()`` then gives operations groups
whose methods send the call (pickled arguments, the kernel's folder) and return what the agent answers:
the same entities, errors and printed output as in a script on the studio's machine.
"""

from __future__ import annotations

import os
import pickle
import socket
import sys
from typing import Any

SOCKET_VARIABLE = "STUDIO_SDK_SOCKET"
GROUPS = (
    "jobs", "data", "environments", "compute", "components", "online_endpoints", "online_deployments",
    "models", "responsible_ai", "benchmarks", "connections",
)  # fmt: skip


def socket_path() -> str | None:
    return os.environ.get(SOCKET_VARIABLE) or None


def call(workspace: str, group: str, method: str, args: tuple, kwargs: dict) -> Any:
    from backend.agent.sdk_gateway import read_frame, send_frame
    from backend.unix_socket import address

    request = {
        "workspace": workspace, "group": group, "method": method, "args": list(args), "kwargs": kwargs,
        "cwd": os.getcwd(),
    }  # fmt: skip
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with address(socket_path()) as short:
            conn.connect(short)
    except OSError as exc:
        from backend.errors import UnavailableError

        raise UnavailableError(
            f"the studio's agent does not answer on {socket_path()} ({exc.strerror or exc}): is `studio up` running?"
        ) from None
    with conn:
        send_frame(conn, b"c", pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        while True:
            kind, payload = read_frame(conn, limit=1 << 31)
            if kind == b"o":
                sys.stdout.write(payload.decode("utf-8", "replace"))
            elif kind == b"r":
                return pickle.loads(payload)  # from the studio's own agent
            else:
                raise _error(*pickle.loads(payload))


def _error(kind: str, message: str) -> Exception:
    from backend import errors
    from studio.ml import exceptions

    found = getattr(errors, kind, None) or getattr(exceptions, kind, None)
    if kind == "PermissionDenied":
        from backend.identity import PermissionDenied

        return PermissionDenied(message)
    if (
        isinstance(found, type)
        and issubclass(found, errors.StudioError)
        and found.__init__ is Exception.__init__
    ):
        return found(message)
    if kind == "JobException":
        return errors.StudioError(message)
    return errors.StudioError(f"{kind}: {message}")


class RemoteOperations:
    """``ml_client.<group>``: each public method is a call to the gateway."""

    def __init__(self, workspace: str, group: str):
        self._workspace, self._group = workspace, group

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def remote(*args: Any, **kwargs: Any) -> Any:
            return call(self._workspace, self._group, method, args, kwargs)

        remote.__name__ = method
        return remote

    def __repr__(self) -> str:
        return f"<ml_client.{self._group} (through the studio's agent)>"


__all__ = ["GROUPS", "RemoteOperations", "call", "socket_path"]
