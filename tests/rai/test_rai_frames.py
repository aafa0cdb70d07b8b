"""frames: reading tables and models, and JSON-ready outputs."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backend.runtime.rai import frames

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rai"
MODELS = ("logreg", "gbm")


@pytest.mark.parametrize("name", MODELS)
def test_mlflow_models_reproduce_the_stored_predictions(models, name, test_frame, predictions, features):
    predictor = models[name]
    assert predictor.method == "mlflow.sklearn"
    assert predictor.features == features
    assert predictor.classes == [0, 1]
    assert predictor.estimator is not None
    # Extra columns (target, sensitive features) are dropped before the model sees the frame.
    np.testing.assert_array_equal(predictor.predict(test_frame), predictions[f"{name}_pred"].to_numpy())
    proba = predictor.predict_proba(test_frame)
    assert proba.shape == (len(test_frame), 2)
    np.testing.assert_allclose(proba[:, 1], predictions[f"{name}_proba"], atol=1e-12)


def test_joblib_pickle_and_a_folder_holding_it(tmp_path, test_frame, predictions, features):
    pickled = frames.load_model(FIXTURE / "model_logreg.pkl")
    assert (pickled.method, pickled.features, pickled.classes) == ("joblib", features, [0, 1])
    np.testing.assert_array_equal(pickled.predict(test_frame), predictions["logreg_pred"].to_numpy())
    shutil.copy(FIXTURE / "model_logreg.pkl", tmp_path / "model.joblib")
    assert frames.load_model(tmp_path).method == "joblib"


def test_a_folder_with_an_mlflow_model_one_level_down(tmp_path, test_frame, predictions):
    shutil.copytree(FIXTURE / "model_gbm", tmp_path / "model")
    predictor = frames.load_model(tmp_path)
    np.testing.assert_array_equal(predictor.predict(test_frame.head(50)), predictions["gbm_pred"][:50])


def test_pyfunc_only_models_still_give_probabilities(tmp_path, test_frame, predictions):
    """A model without the sklearn flavor goes through mlflow.pyfunc; the raw model keeps predict_proba."""
    folder = tmp_path / "model"
    shutil.copytree(FIXTURE / "model_logreg", folder)
    mlmodel = (folder / "MLmodel").read_text()
    (folder / "MLmodel").write_text(
        mlmodel[: mlmodel.index("  sklearn:")] + mlmodel[mlmodel.index("is_signature") :]
    )
    predictor = frames.load_model(folder)
    assert predictor.method == "mlflow.pyfunc"
    np.testing.assert_array_equal(predictor.predict(test_frame.head(20)), predictions["logreg_pred"][:20])
    np.testing.assert_allclose(
        predictor.predict_proba(test_frame.head(20))[:, 1], predictions["logreg_proba"][:20]
    )


def test_model_not_found_names_the_path(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path)):
        frames.load_model(tmp_path)
    (tmp_path / "a.pkl").write_bytes(b"")
    (tmp_path / "b.pkl").write_bytes(b"")
    with pytest.raises(ValueError, match="more than one model"):
        frames.load_model(tmp_path)


def test_read_table_formats(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    df.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    for name in ("t.csv", "t.parquet", "t.jsonl"):
        pd.testing.assert_frame_equal(frames.read_table(tmp_path / name), df, check_dtype=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    df.iloc[2:].to_csv(parts / "2.csv", index=False)
    df.iloc[:2].to_parquet(parts / "1.parquet")
    assert frames.read_table(parts)["a"].tolist() == [1, 2, 3]


def test_read_table_mltable_folder_uses_mltable(tmp_path, monkeypatch):
    (tmp_path / "MLTable").write_text("paths: []\n")
    fake = types.SimpleNamespace(
        load=lambda folder: types.SimpleNamespace(
            to_pandas_dataframe=lambda: pd.DataFrame({"folder": [folder]})
        )
    )
    monkeypatch.setitem(sys.modules, "mltable", fake)
    assert frames.read_table(tmp_path)["folder"].tolist() == [str(tmp_path)]


def test_read_table_nothing_readable(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=f"{tmp_path}: no readable table"):
        frames.read_table(tmp_path)


def test_jsonable_is_plain_json():
    out = frames.jsonable(
        {
            1: np.float64("nan"),
            "a": np.array([1, 2], dtype=np.int64),
            "b": pd.Series([np.inf, 0.5]),
            "c": (np.bool_(True), pd.NA, np.str_("s")),
        }
    )
    assert out == {"1": None, "a": [1, 2], "b": [None, 0.5], "c": [True, None, "s"]}
    assert type(out["a"][0]) is int
    json.dumps(out, allow_nan=False)
