"""``python -m rai <command>``: what Responsible AI jobs run (in the job's sandbox and environment).

- ``insights --config F --model M --test-data T [--train-data D] --output O``: the whole artifact.
- ``mitigate --config F --model M --train-data D --test-data T --output O``: Fairlearn mitigation candidates.
- ``scorecard --config F --insights DIR --output O``: the PDF and HTML scorecard of an artifact.
- ``predict --model M``: rows (JSON ``{"columns", "data"}`` on stdin) to predictions on stdout (what-if).
- ``component <name>``: one of the cloud's RAI pipeline components, its inputs and outputs read from the
  ``AZURE_ML_INPUT_*`` / ``AZURE_ML_OUTPUT_*`` variables (``components``).

A bad input ends the job with one line saying what was wrong (the job's failure reason shows it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _config(path: str) -> dict:
    return json.loads(Path(path).read_text())


def cmd_insights(args: argparse.Namespace) -> None:
    from . import insights

    config = _config(args.config)
    analysis = insights.prepare(config, args.model, args.test_data, args.train_data)
    found = insights.compute(analysis, config.get("parts"))
    insights.write({**found, "dashboard": True}, analysis.rows, args.output)
    print(f"insights written to {args.output}: {', '.join(found['parts'])}", flush=True)


def cmd_mitigate(args: argparse.Namespace) -> None:
    from . import mitigation_job

    mitigation_job.run(_config(args.config), args.model, args.train_data, args.test_data, args.output)


def cmd_scorecard(args: argparse.Namespace) -> None:
    from . import scorecard

    found = json.loads((Path(args.insights) / "rai_insights.json").read_text())
    config = _config(args.config)
    review = config.pop("_review", None)  # the model version's latest review, as Studio passed it
    if review:
        found["review"] = {**review, "date": review.get("created")}
    paths = scorecard.render(found, config, args.output)
    print(f"scorecard written: {', '.join(str(p) for p in paths.values())}", flush=True)


def cmd_predict(args: argparse.Namespace) -> None:
    import pandas as pd

    from . import frames

    request = json.loads(sys.stdin.read() or "{}")
    predictor = frames.load_model(args.model)
    rows = pd.DataFrame(request.get("data") or [], columns=request.get("columns"))
    proba = predictor.predict_proba(rows)
    answer = {
        "predictions": predictor.predict(rows),
        "probabilities": proba,
        "classes": predictor.classes,
        "features": predictor.features,
    }
    print(json.dumps(frames.jsonable(answer)))


def cmd_component(args: argparse.Namespace) -> None:
    from . import components

    components.run(args.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rai", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("insights")
    for flag in ("--config", "--model", "--test-data", "--output"):
        p.add_argument(flag, required=True)
    p.add_argument("--train-data")
    p.set_defaults(run=cmd_insights)
    p = sub.add_parser("mitigate")
    for flag in ("--config", "--model", "--train-data", "--test-data", "--output"):
        p.add_argument(flag, required=True)
    p.set_defaults(run=cmd_mitigate)
    p = sub.add_parser("scorecard")
    for flag in ("--config", "--insights", "--output"):
        p.add_argument(flag, required=True)
    p.set_defaults(run=cmd_scorecard)
    p = sub.add_parser("predict")
    p.add_argument("--model", required=True)
    p.set_defaults(run=cmd_predict)
    p = sub.add_parser("component")
    p.add_argument("name")
    p.set_defaults(run=cmd_component)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"rai {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
