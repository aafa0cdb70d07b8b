"""The cloud's RAI pipeline components, run by ``python -m rai component <name>``.

A cloud RAI pipeline builds a dashboard in steps: the constructor gathers the model and the data, one
component per insight computes it, the gather step combines them, the score card renders a PDF. Here each
step exchanges folders:

- constructor -> ``rai_insights_dashboard``: ``constructor.json`` (the settings), ``model/`` (the model's
  files), ``test.parquet``, ``train.parquet``;
- explanation / causal / counterfactual / error analysis -> their output: ``<part>.json``;
- gather -> ``dashboard``: the artifact (``rai_insights.json`` with ``"dashboard": true``, ``rows.parquet``),
  which Studio records as insights when the step completes;
- score card -> ``scorecard``: ``scorecard.pdf`` and ``scorecard.html``.

Inputs come as the job's ``AZURE_ML_INPUT_<name>`` variables (literals as the cloud passes them: JSON text
for lists, ``True``/``False``), outputs as ``AZURE_ML_OUTPUT_<name>``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from . import frames, insights

PART_OF = {
    "rai_tabular_explanation": ("feature_importance", "explanation"),
    "rai_tabular_causal": ("causal", "causal"),
    "rai_tabular_counterfactual": ("counterfactuals", "counterfactual"),
    "rai_tabular_erroranalysis": ("error_analysis", "error_analysis"),
}


def value(name: str, default: Any = None) -> Any:
    """A literal input as Python: JSON when it parses (lists, numbers, true/false), else the text."""
    raw = os.environ.get(f"AZURE_ML_INPUT_{name}")
    if raw is None or raw == "":
        return default
    if raw in ("True", "False"):
        return raw == "True"
    if raw in ("None", "null"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def path_input(name: str) -> str | None:
    return os.environ.get(f"AZURE_ML_INPUT_{name}") or None


def output(name: str) -> Path:
    found = os.environ.get(f"AZURE_ML_OUTPUT_{name}")
    if not found:
        raise ValueError(f"the component has no output {name!r}")
    Path(found).mkdir(parents=True, exist_ok=True)
    return Path(found)


# ------------------------------------------------------------------------------------ constructor


def _model_id() -> str | None:
    folder = path_input("model_info_path")
    if folder:
        info = Path(folder) / "model_info.json" if Path(folder).is_dir() else Path(folder)
        return str(json.loads(info.read_text())["id"])
    return value("model_info")


def _fetch_model(model_id: str, into: Path) -> None:
    """A registered model's files, from the MLflow registry the job's tracking URI names."""
    import mlflow

    name, _, version = model_id.removeprefix("azureml:").rpartition(":")
    if not name:
        raise ValueError(f"model_info: {model_id!r} is not <name>:<version>")
    mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(into))


def constructor() -> None:
    out = output("rai_insights_dashboard")
    model_dir = out / "model"
    model_input, model_id = path_input("model_input"), _model_id()
    if model_input:
        shutil.copytree(model_input, model_dir, dirs_exist_ok=True)
    elif model_id:
        _fetch_model(model_id, model_dir)
    else:
        raise ValueError("give model_info_path, model_input or model_info")
    task = str(value("task_type", "classification")).lower()
    if task not in ("classification", "regression"):
        raise ValueError(f"task_type: {task!r} is not supported (classification or regression)")
    config = {
        "title": value("title", "") or "",
        "task_type": task,
        "target_column": value("target_column_name"),
        "categorical_features": value("categorical_column_names", []) or [],
        "classes": value("classes", []) or [],
        "maximum_rows_for_test_dataset": value("maximum_rows_for_test_dataset", 5000),
        "model_id": model_id or "model_input",
        # Which assets these were is known to Studio (the step's inputs), not to the job.
        "test_data_id": None,
        "train_data_id": None,
    }
    if not config["target_column"]:
        raise ValueError("target_column_name: required")
    test = frames.read_table(path_input("test_dataset") or "")
    train = frames.read_table(path_input("train_dataset") or "")
    analysis = insights.prepare_frames(config, str(model_dir), test, train)  # checks columns and row limit
    analysis.rows.drop(columns=[c for c in analysis.rows.columns if c.startswith("_")]).to_parquet(
        out / "test.parquet", index=False
    )
    train.to_parquet(out / "train.parquet", index=False)
    (out / "constructor.json").write_text(json.dumps(frames.jsonable(config), indent=1))
    print(
        f"constructor: {len(test)} test rows, {len(train)} train rows, model {config['model_id']}", flush=True
    )


def load(folder: str | Path) -> insights.Analysis:
    """The analysis a constructor folder describes (data, model, predictions)."""
    folder = Path(folder)
    config = json.loads((folder / "constructor.json").read_text())
    return insights.prepare(
        config, str(folder / "model"), str(folder / "test.parquet"), str(folder / "train.parquet")
    )


# ------------------------------------------------------------------------------------ insight steps


def _settings(name: str) -> dict[str, Any]:
    if name == "rai_tabular_causal":
        return {
            "treatment_features": value("treatment_features", []) or [],
            "heterogeneity_features": value("heterogeneity_features", []) or [],
            "nuisance_model": str(value("nuisance_model", "linear")).lower(),
            "alpha": float(value("alpha", 0.05)),
        }
    if name == "rai_tabular_counterfactual":
        features = value("features_to_vary", "all")
        return {
            "total_CFs": int(value("total_CFs", 10)),
            "desired_class": value("desired_class", "opposite") or "opposite",
            "desired_range": value("desired_range", []) or None,
            "permitted_range": value("permitted_range", {}) or {},
            "features_to_vary": features if isinstance(features, list) else "all",
        }
    if name == "rai_tabular_erroranalysis":
        return {
            "max_depth": int(value("max_depth", 3)),
            "num_leaves": int(value("num_leaves", 31)),
            "min_child_samples": int(value("min_child_samples", 20)),
            "filter_features": value("filter_features", []) or [],
        }
    return {}


def insight_step(name: str) -> None:
    part, out_name = PART_OF[name]
    analysis = load(path_input("rai_insights_dashboard") or "")
    analysis.config[part] = _settings(name)
    if part == "causal" and not analysis.config[part]["treatment_features"]:
        raise ValueError("treatment_features: name at least one column (a JSON list)")
    insights.progress(1, 1, f"{part} ...")
    found = insights.COMPUTE[part](analysis)
    (output(out_name) / f"{part}.json").write_text(json.dumps(frames.jsonable(found), allow_nan=False))
    insights.progress(1, 1, f"{part} done")


def gather() -> None:
    analysis = load(path_input("constructor") or "")
    found = insights.compute(analysis, ["model_overview", "fairness", "data_analysis"])
    for i in range(1, 5):
        folder = path_input(f"insight_{i}")
        for file in sorted(Path(folder).glob("*.json")) if folder else []:
            part = file.stem
            if part in insights.PARTS:
                found[part] = json.loads(file.read_text())
                found["parts"].append(part)
    insights.write({**found, "dashboard": True}, analysis.rows, output("dashboard"))
    print(f"dashboard: {', '.join(found['parts'])}", flush=True)


def score_card() -> None:
    from . import scorecard

    dashboard = Path(path_input("dashboard") or "")
    found = json.loads((dashboard / "rai_insights.json").read_text())
    config_path = path_input("pdf_generation_config")
    config = json.loads(Path(config_path).read_text()) if config_path else {}
    cohorts_path = path_input("predefined_cohorts_json")
    if cohorts_path:
        found["cohort_definitions"] = json.loads(Path(cohorts_path).read_text())
    paths = scorecard.render(found, config, output("scorecard"))
    print(f"scorecard: {', '.join(str(p) for p in paths.values())}", flush=True)


def run(name: str) -> None:
    short = name.removeprefix("microsoft_azureml_")
    if short == "rai_tabular_insight_constructor":
        constructor()
    elif short in PART_OF:
        insight_step(short)
    elif short == "rai_tabular_insight_gather":
        gather()
    elif short == "rai_tabular_score_card":
        score_card()
    else:
        raise ValueError(f"{name!r} is not a Responsible AI component")
