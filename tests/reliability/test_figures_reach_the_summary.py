"""The figure mechanism itself: a reported line is printed in the summary, also through xdist."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_reported_figure_is_printed_in_the_summary(tmp_path: Path) -> None:
    probe = REPO / "tests" / "reliability" / f"test_probe_{tmp_path.name}.py"
    probe.write_text("def test_probe(report):\n    report('probe figure 42 of 42')\n")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", str(probe), "-n", "1", "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("reliability figures", 1)[-1]
    assert "test_probe: probe figure 42 of 42" in summary
