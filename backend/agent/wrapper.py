"""The per-job wrapper: runs the user's command and writes its log and exit code to the job folder.

Deliberately standard-library only and tiny, so it starts in milliseconds. The agent starts it in a new
session, so the wrapper and everything the command starts share one process group: killing that group
(cancel, timeout) stops it all. The wrapper outlives an agent restart; the files it writes let a new agent
adopt it, or settle the job if it ended meanwhile.

The agent writes the whole command line into ``launch.json`` (``argv``): normally ``bwrap ... -- bash -c
<command>`` (``backend.sandbox``), so the wrapper itself stays outside the sandbox and keeps writing the
log and exit code where the job cannot tamper with other jobs' files.

Files in the job folder: ``launch.json`` (read), ``wrapper.pid``, ``started_at``, ``exit_code``
(``{"code": int, "ended_at": iso}``), ``user_logs/std_log.txt``. When the command ends the wrapper
sends a datagram to the agent's wake-up socket so the job is settled at once.
"""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(job_folder: str) -> int:
    folder = Path(job_folder)
    launch = json.loads((folder / "launch.json").read_text())
    logs = folder / "user_logs"
    logs.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "wrapper.pid", str(os.getpid()))
    argv = launch.get("argv") or [shutil.which("bash") or "/bin/sh", "-c", launch["command"]]
    with open(logs / "std_log.txt", "ab", buffering=0) as log:
        _write_atomic(folder / "started_at", datetime.now(UTC).isoformat())
        try:
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
    _write_atomic(folder / "exit_code", json.dumps({"code": code, "ended_at": datetime.now(UTC).isoformat()}))
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
