"""The Responsible AI scorecard: targets checked against the insights, as a PDF and an HTML page.

``config`` is the cloud's ``pdf_generation_config`` (the RAI score card component's JSON), so a file
written for the cloud works here unchanged:

    {"Model": {"ModelName", "ModelType": "classification" | "regression" | "multiclass", "ModelSummary"},
     "Metrics": {"accuracy_score": {"threshold": ">=0.7"}, "precision_score": {}, ...},
     "FeatureImportance": {"top_n": 6},                        # at most 10, as in the cloud
     "DataExplorer": {"features": ["income", ...]},
     "Fairness": {"metric": ["accuracy_score", "selection_rate"], "sensitive_features": ["sex"],
                  "fairness_evaluation_kind": "difference" | "ratio", "threshold": "<=0.1"},
     "Cohorts": ["cohort name", ...]}

Thresholds are an operator (``>= <= > < == =``) and a number, spaces allowed (``"<= 0.1"``). Metric
names are the cloud's (scikit-learn's); they are looked up under the insights' own short names.
``evaluate`` returns the checked targets and the six Responsible AI principles with their evidence;
``render`` writes ``scorecard.pdf`` (fpdf2) and ``scorecard.html`` (self-contained) from it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import operator
import re
from datetime import UTC, datetime
from pathlib import Path

# The cloud's metric names -> the keys of ``model_overview["overall"]`` where they differ (a name found as
# it is, such as ``selection_rate`` or ``error_rate``, needs no entry).
METRIC_KEYS = {
    "accuracy_score": "accuracy", "precision_score": "precision", "recall_score": "recall", "f1_score": "f1",
    "roc_auc_score": "roc_auc", "mean_absolute_error": "mae", "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse", "median_absolute_error": "medae", "r2_score": "r2",
}  # fmt: skip
# Names the fairness section accepts directly: the disparity metrics stored per sensitive feature.
DISPARITY_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)
LABELS = {
    "accuracy_score": "Accuracy",
    "precision_score": "Precision",
    "recall_score": "Recall",
    "f1_score": "F1 score",
    "roc_auc_score": "ROC AUC",
    "selection_rate": "Selection rate",
    "error_rate": "Error rate",
    "false_positive_rate": "False positive rate",
    "false_negative_rate": "False negative rate",
    "mean_absolute_error": "Mean absolute error",
    "mean_squared_error": "Mean squared error",
    "root_mean_squared_error": "Root mean squared error",
    "median_absolute_error": "Median absolute error",
    "r2_score": "R²",
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
}
CLASSIFICATION_DEFAULTS = ("accuracy_score", "precision_score", "recall_score", "f1_score", "roc_auc_score")
REGRESSION_DEFAULTS = ("mean_absolute_error", "mean_squared_error", "root_mean_squared_error", "r2_score")
OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": math.isclose}
THRESHOLD = re.compile(r"^\s*(>=|<=|==|=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
GROUP_COLUMNS = ("count", "accuracy", "selection_rate", "false_positive_rate", "false_negative_rate")
# Without a Fairness section the scorecard still reports these (no targets: the principle needs review).
DEFAULT_FAIRNESS = {"metric": ["demographic_parity_difference", "equalized_odds_difference"]}
MAX_TOP_N = 10
SMALL_GROUP_SHARE = 0.05
GROUP_GAP = 0.05
MET, NOT_MET, REVIEW, NOT_ASSESSED, REVIEWED = "met", "not met", "needs review", "not assessed", "reviewed"


def parse_threshold(text) -> tuple[str, float]:
    """``">= 0.7"`` -> ``(">=", 0.7)``; a clear error for anything else."""
    match = THRESHOLD.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"threshold {text!r} is not an operator (>=, <=, >, <, ==) followed by a number")
    op = "==" if match.group(1) == "=" else match.group(1)
    return op, float(match.group(2))


def check(value, threshold) -> bool | None:
    """Whether ``value`` meets the threshold text; None when there is no value or no threshold."""
    if value is None or threshold in (None, ""):
        return None
    op, bound = parse_threshold(threshold)
    return bool(OPERATORS[op](float(value), bound))


def evaluate(insights: dict, config: dict) -> dict:
    """The scorecard's content: model, checked targets, fairness, importance, data, cohorts, principles."""
    task = _task(insights, config)
    overall = (insights.get("model_overview") or {}).get("overall") or {}
    metrics = _metric_targets(overall, config.get("Metrics") or {}, task)
    fairness = _fairness_targets(insights.get("fairness") or {}, config.get("Fairness"), task)
    importance = _importance(insights.get("feature_importance"), config.get("FeatureImportance"))
    report = {
        "title": insights.get("title") or "Responsible AI scorecard",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model": _model(insights, config, task),
        "metrics": metrics,
        "fairness": fairness,
        "fairness_groups": _fairness_groups(insights.get("fairness") or {}, config.get("Fairness")),
        "feature_importance": importance,
        "data_explorer": _data_explorer(insights.get("data_analysis"), config.get("DataExplorer")),
        "cohorts": _cohorts(insights.get("cohorts"), config.get("Cohorts")),
        "review": insights.get("review"),
    }
    report["principles"] = _principles(insights, report)
    targets = [t for t in metrics + fairness if t["threshold"] is not None]
    report["summary"] = {
        "targets": len(targets),
        "passed": sum(t["passed"] is True for t in targets),
        "failed": sum(t["passed"] is False for t in targets),
        "not_evaluated": sum(t["passed"] is None for t in targets),
    }
    return report


