"""``python -m backend.runtime.scoring --port P [--model-dir D] [--code DIR --scoring-script score.py]``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from .server import ScoringServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.runtime.scoring", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0: any free port (printed on stdout)")
    parser.add_argument("--model-dir", type=Path, help="the model's folder (or file); a script may need none")
    parser.add_argument("--code", type=Path, help="the deployment's code folder")
    parser.add_argument("--scoring-script", help="the scoring script, relative to --code")
    parser.add_argument("--max-batch", type=int, default=64, help="rows per predict call (mlflow_model)")
    parser.add_argument("--batch-window-ms", type=float, default=2.0, help="how long a batch waits for more")
    args = parser.parse_args(argv)
    if bool(args.code) != bool(args.scoring_script):
        parser.error("--code and --scoring-script go together")
    script = (args.code / args.scoring_script).resolve() if args.code else None
    if script is not None and not script.is_file():
        parser.error(f"no scoring script {script}")
    server = ScoringServer(
        model_dir=args.model_dir,
        script=script,
        max_batch=args.max_batch,
        batch_window_ms=args.batch_window_ms,
    )
    asyncio.run(server.serve(args.host, args.port))


if __name__ == "__main__":
    main()
