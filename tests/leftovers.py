"""Processes that tests started and nobody stopped.

A process belongs to a test run when its environment's ``STUDIO_HOME`` lies under the run's temporary
folder, or its command line names a path there (sandboxed commands, MLflow servers, Azurite). The
pytest session checks this when it ends (tests/conftest.py); ``.ci/run`` checks it again after
``make test``:

    python tests/leftovers.py --root /tmp/pytest-of-root --since <epoch seconds> [--kill]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import psutil

GRACE_S = 10.0  # processes told to stop just before the check may still be exiting


def find(root: str, since: float = 0.0) -> list[psutil.Process]:
    me = {os.getpid(), os.getppid()}
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "create_time"]):
        if proc.pid in me or (proc.info["create_time"] or 0) < since:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "pytest" in cmdline or "exec(eval(sys.stdin.readline()))" in cmdline:
            continue  # the test runner and its xdist workers
        try:
            home = proc.environ().get("STUDIO_HOME", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            home = ""
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.NoSuchProcess:
            continue
        if home.startswith(root) or root in cmdline:
            found.append(proc)
    return found


def wait_for_none(root: str, since: float = 0.0, grace_s: float = GRACE_S) -> list[psutil.Process]:
    """The leftovers still alive after ``grace_s``."""
    deadline = time.monotonic() + grace_s
    while True:
        left = find(root, since)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def describe(procs: list[psutil.Process]) -> list[str]:
    lines = []
    for proc in procs:
        try:
            lines.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:200]}")
        except psutil.Error:
            lines.append(f"pid {proc.pid}: (gone)")
    return lines


def kill(procs: list[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder under which the tests' STUDIO_HOMEs lie")
    parser.add_argument("--since", type=float, default=0.0, help="only processes started after this epoch")
    parser.add_argument("--kill", action="store_true", help="kill what is found (still exits 1)")
    args = parser.parse_args()
    left = wait_for_none(args.root, args.since)
    if not left:
        return 0
    print(f"{len(left)} process(es) started by the tests are still running:", file=sys.stderr)
    for line in describe(left):
        print(f"  {line}", file=sys.stderr)
    if args.kill:
        kill(left)
    return 1


if __name__ == "__main__":
    sys.exit(main())
