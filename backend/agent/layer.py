"""A job's own writable layer over a read-only environment venv.

The layer is a venv made by hand in the job folder (a few files: ``uv venv`` would cost 0.1 s a job). Its
``bin/python`` is the interpreter of the environment it sits on; a ``.pth`` file in its site-packages adds
the environment's site-packages behind its own (processing the environment's ``.pth`` files too), then
Studio's runtime folder (the in-job ``mltable`` API) last, so anything the job installs wins. ``pip``
inside the layer installs into the layer: pip leaves a package found outside the running environment
alone ("not uninstalling ... outside environment") and puts the new version in front of it. So a
command's ``pip install`` changes that job only, and the environment under it stays as built (the sandbox
mounts it read-only anyway).
"""

from __future__ import annotations

import os
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[1] / "runtime"  # backend/runtime: APIs jobs may import
PIP_SCRIPT = """#!{python}
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.argv[0] = sys.argv[0].removesuffix(".exe")
    sys.exit(main())
"""


def _read_cfg(venv: Path) -> dict[str, str]:
    found = {}
    for line in (venv / "pyvenv.cfg").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found


def site_packages(venv: Path) -> Path:
    """The venv's site-packages (``lib/pythonX.Y/site-packages``)."""
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} has no lib/python3.*/site-packages")
    return found[0]


def make_layer(layer: Path, base: Path) -> Path:
    """Create the layer venv at ``layer`` over the venv ``base``; returns the layer's python."""
    cfg = _read_cfg(base)
    base_python = base / "bin" / "python"
    interpreter = Path(os.path.realpath(base_python))
    base_site = site_packages(base)
    site = layer / "lib" / base_site.parent.name / "site-packages"
    site.mkdir(parents=True)
    bin_dir = layer / "bin"
    bin_dir.mkdir()
    version = cfg.get("version_info") or cfg.get("version") or ""
    major_minor = base_site.parent.name.removeprefix("python")
    lines = [
        f"home = {cfg.get('home', str(interpreter.parent))}",
        "include-system-site-packages = false",
        f"version = {version}",
        f"studio-layer-over = {base}",
    ]
    (layer / "pyvenv.cfg").write_text("\n".join(lines) + "\n")
    for name in ("python", "python3", f"python{major_minor}"):
        (bin_dir / name).symlink_to(interpreter)
    python = bin_dir / "python"
    # A .pth line that starts with "import" runs; a path line is appended to sys.path if it exists.
    # The last line: the runtime's start-up hooks (``studio_job_hooks``: a cloud habit of MLflow model registration).
    (site / "_studio_layer.pth").write_text(
        f"import site; site.addsitedir({str(base_site)!r})\n{RUNTIME}\n"
        "import sys; exec('try:\\n import studio_job_hooks\\nexcept Exception: pass')\n"
    )
    if (base_site / "pip").is_dir():
        script = PIP_SCRIPT.format(python=python)
        for name in ("pip", "pip3", f"pip{major_minor}"):
            path = bin_dir / name
            path.write_text(script)
            path.chmod(0o755)
    return python
