"""An agent tells a job's wrapper is alive by its process and command line (``wrapper_alive``). Right after
the exec, ``/proc/<pid>/cmdline`` reads empty for a moment: a CI run failed a job there ("vanished ... without
writing an exit code", 14 ms after its start, though it then ran to the end). Real processes."""

from __future__ import annotations

import subprocess
import sys

from backend.agent.loop import wrapper_alive


def test_a_wrapper_just_started_is_alive_and_one_that_ended_is_not(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    for _ in range(200):  # the empty command line shows in about 1 launch of 100 here
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", "import time; time.sleep(5)", str(folder)],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wrapper_alive(proc.pid, folder)
        finally:
            proc.kill()
            proc.wait()
        assert not wrapper_alive(proc.pid, folder)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert not wrapper_alive(other.pid, folder)  # alive, but not this job's wrapper
    finally:
        other.kill()
        other.wait()


def test_an_empty_command_line_is_read_again_before_the_wrapper_counts_as_gone(tmp_path, monkeypatch):
    """The moment itself, made certain: the first reads of the command line come back empty."""
    import psutil

    folder = tmp_path / "job"
    folder.mkdir()
    real, reads = psutil.Process.cmdline, []

    def cmdline(self):
        reads.append(1)
        return [] if len(reads) <= 3 else real(self)

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", str(folder)])
    try:
        monkeypatch.setattr(psutil.Process, "cmdline", cmdline)
        assert wrapper_alive(proc.pid, folder) and len(reads) == 4
    finally:
        proc.kill()
        proc.wait()
