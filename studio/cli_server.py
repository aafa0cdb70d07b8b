"""The CLI server: a warm interpreter that runs ``studio`` commands for the quick client.

A ``studio`` command spends about half a second importing what it needs (SQLAlchemy, SQLModel's
tables, pydantic, typer, the services) before it does 20-50 ms of work. While ``studio up`` runs, this
process holds those modules imported, listens on ``STUDIO_HOME/run/cli.sock`` (a Unix socket, mode
0600, answering only its own user), and forks a child per command: the pattern of Python's
``multiprocessing`` fork server. The child takes the client's terminal (its stdin, stdout and stderr,
passed over the socket), working folder, environment and arguments, runs ``studio.cli.main`` exactly
as the client would have in-process, and reports the exit code. The client (``studio.quick``) falls
back to running in-process whenever no server answers.

Nothing here connects to a database or reads the settings before a fork: every child reads them
from the client's environment, as a fresh process would.
"""

from __future__ import annotations

import array
import importlib
import json
import os
import pkgutil
import signal
import socket
import struct
import sys
from pathlib import Path

from backend import unix_socket

SOCKET_NAME = "cli.sock"
MAX_REQUEST = 1 << 20  # a request (arguments, folder, environment) larger than this is refused
PRELOAD = (
    "studio.cli",
    "studio.commands",
    "backend.db",
    "backend.db.models",
    "backend.services",
    "backend.specs",
    "sqlalchemy.dialects.sqlite",
)
OPTIONAL_PRELOAD = ("psycopg", "sqlalchemy.dialects.postgresql.psycopg")


def socket_path(home: Path) -> Path:
    return home / "run" / SOCKET_NAME


def preload() -> int:
    """Import what commands use (every module of the packages above); returns how many modules."""
    for name in PRELOAD:
        module = importlib.import_module(name)
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), prefix=f"{name}."):
            importlib.import_module(info.name)
    for name in OPTIONAL_PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    return len(sys.modules)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """One request: newline-terminated JSON; the client's stdin, stdout and stderr ride on its first bytes."""
    fds = array.array("i")
    data, ancillary, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    while not data.endswith(b"\n"):
        more = conn.recv(65536)
        if not more or len(data) > MAX_REQUEST:
            raise ValueError("incomplete request")
        data += more
    return json.loads(data), list(fds)


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _run_child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the client's command, run it, report its exit code. Never returns."""
    code = 1
    try:
        os.setsid()  # a command in flight finishes even when Studio stops
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", buffering=1 if os.isatty(1) else -1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        sys.argv = ["studio", *request["argv"]]
        conn.sendall(f"pid {os.getpid()}\n".encode())

        from backend.db import dispose_engines
        from backend.settings import reset_settings
        from studio.cli import main

        reset_settings()
        dispose_engines()
        code = main(request["argv"])
    except BaseException as exc:  # the child reports, whatever happened
        try:
            print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        except Exception:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            conn.sendall(f"exit {code}\n".encode())
        except OSError:
            pass
        os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)


def _handle(listener: socket.socket, conn: socket.socket, origin: str) -> None:
    fds: list[int] = []
    try:
        if not _same_user(conn):
            return
        request, fds = _receive(conn)
        if request.get("origin") != origin or len(fds) != 3:
            conn.sendall(b"fallback\n")  # another checkout of Studio: the client runs the command itself
            return
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            _run_child(conn, request, fds)
    except (OSError, ValueError) as exc:
        print(f"cli server: a request failed: {exc}", file=sys.stderr, flush=True)
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        conn.close()


def origin() -> str:
    """Which Studio this is (its package folder): a client of another checkout runs in-process."""
    return str(Path(__file__).resolve().parent)


def serve(home: Path) -> None:
    path = socket_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    modules = preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    stopping = False

    def _stop(_signum, _frame):
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        with unix_socket.address(path) as address:  # a deep STUDIO_HOME passes a socket path's 107 bytes
            listener.bind(address)
    finally:
        os.umask(old_umask)
    listener.listen(64)
    print(f"cli server: {modules} modules loaded, listening on {path}", flush=True)
    here = origin()
    try:
        while not stopping:
            conn, _ = listener.accept()
            _handle(listener, conn, here)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def main() -> None:
    from backend.settings import get_settings, reset_settings

    home = get_settings().home
    reset_settings()  # children read their own
    serve(home)


if __name__ == "__main__":
    main()
