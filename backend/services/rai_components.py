"""The cloud's Responsible AI components, built in: ``azureml://registries/azureml/components/<name>/...``.

A cloud RAI pipeline names registry components (``rai_tabular_insight_constructor``, ``..._explanation``,
``..._causal``, ``..._counterfactual``, ``..._erroranalysis``, ``..._insight_gather``, ``..._score_card``)
at some version or label. Studio answers every version with the interface documented for them, run by
``python -m rai component <name>`` (``backend/runtime/rai/components.py``) in the curated environment.
"""

from __future__ import annotations

import re
from typing import Any

from backend.services.rai import ENVIRONMENT

REGISTRY_COMPONENT = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/components/(?P<name>[^/]+)(?:/(?:versions|labels)/(?P<version>[^/]+))?/?$"
)
VERSION = "0.18.0"


def _s(default: Any = None, optional: bool = False) -> dict[str, Any]:
    port: dict[str, Any] = {"type": "string", "optional": optional}
    if default is not None:
        port["default"] = default
    return port


def _i(default: int) -> dict[str, Any]:
    return {"type": "integer", "default": default, "optional": True}


def _b(default: bool) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "optional": True}


DASHBOARD = {"rai_insights_dashboard": {"type": "uri_folder"}}
INTERFACES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "rai_tabular_insight_constructor": (
        {
            "title": _s("", optional=True),
            "task_type": {"type": "string", "enum": ["classification", "regression"]},
            "model_info_path": {"type": "uri_folder", "optional": True},
            "model_input": {"type": "mlflow_model", "optional": True},
            "model_info": _s(optional=True),
            "train_dataset": {"type": "mltable"},
            "test_dataset": {"type": "mltable"},
            "target_column_name": _s(),
            "maximum_rows_for_test_dataset": _i(5000),
            "categorical_column_names": _s("[]", optional=True),
            "classes": _s("[]", optional=True),
            "feature_metadata": _s("{}", optional=True),
            "use_model_dependency": _b(False),
            "use_conda": _b(False),
        },
        {"rai_insights_dashboard": {"type": "uri_folder"}, "ux_json": {"type": "uri_folder"}},
    ),
    "rai_tabular_explanation": (
        {"comment": _s("", optional=True), **DASHBOARD},
        {"explanation": {"type": "uri_folder"}},
    ),
    "rai_tabular_causal": (
        {
            **DASHBOARD,
            "treatment_features": _s(),
            "heterogeneity_features": _s("[]", optional=True),
            "nuisance_model": {"type": "string", "default": "linear", "optional": True},
            "heterogeneity_model": _s("linear", optional=True),
            "alpha": {"type": "number", "default": 0.05, "optional": True},
            "upper_bound_on_cat_expansion": _i(50),
            "treatment_cost": _s("0", optional=True),
            "min_tree_leaf_samples": _i(2),
            "max_tree_depth": _i(2),
            "skip_cat_limit_checks": _b(False),
            "categories": _s("auto", optional=True),
            "n_jobs": _i(1),
            "verbose": _i(1),
            "random_state": _s("None", optional=True),
        },
        {"causal": {"type": "uri_folder"}},
    ),
    "rai_tabular_counterfactual": (
        {
            **DASHBOARD,
            "total_CFs": _i(10),
            "method": _s("random", optional=True),
            "desired_class": _s("None", optional=True),
            "desired_range": _s("[]", optional=True),
            "permitted_range": _s("{}", optional=True),
            "features_to_vary": _s("all", optional=True),
            "feature_importance": _b(True),
        },
        {"counterfactual": {"type": "uri_folder"}},
    ),
    "rai_tabular_erroranalysis": (
        {
            **DASHBOARD,
            "max_depth": _i(3),
            "num_leaves": _i(31),
            "min_child_samples": _i(20),
            "filter_features": _s("[]", optional=True),
        },
        {"error_analysis": {"type": "uri_folder"}},
    ),
    "rai_tabular_insight_gather": (
        {
            "constructor": {"type": "uri_folder"},
            **{f"insight_{i}": {"type": "uri_folder", "optional": True} for i in range(1, 5)},
        },
        {"dashboard": {"type": "uri_folder"}, "ux_json": {"type": "uri_folder"}},
    ),
    "rai_tabular_score_card": (
        {
            "dashboard": {"type": "uri_folder"},
            "pdf_generation_config": {"type": "uri_file"},
            "predefined_cohorts_json": {"type": "uri_file", "optional": True},
        },
        {"scorecard": {"type": "uri_folder"}},
    ),
}


def builtin_name(reference: Any) -> tuple[str, str] | None:
    """``(name, version)`` when ``reference`` names one of the built-in RAI registry components."""
    if not isinstance(reference, str):
        return None
    found = REGISTRY_COMPONENT.match(reference.strip())
    if not found:
        return None
    name = found["name"].removeprefix("microsoft_azureml_")
    return (name, found["version"] or VERSION) if name in INTERFACES else None


def component_spec(name: str, version: str) -> dict[str, Any]:
    """The component's YAML, as the cloud documents its interface."""
    inputs, outputs = INTERFACES[name]
    return {
        "$schema": "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json",
        "name": name,
        "version": version if re.fullmatch(r"[0-9A-Za-z._-]+", version) else VERSION,
        "display_name": name.replace("_", " ").replace("rai tabular", "RAI"),
        "type": "command",
        "description": f"Studio's built-in {name} (the cloud's registry component, same inputs and outputs)",
        "inputs": inputs,
        "outputs": outputs,
        "environment": ENVIRONMENT,
        "command": f"python -m rai component {name}",
        "is_deterministic": True,
    }
