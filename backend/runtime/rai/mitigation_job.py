"""``python -m rai mitigate``: fit Fairlearn mitigations of a classifier and keep every candidate.

The output folder holds ``tradeoff.json`` (the original model and each candidate: accuracy, the
constraint's disparity, selection rates by group) and ``candidates/<i>/``, an MLflow model per mitigated
candidate, which Studio registers as a new model version when someone picks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import frames, insights, mitigation


def run(config: dict[str, Any], model_path: str, train_path: str, test_path: str, out: str) -> None:
    target, sensitive = config["target_column"], config["sensitive_feature"]
    predictor = frames.load_model(model_path)
    train, test = frames.read_table(train_path), frames.read_table(test_path)
    for name, frame in (("train", train), ("test", test)):
        missing = [c for c in (target, sensitive) if c not in frame.columns]
        if missing:
            raise ValueError(f"the {name} data has no column {missing[0]!r}")
    features = list(predictor.features or [c for c in test.columns if c not in (target, sensitive)])
    if predictor.estimator is None:
        raise ValueError("mitigation needs a scikit-learn style model (an MLflow sklearn model or a pickle)")
    insights.progress(1, 3, f"fitting {config['method']} for {config['constraint']} by {sensitive} ...")
    candidates = mitigation.mitigate(
        predictor.estimator,
        train[features],
        train[target],
        train[sensitive],
        test[features],
        test[target],
        test[sensitive],
        method=config["method"],
        constraint=config["constraint"],
        objective=config.get("objective", "accuracy_score"),
        grid_size=int(config.get("grid_size", 1000)),
        random_state=int(config.get("random_state", 13)),
    )
    insights.progress(2, 3, f"{len(candidates)} candidates; saving them as MLflow models ...")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    example = test[[*features, sensitive]].head(5)
    paths: dict[int, str] = {}
    for i, candidate in enumerate(candidates):
        if i == 0:  # the original model, kept for comparison
            continue
        relative = f"candidates/{i}"
        mitigation.save_candidate(
            candidate,
            folder / relative,
            features=features,
            sensitive_feature=sensitive,
            input_example=example,
        )
        paths[i] = relative
    summary = mitigation.tradeoff(candidates)
    for i, item in enumerate(summary["candidates"]):
        item["index"] = i
        item["path"] = paths.get(i)
    summary.update({k: config.get(k) for k in ("model_id", "method", "constraint", "sensitive_feature")})
    (folder / "tradeoff.json").write_text(json.dumps(frames.jsonable(summary), indent=1, allow_nan=False))
    insights.progress(3, 3, f"trade-off written to {folder / 'tradeoff.json'}")