def _task(insights: dict, config: dict) -> str:
    declared = str((config.get("Model") or {}).get("ModelType") or insights.get("task_type") or "")
    return "regression" if declared.lower() == "regression" else "classification"


def _model(insights: dict, config: dict, task: str) -> dict:
    section = config.get("Model") or {}
    model = insights.get("model") or {}
    return {
        "name": section.get("ModelName") or model.get("id") or "model",
        "type": section.get("ModelType") or insights.get("task_type") or task,
        "summary": section.get("ModelSummary") or "",
        "id": model.get("id"),
        "target_column": insights.get("target_column"),
        "features": list(insights.get("features") or []),
        "sensitive_features": list(insights.get("sensitive_features") or []),
        "rows": insights.get("rows"),
    }


def _lookup(values: dict, name: str):
    """A metric's value under the insights' short name or the cloud's own name; None when absent."""
    for key in (METRIC_KEYS.get(name), name):
        value = values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    if name == "error_rate" and isinstance(values.get("accuracy"), int | float):
        return 1.0 - float(values["accuracy"])
    return None


def _metric_targets(overall: dict, requested: dict, task: str) -> list[dict]:
    """One row per configured metric (or the task's usual metrics when none is configured)."""
    if not requested:
        defaults = REGRESSION_DEFAULTS if task == "regression" else CLASSIFICATION_DEFAULTS
        requested = {name: {} for name in defaults if _lookup(overall, name) is not None}
    return [
        _target(name.lower(), _lookup(overall, name.lower()), (spec or {}).get("threshold"))
        for name, spec in requested.items()
    ]


def _target(metric: str, value, threshold, **extra) -> dict:
    row = {"metric": metric, "label": LABELS.get(metric, metric.replace("_", " ")), **extra, "value": value}
    try:
        row.update(threshold=threshold, passed=check(value, threshold), error=None)
    except ValueError as exc:
        row.update(threshold=threshold, passed=None, error=str(exc))
    return row


def _fairness_config(section) -> tuple[list[str], list[str] | None, str, str | None]:
    section = section or {}
    metrics = section.get("metric") or ["accuracy_score", "selection_rate"]
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    kind = str(section.get("fairness_evaluation_kind") or "difference").lower()
    if kind not in ("difference", "ratio"):
        raise ValueError(f"fairness_evaluation_kind must be difference or ratio, not {kind!r}")
    return [m.lower() for m in metrics], section.get("sensitive_features"), kind, section.get("threshold")


