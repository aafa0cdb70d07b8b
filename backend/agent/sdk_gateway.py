"""The SDK gateway of a compute instance: ``from studio.ml import MLClient`` in a notebook's kernel.

A kernel runs sandboxed: it cannot open Studio's database, so the SDK cannot work there as it does in a
script. Instead, the agent listens on a Unix socket in the instance's own folder (``state/run/sdk.sock``,
which only that instance's sandbox and Studio's user can reach) and runs each SDK call there, in the agent,
for the kernel (``studio.ml.remote`` is the kernel's side):

- a call names an operations group (``jobs``, ``data``, ...), a public method and its arguments. The
  arguments come pickled (entities such as a ``command(...)`` job are objects) and are read by an unpickler
  that builds only ``studio.ml`` entities and plain data types: nothing else can be named, so nothing runs;
- it runs as the instance's user (team mode: the user who created it, with their role), in the workspace
  the client asks for;
- local paths in it must lie under the instance's root (the share the kernel sees): the agent reads files
  for a job's code or a data asset, and must never read one that the notebook could not;
- what the call prints (``jobs.stream``) goes to the kernel as it is printed; then its result (pickled
  entities), or its error (the exception's type and message).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pathlib
import pickle
import socket
import struct
import sys
import threading
from pathlib import Path
from typing import Any

from backend import unix_socket

log = logging.getLogger(__name__)

MAX_REQUEST = 64 << 20  # bytes of one pickled call
GROUPS = (
    "jobs", "data", "environments", "compute", "components", "online_endpoints", "online_deployments",
    "models", "responsible_ai", "benchmarks", "connections",
)  # fmt: skip
# Calls that would hand a secret to user code: a notebook uses the endpoint (``invoke``), never its keys.
DENIED = {("online_endpoints", "get_keys"): "endpoint keys are not given to notebooks: call the endpoint "
          "with ml_client.online_endpoints.invoke, or read its keys on the Endpoints page"}  # fmt: skip
ALLOWED = {
    ("builtins", name) for name in ("set", "frozenset", "complex", "bytearray", "slice", "range")
} | {
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"), ("datetime", "timezone"),
    ("pathlib", "PosixPath"), ("pathlib", "PurePosixPath"), ("pathlib", "Path"),
    ("collections", "OrderedDict"),
}  # fmt: skip


class Refused(Exception):
    """A call the gateway does not run; the message says why."""


class _Unpickler(pickle.Unpickler):
    """Builds ``studio.ml`` entities and plain data only (the docs' "restricting globals")."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED or (module.startswith("studio.ml.") and not name.startswith("_")):
            return super().find_class(module, name)
        raise Refused(f"an argument of type {module}.{name} cannot be sent to the studio")


# --- frames: 1 byte kind, 4 bytes length, payload --------------------------------------------------------


def send_frame(conn: socket.socket, kind: bytes, payload: bytes) -> None:
    conn.sendall(kind + struct.pack(">I", len(payload)) + payload)


def read_frame(conn: socket.socket, limit: int = MAX_REQUEST) -> tuple[bytes, bytes]:
    head = _read_exactly(conn, 5)
    size = struct.unpack(">I", head[1:])[0]
    if size > limit:
        raise Refused(f"a call of {size} bytes is too large (at most {limit})")
    return head[:1], _read_exactly(conn, size)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --- what a call prints goes to its kernel ----------------------------------------------------------------


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout`` of the agent while gateways run: a thread serving a call writes to its kernel, every
    other thread to the stdout it had."""

    def __init__(self, real: Any):
        self.real = real
        self.local = threading.local()

    def write(self, text: str) -> int:
        sink = getattr(self.local, "sink", None)
        return sink(text) if sink is not None else self.real.write(text)

    def flush(self) -> None:
        if getattr(self.local, "sink", None) is None:
            self.real.flush()


_output_lock = threading.Lock()


def _thread_output() -> _ThreadOutput:
    with _output_lock:
        if not isinstance(sys.stdout, _ThreadOutput):
            sys.stdout = _ThreadOutput(sys.stdout)
        return sys.stdout


# --- local paths ------------------------------------------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    if not text or len(text) > 4096 or any(c in text for c in " \n\t") or ":" in text:
        return False  # a command, a URI (azureml:, azureml://, https://, runs:/) or a name
    return text.startswith(("/", "./", "../", "~")) or "/" in text or text in (".", "..")


def check_paths(value: Any, root: Path, base: Path, seen: set[int] | None = None) -> None:
    """Refuse a call that names a local path outside ``root``. Relative paths are taken from ``base``, and
    within an entity from its own ``_base_path`` (where the SDK takes them from)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, pathlib.PurePath) or (isinstance(value, str) and _looks_like_path(value)):
        target = (base / os.path.expanduser(str(value))).resolve()
        if not target.is_relative_to(root):
            raise Refused(f"{value!s} is outside {root}: a notebook's SDK calls use files under it")
        return
    if isinstance(value, dict):
        for item in value.values():
            check_paths(item, root, base, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_paths(item, root, base, seen)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("studio.ml."):
        own = getattr(value, "_base_path", None)
        if own is not None:
            check_paths(Path(own), root, base, seen)
            base = Path(base, own).resolve()
        for item in vars(value).values():
            check_paths(item, root, base, seen)


def _absolute(value: Any, base: Path) -> Any:
    """A top-level relative path argument (``download_path="."``), taken from the kernel's folder."""
    if isinstance(value, str) and _looks_like_path(value) and not value.startswith(("/", "~")):
        return str(base / value)
    if isinstance(value, pathlib.PurePath) and not value.is_absolute():
        return base / value
    return value


# --- the gateway ------------------------------------------------------------------------------------------


class Gateway:
    """One instance's socket and the thread that accepts its calls."""

    def __init__(self, path: Path, *, workspace: str, user: str | None, root: Path):
        self.path, self.workspace, self.user, self.root = path, workspace, user, root.resolve()
        self.sock: socket.socket | None = None
        self.stopping = threading.Event()

    def start(self) -> Gateway:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with unix_socket.address(self.path) as address:
            self.sock.bind(address)
        os.chmod(self.path, 0o600)
        self.sock.listen(16)
        _thread_output()
        threading.Thread(
            target=self._accept, name=f"studio-sdk-{self.path.parent.parent.parent.name}", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        self.path.unlink(missing_ok=True)

    def alive(self) -> bool:
        return not self.stopping.is_set() and self.path.exists()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="studio-sdk-call", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        output = _thread_output()
        with conn:
            try:
                _, payload = read_frame(conn)
                request = _Unpickler(io.BytesIO(payload)).load()
                output.local.sink = lambda text: (
                    send_frame(conn, b"o", text.encode("utf-8", "replace")),
                    len(text),
                )[1]
                result = self.run(request)
                send_frame(conn, b"r", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            except Exception as exc:  # the kernel gets the error, as raised, in one line
                kind = type(exc).__name__ if not isinstance(exc, Refused) else "ValidationError"
                message = str(exc).splitlines()[0] if str(exc) else kind
                if not isinstance(exc, Refused | ConnectionError) and not _studio_error(exc):
                    log.exception("SDK call from a notebook failed")
                with contextlib.suppress(OSError):
                    send_frame(conn, b"e", pickle.dumps((kind, message)))
            finally:
                output.local.sink = None

    def run(self, request: Any) -> Any:
        """``request``: {"workspace", "group", "method", "args", "kwargs", "cwd"}."""
        from backend.identity import User
        from backend.services import users

        if _dispatcher[0] is None:
            raise Refused(
                "this agent runs no SDK calls (it was not started by `studio agent` or `studio up`)"
            )
        if not isinstance(request, dict):
            raise Refused("not an SDK call")
        group, method = request.get("group") or "", request.get("method") or ""
        if (group and group not in GROUPS) or not method or method.startswith("_"):
            raise Refused(f"ml_client.{group + '.' if group else ''}{method} is not an SDK operation")
        if (group, method) in DENIED:
            raise Refused(DENIED[group, method])
        cwd = Path(request.get("cwd") or self.root).resolve()
        if not cwd.is_relative_to(self.root):
            cwd = self.root
        args = [_absolute(a, cwd) for a in request.get("args") or []]
        kwargs = {k: _absolute(v, cwd) for k, v in (request.get("kwargs") or {}).items()}
        check_paths([args, kwargs], self.root, cwd)
        roles = {u.name: u.role for u in users.list_users()} if users.team_mode() else {}
        if roles and self.user not in roles:
            raise Refused(f"the instance's user {self.user!r} is no longer a member of this studio")
        user = User(self.user, roles[self.user]) if roles else None
        workspace = request.get("workspace") or self.workspace
        return _dispatcher[0](
            workspace=workspace, user=user, group=group, method=method, args=args, kwargs=kwargs
        )


# What runs a call: ``studio.ml.gateway.dispatch`` (the SDK is a layer above the agent), set by the process
# that runs the agent (``studio agent``).
_dispatcher: list[Any] = [None]


def set_dispatcher(dispatch: Any) -> None:
    _dispatcher[0] = dispatch


def _studio_error(exc: Exception) -> bool:
    from backend.errors import StudioError

    return isinstance(exc, StudioError)


__all__ = ["Gateway", "Refused", "check_paths", "read_frame", "send_frame", "set_dispatcher"]
