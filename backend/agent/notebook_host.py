"""The host of one compute instance's JupyterLab server: ``python notebook_host.py <server folder>``.

The agent starts it in a session of its own, so the server outlives the agent and the next agent adopts
it (``backend.agent.notebooks``). It holds ``lock`` in the server folder for its whole life: that is how
every process of the studio tells that the server lives. It reads the token from its stdin (never from a
file or its command line), starts the sandboxed server that ``launch.json`` describes with the token in
the server's environment, and copies the server's output to ``host.log`` with the token masked.

SIGTERM stops the server gracefully (JupyterLab shuts its kernels down), then the sandbox; the sandbox's
PID namespace ends with it, so no kernel or terminal outlives the server. Standard library only.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STOP_GRACE_S = 10.0
MASK = "***"


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc: this host runs with the standard library only)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _server_pid(proc: subprocess.Popen) -> int:
    """The JupyterLab process: the sandbox's child running ``jupyterlab``, or ``proc`` itself unsandboxed."""
    for pid in _descendants(proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"jupyterlab" in argv:
            return pid
    return proc.pid


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.kill(_server_pid(proc), signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()  # the sandbox goes, and its PID namespace with every process in it
        proc.wait()


def main(folder: Path) -> int:
    lock = open(folder / "lock", "a+")  # noqa: SIM115 (held until this process ends)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another host serves this instance", file=sys.stderr)
        return 1
    launch = json.loads((folder / "launch.json").read_text())
    token = sys.stdin.readline().strip()
    env = {**launch["env"], "JUPYTER_TOKEN": token}
    log = open(folder / "host.log", "a", buffering=1)  # noqa: SIM115
    proc = subprocess.Popen(
        launch["argv"],
        env=env,
        cwd=launch["cwd"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    stopping = threading.Event()

    def _on_signal(*_: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=stop, args=(proc,), daemon=True).start()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line.replace(token, MASK) if token else line)
    code = proc.wait()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    log.write(
        f"{stamp} studio: JupyterLab ended (exit code {code}){' when asked to stop' if stopping.is_set() else ''}\n"
    )
    (folder / "exit.json").write_text(
        json.dumps({"code": code, "asked": stopping.is_set(), "at": time.time()})
    )
    return 0 if stopping.is_set() else (code or 1)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