def _fairness_targets(fairness: dict, section, task: str) -> list[dict]:
    """Per sensitive feature, each metric's difference (max - min) or ratio (min / max) between groups."""
    if section is None:
        if task == "regression":
            return []
        section = DEFAULT_FAIRNESS
    metrics, features, kind, threshold = _fairness_config(section)
    rows = []
    for feature in features if features is not None else list(fairness):
        stored = fairness.get(feature) or {}
        for metric in metrics:
            value = _disparity(stored, metric, kind)
            rows.append(_target(metric, value, threshold, sensitive_feature=feature, kind=kind))
    return rows


def _disparity(stored: dict, metric: str, kind: str):
    if metric in DISPARITY_METRICS:
        return _lookup(stored, metric)
    value = _lookup(stored.get(kind) or {}, metric)
    if value is not None:
        return value
    by_group = [_lookup(g, metric) for g in (stored.get("by_group") or {}).values()]
    by_group = [v for v in by_group if v is not None]
    if not by_group:
        return None
    if kind == "difference":
        return max(by_group) - min(by_group)
    return min(by_group) / max(by_group) if max(by_group) > 0 else None


def _fairness_groups(fairness: dict, section) -> list[dict]:
    """Per sensitive feature, the per-group table (counts and metrics) the PDF and HTML print."""
    features = None if section is None else _fairness_config(section)[1]
    tables = []
    for feature in features if features is not None else list(fairness):
        by_group = (fairness.get(feature) or {}).get("by_group") or {}
        columns = [c for c in GROUP_COLUMNS if any(c in g for g in by_group.values())]
        extra = sorted({k for g in by_group.values() for k in g} - set(columns))
        tables.append({"sensitive_feature": feature, "columns": columns + extra, "groups": by_group})
    return tables


def _importance(stored, section) -> dict | None:
    """The top ``top_n`` features by mean global importance (``top_n`` capped at 10, as the cloud does)."""
    features = ((stored or {}).get("global") or {}).get("features") or {}
    if not features:
        return None
    top_n = min(int((section or {}).get("top_n") or MAX_TOP_N), MAX_TOP_N)
    ranked = sorted(features.items(), key=lambda item: (-(item[1].get("mean") or 0.0), item[0]))
    return {
        "top_n": top_n,
        "features": [{"feature": f, "mean": v.get("mean"), "std": v.get("std")} for f, v in ranked[:top_n]],
    }


def _data_explorer(stored, section) -> list[dict]:
    """The scalar statistics the data analysis holds for each feature the config names."""
    columns = (stored or {}).get("columns") or {}
    rows = []
    for feature in (section or {}).get("features") or []:
        summary = columns.get(feature) or {}
        scalars = {
            k: v for k, v in summary.items() if isinstance(v, str | int | float) and not isinstance(v, bool)
        }
        rows.append({"feature": feature, "statistics": scalars, "available": bool(summary)})
    return rows


def _cohorts(stored, names) -> list[dict]:
    """The configured cohorts (all stored ones when the config names none), with their metrics."""
    stored = stored or []
    wanted = list(names) if names else [c.get("name") for c in stored]
    by_name = {c.get("name"): c for c in stored}
    return [
        {
            "name": name,
            "filters": (by_name.get(name) or {}).get("filters"),
            "metrics": (by_name.get(name) or {}).get("metrics"),
            "available": name in by_name,
        }
        for name in wanted
    ]


def _principles(insights: dict, report: dict) -> list[dict]:
    return [
        {"principle": "Fairness", **_targets_status(report["fairness"], "fairness")},
        {"principle": "Reliability & safety", **_reliability(insights, report)},
        {"principle": "Privacy & security", **_review_status(report["review"])},
        {"principle": "Inclusiveness", **_inclusiveness(insights)},
        {"principle": "Transparency", **_transparency(report["feature_importance"])},
        {"principle": "Accountability", **_review_status(report["review"])},
    ]


def _describe_target(t: dict) -> str:
    where = f" by {t['sensitive_feature']}" if t.get("sensitive_feature") else ""
    if t.get("sensitive_feature") and t["metric"] not in DISPARITY_METRICS:
        where += f" ({t['kind']})"
    value = _fmt(t["value"])
    if t.get("error"):
        return f"{t['label']}{where}: {value}; {t['error']}"
    if t["threshold"] is None:
        return f"{t['label']}{where}: {value} (no target)"
    verdict = {True: "met", False: "not met", None: "not evaluated"}[t["passed"]]
    return f"{t['label']}{where}: {value}, target {t['threshold']}: {verdict}"


