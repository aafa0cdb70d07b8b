"""Bubblewrap sandboxes for everything user-defined that Studio starts (DESIGN.md, Isolation).

A sandboxed process sees the system read-only, a private ``/tmp`` and ``/dev/shm``, its own PID namespace
(so it can neither see nor signal Studio's processes, nor read their environment), and no capabilities
(Studio may run as root). ``STUDIO_HOME`` is hidden behind an empty tmpfs: the database, ``secret.key``,
datastore settings and other jobs' folders are not there. Only the paths a caller names are bound back
in, read-only or writable. The network stays shared: jobs reach the MLflow server on loopback.

Where ``bwrap`` is missing or cannot create namespaces here (a developer's macOS laptop, a container
without user namespaces), ``wrap`` returns the command unchanged and ``status()`` says why, so callers
can say so in every job's system log and on the Compute page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backend.settings import get_settings

PROBE_TIMEOUT_S = 10
# What user code inherits of the environment Studio runs in: locale, time zone, proxies, certificates and
# package-index settings, so `pip install` works as it does in a shell here. Nothing else: a secret that
# the shell which started Studio holds never reaches a job.
INHERITED = frozenset(
    {"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
     "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"}
)  # fmt: skip
INHERITED_PREFIXES = ("LC_", "PIP_", "UV_")


def inherited_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The part of ``environ`` (default: this process's) that user code may see."""
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if name in INHERITED
        or name.startswith(INHERITED_PREFIXES)
        or name.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
    }


@dataclass(frozen=True)
class SandboxStatus:
    available: bool
    bwrap: str | None
    detail: str  # one line: what is used, or why nothing is


@lru_cache
def status() -> SandboxStatus:
    """Whether ``bwrap`` works on this machine (probed once per process: about 5 ms)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(
            False,
            None,
            "bubblewrap (bwrap) is not installed: user code runs unsandboxed and can read Studio's "
            "files (Debian: apt-get install bubblewrap)",
        )
    try:
        probe = subprocess.run(
            [bwrap, *_base_args(), "--", "true"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(False, bwrap, f"bubblewrap cannot run here ({exc}): user code runs unsandboxed")
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return SandboxStatus(
            False, bwrap, f"bubblewrap cannot create a sandbox here ({reason}): user code runs unsandboxed"
        )
    return SandboxStatus(True, bwrap, f"sandboxed with bubblewrap ({bwrap})")


def _base_args() -> list[str]:
    return [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        "--tmpfs", "/dev/shm",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--cap-drop", "ALL",
    ]  # fmt: skip


def _runtime_paths() -> list[str]:
    """What every sandboxed process may read even where ``/tmp`` or a hidden folder covers it: the Python
    installation, Studio's venv (uv, the interpreter) and Studio's code (the in-job APIs of
    ``backend/runtime``). Code, never data: ``STUDIO_HOME`` stays hidden even when it lies inside one."""
    return [sys.base_prefix, sys.prefix, str(Path(__file__).resolve().parent)]


# Mounts at the same path: an empty tmpfs first, then a read-only bind, then a writable one (the last wins).
_ORDER = {"--tmpfs": 0, "--ro-bind": 1, "--bind": 2}


def wrap(
    argv: Sequence[str],
    *,
    writable: Iterable[str | Path] = (),
    readonly: Iterable[str | Path] = (),
    hidden: Iterable[str | Path] = (),
    cwd: str | Path | None = None,
) -> list[str]:
    """``argv`` inside a sandbox: ``STUDIO_HOME`` and ``hidden`` are empty, then ``readonly`` and
    ``writable`` paths are bound back in at the same place (missing ones are skipped). Unchanged when
    bubblewrap is not available."""
    found = status()
    if not found.available:
        return list(argv)
    mounts = {(os.path.normpath(str(p)), "--tmpfs") for p in (get_settings().home, *hidden)}
    mounts |= {(os.path.normpath(str(p)), "--ro-bind") for p in (*_runtime_paths(), *readonly)}
    mounts |= {(os.path.normpath(str(p)), "--bind") for p in writable}
    args = [found.bwrap or "bwrap", *_base_args()]
    # Parents before children: a folder bound inside a hidden one shows, a hidden folder inside a bound one
    # stays hidden, a writable folder inside a read-only one stays writable.
    for path, flag in sorted(mounts, key=lambda m: (m[0].count("/"), m[0], _ORDER[m[1]])):
        if flag == "--tmpfs":
            args += [flag, path]
        elif Path(path).exists():
            args += [flag, path, path]
    if cwd is not None:
        args += ["--chdir", str(cwd)]
    return [*args, "--", *argv]
