"""The loan-approval fixture (tests/fixtures/rai): frames, reference numbers and the saved models.

Loaded once per test session (per xdist worker): reading the models imports MLflow, about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from backend.runtime.rai import frames

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
MODELS = ("logreg", "gbm")


@pytest.fixture(scope="session")
def reference() -> dict:
    return json.loads((FIXTURE / "reference.json").read_text())


@pytest.fixture(scope="session")
def test_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "test.csv")


@pytest.fixture(scope="session")
def predictions() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "predictions_test.csv")


@pytest.fixture(scope="session")
def features(reference: dict) -> list[str]:
    return reference["data"]["features"]


@pytest.fixture(scope="session")
def models() -> dict[str, frames.Predictor]:
    return {name: frames.load_model(FIXTURE / f"model_{name}") for name in MODELS}