def _targets_status(targets: list[dict], what: str) -> dict:
    """Not met if any target fails, met if all pass, needs review when values have no targets."""
    if not targets:
        return {"status": NOT_ASSESSED, "evidence": [f"no {what} results in the insights"]}
    evidence = [_describe_target(t) for t in targets]
    checked = [t["passed"] for t in targets if t["threshold"] is not None]
    if any(p is False for p in checked):
        return {"status": NOT_MET, "evidence": evidence}
    if checked and all(p is True for p in checked):
        return {"status": MET, "evidence": evidence}
    return {"status": REVIEW, "evidence": evidence}


def _reliability(insights: dict, report: dict) -> dict:
    result = _targets_status(report["metrics"], "model performance")
    analysis = insights.get("error_analysis")
    if analysis:
        result["evidence"].append(
            "error analysis computed: look for cohorts with high error in the dashboard"
        )
    worst = max(
        (c for c in report["cohorts"] if (c["metrics"] or {}).get("error_rate") is not None),
        key=lambda c: c["metrics"]["error_rate"],
        default=None,
    )
    if worst:
        result["evidence"].append(
            f"highest cohort error rate: {worst['name']} {_fmt(worst['metrics']['error_rate'])}"
        )
    return result


def _inclusiveness(insights: dict) -> dict:
    """The smallest group of each sensitive feature: its share of rows and how the model does there."""
    fairness = insights.get("fairness") or {}
    overall = (insights.get("model_overview") or {}).get("overall") or {}
    evidence, concerns = [], 0
    for feature, stored in fairness.items():
        groups = {g: v for g, v in ((stored or {}).get("by_group") or {}).items() if v.get("count")}
        if not groups:
            continue
        total = sum(v["count"] for v in groups.values())
        group, values = min(groups.items(), key=lambda item: item[1]["count"])
        share = values["count"] / total
        line = f"smallest {feature} group: {group}, {values['count']} rows ({share:.1%})"
        accuracy, reference = values.get("accuracy"), overall.get("accuracy")
        if accuracy is not None and reference is not None:
            line += f", accuracy {_fmt(accuracy)} against {_fmt(reference)} overall"
            concerns += accuracy < reference - GROUP_GAP
        concerns += share < SMALL_GROUP_SHARE
        evidence.append(line)
    if not evidence:
        return {"status": NOT_ASSESSED, "evidence": ["no per-group results for sensitive features"]}
    return {"status": REVIEW if concerns else MET, "evidence": evidence}


def _transparency(importance) -> dict:
    if not importance:
        return {"status": NOT_ASSESSED, "evidence": ["no feature importance in the insights"]}
    names = ", ".join(f["feature"] for f in importance["features"][:5])
    return {"status": MET, "evidence": [f"global feature importance computed; most important: {names}"]}


def _review_status(review) -> dict:
    """Only a person can judge these: the review record is the evidence, or the item waits for one."""
    if not review or not review.get("decision"):
        return {"status": REVIEW, "evidence": ["no review recorded"]}
    reviewer = review.get("reviewer") or "unknown reviewer"
    line = f"{review.get('decision')} by {reviewer} on {review.get('date') or '?'}"
    evidence = [line] + ([str(review["notes"])] if review.get("notes") else [])
    return {"status": REVIEWED, "evidence": evidence}


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"


def _status_text(passed) -> str:
    return {True: "pass", False: "fail", None: "-"}[passed]


# --- rendering ---------------------------------------------------------------------------------------

COLORS = {
    "pass": (209, 242, 214),
    "fail": (250, 214, 214),
    MET: (209, 242, 214),
    REVIEWED: (209, 242, 214),
    NOT_MET: (250, 214, 214),
    REVIEW: (255, 236, 190),
    NOT_ASSESSED: (230, 230, 230),
}


