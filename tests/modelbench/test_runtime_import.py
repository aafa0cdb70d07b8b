"""Jobs import the package as ``modelbench`` with only ``backend/runtime`` on the path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "backend" / "runtime"

CHECK = """
import sys
import modelbench.evaluators, modelbench.openai_client, modelbench.tokens
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("backend", "studio", "numpy", "requests"))
assert not leaked, leaked
print(modelbench.evaluators.exact_match("The answer", "answer"))
"""


def test_imports_as_a_top_level_package_with_the_standard_library_only():
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(RUNTIME)!r})\n{CHECK}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
