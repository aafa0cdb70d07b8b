"""The Python interpreters installed on this machine (uv's, pyenv's, python3.X on PATH); never downloads one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from backend.errors import ValidationError


def _python_version() -> str:
    return ".".join(str(p) for p in sys.version_info[:3])


def _version_of(executable: str) -> str | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout.strip()
    return text if out.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", text) else None


def _candidate_pythons() -> list[str]:
    """Interpreters uv installed, pyenv's versions, and python3.X on PATH (never pyenv's slow shims)."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    uv_pythons = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or data_home / "uv" / "python")
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [str(p) for p in sorted(uv_pythons.glob("*/bin/python3"))]
    found += [str(p) for p in sorted(pyenv_root.glob("versions/*/bin/python3"))]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or Path(folder).name == "shims":
            continue
        for path in sorted(Path(folder).glob("python3*")):
            if re.fullmatch(r"python3(\.\d+)?", path.name):
                found.append(str(path))
    return found


@lru_cache
def installed_pythons() -> tuple[tuple[str, str], ...]:
    """(version, path) of every working Python 3 on this machine, Studio's own first."""
    from concurrent.futures import ThreadPoolExecutor

    seen = {os.path.realpath(sys.executable)}
    candidates = []
    for candidate in _candidate_pythons():
        real = os.path.realpath(candidate)
        if real not in seen and os.access(candidate, os.X_OK):
            seen.add(real)
            candidates.append(candidate)
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(_version_of, candidates))
    pythons = [(_python_version(), sys.executable)]
    pythons += [(v, p) for v, p in zip(versions, candidates, strict=True) if v and v.startswith("3.")]
    return tuple(pythons)


def _matches(version: str, pin: str) -> bool:
    if re.fullmatch(r"\d+(\.\d+){0,2}", pin):
        return version == pin or version.startswith(pin + ".")
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(pin).contains(version, prereleases=True)


def find_python(pin: str | None) -> tuple[str, str]:
    """(path, version) of an installed interpreter for ``pin``; Studio's own when it fits. Never downloads."""
    if pin is None or _matches(_python_version(), pin):
        return sys.executable, _python_version()
    from packaging.version import Version

    fits = [(v, p) for v, p in installed_pythons() if _matches(v, pin)]
    if fits:
        version, path = max(fits, key=lambda vp: Version(vp[0]))
        return path, version
    have = sorted({v for v, _ in installed_pythons()}, key=Version)
    raise ValidationError(
        f"Python {pin} is not installed on this machine (installed: {', '.join(have)}); install it "
        f"(for example `uv python install {pin}`) or change the python= pin of the environment"
    )
