"""The per-job wrapper: runs the user's command and writes its log and exit code to the job folder.

Deliberately standard-library only and tiny, so it starts in milliseconds. The agent starts it in a new
session, so the wrapper and everything the command starts share one process group: killing that group
(cancel, timeout) stops it all. The wrapper outlives an agent restart; the files it writes let a new agent
adopt it, or settle the job if it ended meanwhile.

The agent writes the whole command line into ``launch.json`` (``argv``): normally ``bwrap ... -- bash -c
<command>`` (``backend.sandbox``), so the wrapper itself stays outside the sandbox and keeps writing the
log and exit code where the job cannot tamper with other jobs' files.

Files in the job folder: ``launch.json`` (read), ``secret_env.json`` (read and deleted), ``wrapper.pid``, ``started_at``, ``exit_code``
(``{"code": int, "ended_at": iso}``), ``user_logs/std_log.txt``. When the command ends the wrapper
sends a datagram to the agent's wake-up socket so the job is settled at once.

A cancel (or an early-termination policy) sends SIGTERM to the whole group: the command gets it and the
wrapper outlives it, so the wrapper still writes the exit code (the command's, -15 when SIGTERM ended it)
and wakes the agent the moment the command is gone: the agent frees the slot at once instead of finding
a vanished wrapper on its next poll. SIGKILL (a command that ignores SIGTERM, a timeout) ends it all.
"""

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

# Only what starting and reporting the command needs: the wrapper's start is on every job's way to its
# command (``pathlib`` and ``shutil`` would add a few milliseconds).


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(job_folder: str) -> int:
    stopping: list[int] = []
    # Studio stops a job by signalling its whole group: the command has the signal too. The wrapper only
    # notes it (and never starts a command it was told to stop), waits for the command and reports it.
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    folder = job_folder
    launch = json.loads(_read(os.path.join(folder, "launch.json")))
    # Secret variables: read once, then gone (the runner writes the file owner-only).
    secrets = os.path.join(folder, "secret_env.json")
    if os.path.exists(secrets):
        launch["env"].update(json.loads(_read(secrets)))
        os.unlink(secrets)
    logs = os.path.join(folder, "user_logs")
    os.makedirs(logs, exist_ok=True)
    _write_atomic(os.path.join(folder, "wrapper.pid"), str(os.getpid()))
    argv = launch.get("argv") or ["/bin/sh", "-c", launch["command"]]
    with open(os.path.join(logs, "std_log.txt"), "ab", buffering=0) as log:
        _write_atomic(os.path.join(folder, "started_at"), datetime.now(UTC).isoformat())
        try:
            code = -int(signal.SIGTERM)  # stopped before the command started: it never runs
            if not stopping:
                proc = subprocess.Popen(
                    argv,
                    cwd=launch["cwd"],
                    env=launch["env"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                code = proc.wait()
        except OSError as exc:
            log.write(f"studio: cannot start the command: {exc}\n".encode())
            code = 127
    ended = json.dumps({"code": code, "ended_at": datetime.now(UTC).isoformat()})
    _write_atomic(os.path.join(folder, "exit_code"), ended)
    _wake(launch.get("wake_socket"))
    return 0


def _wake(path: str | None) -> None:
    """Tell the agent the job ended, so it settles it now rather than at its next poll."""
    if not path:
        return
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"ended", path)
    except OSError:
        pass  # no agent listening: the next one settles the job from the exit_code file


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
