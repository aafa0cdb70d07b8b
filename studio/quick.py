"""The ``studio`` command: hands the command to the running studio's CLI server, else runs it here.

This module imports only the standard library's smallest parts, so a command that the CLI server
(``studio.cli_server``, started by ``studio up``) runs costs a Python start-up and a fork instead of
half a second of imports. The server runs it with this process's terminal, folder, environment and
arguments, so what it prints and its exit code are what ``studio.cli.main`` would give here. Without a
server (``studio up`` not running, another checkout's server, ``STUDIO_CLI_SERVER=off``), or for
``studio up`` and ``studio agent`` themselves, the command runs in this process.

``STUDIO_CLI_SERVER=require`` makes a missing server an error instead (tests and benchmarks use it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

IN_PROCESS = {"up", "agent"}  # long-lived processes of their own, never a server's child
CONNECT_TIMEOUT_S = 2.0


def _setting(name: str) -> str | None:
    """A ``STUDIO_*`` variable, read case-insensitively as ``backend.settings`` reads it."""
    wanted = f"studio_{name}"
    for key, value in os.environ.items():
        if key.lower() == wanted:
            return value
    return None


def _socket_path() -> str:
    home = os.path.abspath(os.path.expanduser(_setting("home") or ".studio"))
    return os.path.join(os.path.realpath(home), "run", "cli.sock")


def _origin() -> str:
    return os.path.dirname(os.path.realpath(__file__))


def _served(argv: list[str]) -> int | None:
    """The command's exit code when the server ran it; None when it should run in this process."""
    path = _socket_path()
    if not os.path.exists(path):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(CONNECT_TIMEOUT_S)
        if len(os.fsencode(path)) > 100:  # past a socket path's 107 bytes: through its folder's descriptor
            folder = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
            try:
                conn.connect(f"/proc/self/fd/{folder}/cli.sock")
            finally:
                os.close(folder)
        else:
            conn.connect(path)
        request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "origin": _origin()})
        payload = (request + "\n").encode()
        sent = conn.sendmsg([payload[:65536]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _fds())])
        conn.sendall(payload[sent:])
        conn.settimeout(None)
        reader = conn.makefile("rb")
        first = reader.readline()
    except OSError:
        conn.close()
        return None
    if not first.startswith(b"pid "):
        conn.close()
        return None  # "fallback": the server is another checkout's
    return _wait(conn, reader, int(first.split()[1]))


def _fds() -> bytes:
    import array

    return array.array("i", [0, 1, 2]).tobytes()


def _wait(conn: socket.socket, reader, pid: int) -> int:
    """Forward Ctrl-C and termination to the command; return its exit code."""

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        while True:
            line = reader.readline()
            if not line:
                print("error: the studio CLI server stopped while the command ran", file=sys.stderr)
                return 1
            if line.startswith(b"exit "):
                return int(line.split()[1])
    finally:
        conn.close()


def main() -> int:
    argv = sys.argv[1:]
    mode = (_setting("cli_server") or "on").lower()
    if mode != "off" and argv and argv[0] not in IN_PROCESS:
        code = _served(argv)
        if code is not None:
            return code
        if mode == "require":
            print(
                f"error: no studio CLI server answers at {_socket_path()} (is `studio up` running?)",
                file=sys.stderr,
            )
            return 1
    from studio.cli import main as run_here

    return run_here()


if __name__ == "__main__":
    sys.exit(main())