def render(insights: dict, config: dict, out_dir) -> dict:
    """Write ``scorecard.pdf`` and ``scorecard.html`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = evaluate(insights, config)
    chart = _importance_chart(report["feature_importance"])
    pdf_path, html_path = out / "scorecard.pdf", out / "scorecard.html"
    _write_pdf(report, chart, pdf_path)
    html_path.write_text(_html(report, chart), encoding="utf-8")
    return {"pdf": str(pdf_path), "html": str(html_path)}


def _importance_chart(importance) -> bytes | None:
    """A horizontal bar chart of the top features as PNG bytes (Agg canvas: no display, no global state)."""
    if not importance:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    features = list(reversed(importance["features"]))
    figure = Figure(figsize=(7, 0.45 * len(features) + 1.2), dpi=150)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    means = [f["mean"] or 0.0 for f in features]
    errors = [f["std"] or 0.0 for f in features]
    axes.barh([f["feature"] for f in features], means, xerr=errors, color="#3b6ea8", capsize=3)
    axes.set_xlabel("mean importance")
    axes.set_title(f"Top {len(features)} features")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _sections(report: dict) -> list[tuple[str, list]]:
    """The scorecard as (heading, blocks) shared by the PDF and the HTML; a block is text or a table."""
    model, summary = report["model"], report["summary"]
    overview = [
        ("text", model["summary"]) if model["summary"] else None,
        (
            "table",
            ["", ""],
            [
                ["Model", str(model["name"])],
                ["Model id", str(model["id"] or "-")],
                ["Type", str(model["type"])],
                ["Target", str(model["target_column"] or "-")],
                ["Test rows", _fmt(model["rows"])],
                ["Sensitive features", ", ".join(model["sensitive_features"]) or "-"],
                ["Targets met", f"{summary['passed']} of {summary['targets']} ({summary['failed']} not met)"],
                ["Created", report["created"]],
            ],
            None,
        ),
    ]
    metric_rows = [
        [t["label"], _fmt(t["value"]), t["threshold"] or "-", _status_text(t["passed"])]
        for t in report["metrics"]
    ]
    sections = [
        ("Overview", [b for b in overview if b]),
        (
            "Responsible AI principles",
            [
                (
                    "table",
                    ["Principle", "Status", "Evidence"],
                    [[p["principle"], p["status"], "\n".join(p["evidence"])] for p in report["principles"]],
                    1,
                )
            ],
        ),
        (
            "Model performance",
            [("table", ["Metric", "Value", "Target", "Result"], metric_rows, 3)]
            if metric_rows
            else [("text", "No model metrics in the insights.")],
        ),
    ]
    fairness = []
    if report["fairness"]:
        rows = [
            [
                t["sensitive_feature"],
                t["label"] if t["metric"] in DISPARITY_METRICS else f"{t['label']} ({t['kind']})",
                _fmt(t["value"]),
                t["threshold"] or "-",
                _status_text(t["passed"]),
            ]
            for t in report["fairness"]
        ]
        fairness.append(("table", ["Sensitive feature", "Metric", "Value", "Target", "Result"], rows, 4))
    for table in report["fairness_groups"]:
        if not table["groups"]:
            continue
        header = ["Group", *(c.replace("_", " ") for c in table["columns"])]
        rows = [[str(g), *(_fmt(v.get(c)) for c in table["columns"])] for g, v in table["groups"].items()]
        fairness += [("text", f"By {table['sensitive_feature']}"), ("table", header, rows, None)]
    if fairness:
        sections.append(("Fairness", fairness))
    if report["feature_importance"]:
        rows = [
            [f["feature"], _fmt(f["mean"]), _fmt(f["std"])] for f in report["feature_importance"]["features"]
        ]
        sections.append(
            ("Feature importance", [("chart",), ("table", ["Feature", "Mean", "Std"], rows, None)])
        )
    if report["data_explorer"]:
        rows = [
            [
                d["feature"],
                ", ".join(f"{k}: {_fmt(v)}" for k, v in d["statistics"].items()) or "not in the insights",
            ]
            for d in report["data_explorer"]
        ]
        sections.append(("Data explorer", [("table", ["Feature", "Statistics"], rows, None)]))
    if report["cohorts"]:
        rows = [
            [
                c["name"],
                ", ".join(f"{k}: {_fmt(v)}" for k, v in (c["metrics"] or {}).items())
                or "not in the insights",
            ]
            for c in report["cohorts"]
        ]
        sections.append(("Cohorts", [("table", ["Cohort", "Metrics"], rows, None)]))
    review = report["review"] or {}
    sections.append(
        (
            "Review",
            [
                (
                    "table",
                    ["", ""],
                    [
                        ["Reviewer", str(review.get("reviewer") or "-")],
                        ["Date", str(review.get("date") or "-")],
                        ["Decision", str(review.get("decision") or "not reviewed")],
                        ["Notes", str(review.get("notes") or "-")],
                    ],
                    None,
                )
            ],
        )
    )
    return sections


def _col_widths(header: list[str]) -> tuple[int, ...]:
    """Relative widths: a trailing free-text column (evidence, statistics, metrics) gets the room."""
    if header[-1] in ("Evidence", "Statistics", "Metrics"):
        return (2,) * (len(header) - 1) + (max(6, 2 * len(header)),)
    return (1,) * len(header)


def _cell_color(text: str, status_column: bool):
    return COLORS.get(text) if status_column else None


def _write_pdf(report: dict, chart: bytes | None, path: Path) -> None:
    import matplotlib
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    # DejaVu ships with matplotlib: a Unicode font (the PDF core fonts are Latin-1 only).
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 10, report["title"], new_x="LMARGIN", new_y="NEXT")
    for heading, blocks in _sections(report):
        if pdf.will_page_break(40):
            pdf.add_page()
        pdf.set_font("DejaVu", "B", 13)
        pdf.ln(3)
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        for block in blocks:
            pdf.set_font("DejaVu", "", 9)
            if block[0] == "text":
                pdf.multi_cell(0, 5, block[1], new_x="LMARGIN", new_y="NEXT")
            elif block[0] == "chart" and chart:
                pdf.image(io.BytesIO(chart), w=min(pdf.epw, 160))
            elif block[0] == "table":
                _, header, rows, status_column = block
                with pdf.table(
                    first_row_as_headings=bool(any(header)),
                    line_height=5,
                    text_align="LEFT",
                    col_widths=_col_widths(header),
                ) as table:
                    if any(header):
                        table.row(header)
                    for row in rows:
                        cells = table.row()
                        for i, text in enumerate(row):
                            color = _cell_color(text, i == status_column)
                            cells.cell(text, style=FontFace(fill_color=color) if color else None)
            pdf.ln(2)
    pdf.output(str(path))


def _html(report: dict, chart: bytes | None) -> str:
    """The same sections as one self-contained page: inline CSS, the chart as a data URI, text escaped."""
    e = html.escape
    parts = [f"<h1>{e(report['title'])}</h1>"]
    for heading, blocks in _sections(report):
        parts.append(f"<h2>{e(heading)}</h2>")
        for block in blocks:
            if block[0] == "text":
                parts.append(f"<p>{e(block[1])}</p>")
            elif block[0] == "chart" and chart:
                data = base64.b64encode(chart).decode("ascii")
                parts.append(f'<img alt="feature importance" src="data:image/png;base64,{data}">')
            elif block[0] == "table":
                _, header, rows, status_column = block
                head = "".join(f"<th>{e(h)}</th>" for h in header) if any(header) else ""
                body = []
                for row in rows:
                    cells = []
                    for i, text in enumerate(row):
                        color = _cell_color(text, i == status_column)
                        style = f' style="background: rgb{color}"' if color else ""
                        cells.append(f"<td{style}>{e(text).replace(chr(10), '<br>')}</td>")
                    body.append(f"<tr>{''.join(cells)}</tr>")
                parts.append(f"<table>{f'<tr>{head}</tr>' if head else ''}{''.join(body)}</table>")
    style = (
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #bbb;padding:.25rem .5rem;"
        "text-align:left;vertical-align:top}th{background:#eee}img{max-width:100%}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(report["title"])}</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
