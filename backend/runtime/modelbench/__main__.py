"""``python -m modelbench run --config F --output DIR --input dataset=PATH [--input model_0=PATH ...]``.

The benchmark job's command (``backend/services/benchmarks.py`` writes it). A bad dataset or connection
ends the job with one line saying what was wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--config", required=True)
    run.add_argument("--output", required=True)
    run.add_argument("--input", action="append", default=[], help="name=path, one per input")
    args = parser.parse_args(argv)
    from .run import run as run_benchmark

    inputs = dict(pair.split("=", 1) for pair in args.input)
    try:
        run_benchmark(json.loads(Path(args.config).read_text()), inputs, args.output)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"benchmark: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
