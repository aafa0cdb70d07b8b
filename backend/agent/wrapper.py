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
sends a datagram to the agent's wake-up socket so the job is settled at once. On a database several
machines share, ``"report_exit": true`` has it also report the end on the job's MLflow run, for an agent
elsewhere that takes the job over (``backend/agent/remote_exit.py``). There every job waits for its go
signal as a standby does (below), sent once its start is recorded in the database: an agent that dies in
between leaves a wrapper that never runs the command, so the job can be prepared again elsewhere.

A sweep's next trial is started ahead, on *standby* (``"standby": true`` in ``launch.json``): the wrapper
starts, writes ``standing_by`` and waits, and the command starts when the agent releases the trial into a
free slot with SIGUSR1; SIGTERM meanwhile (a cancel) ends it without running anything. A standing-by
wrapper whose agent has gone exits quietly (no ``exit_code``): the next agent prepares the trial again.

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
    standby = bool(launch.get("standby"))
    if standby:  # the release (SIGUSR1) and a cancel (SIGTERM) wait for ``_stand_by``: never lost
        signal.pthread_sigmask(signal.SIG_BLOCK, _STANDBY_SIGNALS)
    # Secret variables: read once, then gone (the runner writes the file owner-only).
    secrets = os.path.join(folder, "secret_env.json")
    if os.path.exists(secrets):
        launch["env"].update(json.loads(_read(secrets)))
        os.unlink(secrets)
    logs = os.path.join(folder, "user_logs")
    os.makedirs(logs, exist_ok=True)
    _write_atomic(os.path.join(folder, "wrapper.pid"), str(os.getpid()))
    if standby and not _stand_by(folder, stopping, launch.get("agent_pid")):
        # The agent that started it is gone before it said go: the command never runs here, and the next
        # agent prepares the job again (told through the job's run when it may be in another home).
        if launch.get("report_exit"):
            not_started = json.dumps(
                {"code": None, "not_started": True, "ended_at": datetime.now(UTC).isoformat()}
            )
            _report(launch["env"], not_started, os.path.join(logs, "std_log.txt"))
        return 0
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
    if launch.get("report_exit"):
        _report(launch["env"], ended, os.path.join(logs, "std_log.txt"))
    return 0


LOG_TAIL_CHARS = 5000  # (an MLflow tag holds up to 8,000)
REPORT_RETRIES_S = (0.5, 1, 2, 4, 8)  # waits after each failed report: 5 tries within about 15 s


def _report(env: dict, ended: str, log_path: str) -> None:
    """Also tell the job's MLflow run that it ended (``backend/agent/remote_exit.py``): an agent on another
    machine that takes the job over follows it there. One ``log-batch`` request, the log's tail and the end
    together; a plain socket, so that reporting costs the wrapper no imports."""
    uri, run_id = env.get("MLFLOW_TRACKING_URI", ""), env.get("MLFLOW_RUN_ID")
    if not run_id or not uri.startswith("http://"):
        return
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(log_path) - LOG_TAIL_CHARS))
            tail = handle.read().decode("utf-8", "replace")[-LOG_TAIL_CHARS:]
    except OSError:
        tail = ""
    tags = [{"key": "studio.log_tail", "value": tail}, {"key": "studio.exit", "value": ended}]
    body = json.dumps({"run_id": run_id, "tags": tags}).encode()
    netloc, _, prefix = uri[len("http://") :].partition("/")
    host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "80")
    path = "/" + (prefix.strip("/") + "/" if prefix.strip("/") else "") + "api/2.0/mlflow/runs/log-batch"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    import socket
    import time

    # Another agent may settle the job from this report only: tried again while the server is busy or
    # restarting (`studio up` restarts it within seconds); with no server at all, the job's own agent
    # settles it from exit_code.
    for delay in REPORT_RETRIES_S:
        answer = b""
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as sock:
                sock.sendall(head.encode() + body)
                while chunk := sock.recv(4096):  # the answer, until the server closes
                    answer += chunk
        except (OSError, ValueError):
            pass
        if answer.split(b" ", 2)[1:2] == [b"200"]:  # "HTTP/1.1 200 OK"
            return  # the tags are stored
        time.sleep(delay)


_STANDBY_SIGNALS = {signal.SIGUSR1, signal.SIGTERM}
STANDBY_POLL_S = 1.0  # how often a standing-by wrapper checks that its agent is still there


def _stand_by(folder: str, stopping: list[int], agent: int | None = None) -> bool:
    """Wait for the release (SIGUSR1) or a cancel (SIGTERM, noted in ``stopping``); False when the agent
    that started this wrapper (``agent``, its pid from ``launch.json``) has gone meanwhile, also before
    this wrapper got this far: its parent is then another process already."""
    agent = agent or os.getppid()
    _write_atomic(os.path.join(folder, "standing_by"), str(os.getpid()))
    while True:
        got = signal.sigtimedwait(_STANDBY_SIGNALS, STANDBY_POLL_S)
        if got is not None:
            break
        if os.getppid() != agent:
            return False
    if got.si_signo == signal.SIGTERM:
        stopping.append(got.si_signo)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # a repeated release is harmless from here on
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STANDBY_SIGNALS)  # (the command inherits the mask)
    return True


def _wake(path: str | None) -> None:
    """Tell the agent the job ended, so it settles it now rather than at its next poll."""
    if not path:
        return
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            if len(os.fsencode(path)) > 100:  # past a socket path's 107 bytes: through its folder
                folder = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
                try:
                    sock.sendto(b"ended", f"/proc/self/fd/{folder}/{os.path.basename(path)}")
                finally:
                    os.close(folder)
            else:
                sock.sendto(b"ended", path)
    except OSError:
        pass  # no agent listening: the next one settles the job from the exit_code file


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
