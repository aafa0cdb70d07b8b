"""The scoring server (backend/runtime/scoring) as a real process: scripts, MLflow models, micro-batching."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.endpoints.conftest import COLUMNS, request, start_scoring

# Its module-scoped fixtures are made once: every test of the module on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_scoring_server")

SCRIPT = """
import json
import os

calls = {"init": 0}


def init():
    calls["init"] += 1
    global model_dir
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    with open(os.path.join(model_dir, "model", "weights.txt")) as f:
        calls["weights"] = f.read()
    with open(os.environ["INIT_LOG"], "a") as f:
        f.write("init\\n")


def run(raw_data):
    if raw_data == "boom":
        raise ValueError("boom from run")
    return {"type": type(raw_data).__name__, "raw": raw_data, "init_calls": calls["init"],
            "model_dir": model_dir, "weights": calls["weights"]}
"""

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture
def script_model(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "azureml-models" / "custom" / "3" / "model"
    model.mkdir(parents=True)
    (model / "weights.txt").write_text("w=1")
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(SCRIPT)
    return model, code


def test_script_init_once_run_gets_raw_string_and_errors_are_500(scoring_server, script_model, tmp_path):
    model, code = script_model
    init_log = tmp_path / "init.log"
    server = scoring_server(
        "--model-dir",
        str(model),
        "--code",
        str(code),
        "--scoring-script",
        "score.py",
        env={"INIT_LOG": str(init_log)},
    )
    body = '{"data": [[1, 2]], "note": "kept as is"}'
    for _ in range(3):
        status, _, answer = request(server.port, "POST", "/score", body)
        assert status == 200
    assert answer["type"] == "str"
    assert answer["raw"] == body
    assert answer["init_calls"] == 1
    # AZUREML_MODEL_DIR is the folder that holds the model folder: <root>/<name>/<version>
    assert answer["model_dir"] == str(model.parent)
    assert answer["weights"] == "w=1"
    assert init_log.read_text() == "init\n"

    status, _, answer = request(server.port, "POST", "/score", "boom")
    assert status == 500
    assert "ValueError: boom from run" in answer["error"]
    status, _, answer = request(server.port, "POST", "/score", "still alive")
    assert (status, answer["raw"]) == (200, "still alive")
    assert server.proc.poll() is None

    assert request(server.port, "GET", "/score")[0] == 405
    assert request(server.port, "GET", "/nowhere")[0] == 404


def test_keep_alive_and_health_is_503_until_init_returns(tmp_path):
    import http.client
    import subprocess
    import sys
    import time

    from tests.endpoints.conftest import REPO, Scoring

    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(
        "import time\n\ndef init():\n    time.sleep(1.5)\n\ndef run(raw):\n    return len(raw)\n"
    )
    (tmp_path / "m").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.runtime.scoring", "--port", "0", "--model-dir", str(tmp_path / "m"),
         "--code", str(code), "--scoring-script", "score.py"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    server = Scoring(proc, json.loads(proc.stdout.readline())["port"])
    try:
        assert request(server.port, "GET", "/health")[0] == 503
        assert request(server.port, "POST", "/score", "x")[0] == 503
        deadline = time.monotonic() + 20
        while request(server.port, "GET", "/health")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for body in ("a", "bb", "ccc"):  # one kept-alive connection
            conn.request("POST", "/score", body=body)
            response = conn.getresponse()
            assert (response.status, json.loads(response.read())) == (200, len(body))
        conn.close()
    finally:
        server.stop()


def test_a_failing_init_ends_the_process(tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(
        "def init():\n    raise RuntimeError('no model')\n\ndef run(raw):\n    return 1\n"
    )
    (tmp_path / "m").mkdir()
    with pytest.raises(RuntimeError, match="no model"):
        start_scoring("--model-dir", str(tmp_path / "m"), "--code", str(code), "--scoring-script", "score.py")


@pytest.fixture(scope="module")
def mlflow_server(iris_model: Path):
    server = start_scoring("--model-dir", str(iris_model), "--max-batch", "64")
    yield server
    server.stop()


SPLIT = {"columns": COLUMNS, "index": [0, 1], "data": ROWS}
FORMATS = {
    "input_data split": {"input_data": SPLIT},
    "input_data rows": {"input_data": ROWS},
    "dataframe_split": {"dataframe_split": SPLIT},
    "dataframe_records": {"dataframe_records": [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]},
    "instances rows": {"instances": ROWS},
    "instances records": {"instances": [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]},
    "inputs columns": {"inputs": {c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}},
    "inputs rows": {"inputs": ROWS},
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_mlflow_model_request_formats(mlflow_server, name):
    status, _, answer = request(mlflow_server.port, "POST", "/score", json.dumps(FORMATS[name]))
    assert (status, answer) == (200, [0, 2])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not JSON"),
        ('{"rows": []}', "expected exactly one of"),
        ('{"dataframe_records": 3}', "dataframe_records"),
        ('{"input_data": [[1.0, 2.0]]}', "does not fit the model"),
    ],
)
def test_mlflow_model_bad_requests_are_400(mlflow_server, body, message):
    status, _, answer = request(mlflow_server.port, "POST", "/score", body)
    assert status == 400
    assert message in answer["error"]


def test_micro_batching_gives_the_same_predictions_as_one_by_one(mlflow_server):
    import random

    rng = random.Random(3)
    bodies = [
        json.dumps({"input_data": [[round(rng.uniform(4, 8), 1), round(rng.uniform(2, 4.5), 1),
                                    round(rng.uniform(1, 7), 1), round(rng.uniform(0.1, 2.5), 1)]
                                   for _ in range(1 + i % 3)]})
        for i in range(24)
    ]  # fmt: skip
    alone = [request(mlflow_server.port, "POST", "/score", body)[2] for body in bodies]
    before = request(mlflow_server.port, "GET", "/health")[2]

    together: list[object] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def send(i: int) -> None:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", mlflow_server.port, timeout=15)
        conn.connect()
        barrier.wait()
        conn.request("POST", "/score", body=bodies[i])
        response = conn.getresponse()
        together[i] = (response.status, json.loads(response.read()))
        conn.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    after = request(mlflow_server.port, "GET", "/health")[2]
    assert together == [(200, answer) for answer in alone]
    assert len({tuple(a) for a in alone}) > 1  # the rows do not all predict the same class
    assert after["requests"] - before["requests"] == len(bodies)
    assert after["predict_calls"] - before["predict_calls"] < len(bodies)  # some requests shared a call


def test_sigterm_lets_the_request_in_progress_finish(scoring_server, tmp_path):
    import time

    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(
        "import time\n\ndef init():\n    pass\n\ndef run(raw):\n    time.sleep(1)\n    return 'done'\n"
    )
    (tmp_path / "m").mkdir()
    server = scoring_server(
        "--model-dir", str(tmp_path / "m"), "--code", str(code), "--scoring-script", "score.py"
    )
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(request(server.port, "POST", "/score", "x")))
    thread.start()
    time.sleep(0.3)
    server.proc.terminate()
    thread.join(10)
    assert answers[0][0] == 200 and answers[0][2] == "done"
    assert server.proc.wait(10) == 0
