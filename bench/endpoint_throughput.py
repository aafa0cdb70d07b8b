"""Online scoring throughput: `mlflow models serve` next to Studio's scoring server behind its router.

    .venv/bin/python bench/endpoint_throughput.py [--seconds 10] [--instances 1] [--max-batch 64]

Trains a small scikit-learn model (logistic regression on iris), saves it as an MLflow model, then serves
it twice, one after the other, on loopback:

- MLflow: ``mlflow models serve -m <model> --env-manager local`` (uvicorn, its default single worker),
  ``POST /invocations``;
- Studio: ``python -m backend.runtime.scoring`` (``--instances`` processes, micro-batching on) behind
  ``python -m backend.agent.router`` (key auth, one deployment at 100 % traffic),
  ``POST /endpoints/bench/score`` with ``Authorization: Bearer <key>``.

The same client (this process: asyncio, kept-alive connections, one request in flight per connection)
sends the same one-row ``dataframe_split`` body to each for ``--seconds`` at 1 and at 8 connections,
and every answer is checked (status 200, one prediction). Printed: requests/s, p50 and p99 latency (ms,
nearest rank) per server and connection count, and the Studio/MLflow ratios (throughput: higher is
better; p99: lower is better). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.runtime.scoring import http  # noqa: E402

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
BODY = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}}).encode()
KEY = "bench-key-" + os.urandom(8).hex()
START_TIMEOUT_S = 180

TRAIN = """
import sys
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(X, y)
mlflow.sklearn.save_model(
    model, sys.argv[1], signature=infer_signature(X, model.predict(X)), pip_requirements=["mlflow", "scikit-learn"]
)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{proc.args} ended:\n{log.read_text(errors='replace')[-3000:]}")
        if http.healthy(url):
            return
        time.sleep(0.2)
    sys.exit(f"{url} did not answer in {START_TIMEOUT_S} s")


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def connection(
    port: int, path: str, headers: dict[str, str], until: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    message = http.encode_request("POST", path, BODY, {"Content-Type": "application/json", **headers})
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(message)
            response = await http.read_response(reader)
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or len(json.loads(response.body)) != 1:
                raise RuntimeError(f"unexpected answer {response.status}: {response.body[:200]!r}")
    finally:
        writer.close()


async def load(port: int, path: str, headers: dict[str, str], connections: int, seconds: float) -> dict:
    # a short warm-up, not counted
    await asyncio.gather(
        *(connection(port, path, headers, time.perf_counter() + 0.5, []) for _ in range(connections))
    )
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(connection(port, path, headers, until, latencies) for _ in range(connections)))
    wall = time.perf_counter() - started
    return {
        "rps": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "n": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per server and connection count")
    parser.add_argument("--instances", type=int, default=1, help="Studio scoring server processes")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--connections", default="1,8")
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    python = sys.executable
    mlflow_cli = str(Path(python).with_name("mlflow"))
    results: dict[str, dict[int, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="studio-bench-endpoint-") as tmp_name:
        tmp = Path(tmp_name)
        model = tmp / "azureml-models" / "iris" / "1" / "model"
        print("training and saving the model ...", flush=True)
        subprocess.run([python, "-c", TRAIN, str(model)], check=True, cwd=tmp)

        port = free_port()
        print(f"MLflow: mlflow models serve on port {port} ...", flush=True)
        # mlflow starts `uvicorn` by name: the venv's bin folder goes first on PATH
        path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": f"file://{tmp}/mlruns"}
        proc = start(
            [
                mlflow_cli,
                "models",
                "serve",
                "-m",
                str(model),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            tmp / "mlflow.log",
            env,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/ping", proc, tmp / "mlflow.log")
            results["MLflow"] = {
                c: asyncio.run(load(port, "/invocations", {}, c, args.seconds)) for c in counts
            }
        finally:
            stop(proc)

        procs = []
        try:
            ports = []
            for i in range(args.instances):
                p = free_port()
                log = tmp / f"scoring-{i}.log"
                procs.append(
                    start(
                        [python, "-m", "backend.runtime.scoring", "--port", str(p), "--model-dir", str(model),
                         "--max-batch", str(args.max_batch)],
                        log,
                    )
                )  # fmt: skip
                ports.append((p, procs[-1], log))
            for p, proc, log in ports:
                wait_http(f"http://127.0.0.1:{p}/health", proc, log)
            config = {
                "endpoints": {
                    "bench": {
                        "auth_mode": "key",
                        "primary_key": KEY,
                        "traffic": {"blue": 100},
                        "deployments": {
                            "blue": {
                                "instances": [p for p, _, _ in ports],
                                "request_timeout_ms": 5000,
                                "max_concurrent_requests_per_instance": 64,
                            }
                        },
                    }
                }
            }
            (tmp / "router.json").write_text(json.dumps(config))
            router_port = free_port()
            router = start(
                [
                    python,
                    "-m",
                    "backend.agent.router",
                    "--port",
                    str(router_port),
                    "--config",
                    str(tmp / "router.json"),
                ],
                tmp / "router.log",
            )
            procs.append(router)
            wait_http(f"http://127.0.0.1:{router_port}/health", router, tmp / "router.log")
            print(f"Studio: router on port {router_port}, {args.instances} scoring server(s) ...", flush=True)
            results["Studio"] = {
                c: asyncio.run(
                    load(
                        router_port,
                        "/endpoints/bench/score",
                        {"Authorization": f"Bearer {KEY}"},
                        c,
                        args.seconds,
                    )
                )
                for c in counts
            }
        finally:
            for proc in procs:
                stop(proc)

    print(
        f"\niris logistic regression, one-row requests, {args.seconds:g} s per row; Studio = router + "
        f"{args.instances} scoring server(s), max batch {args.max_batch}\n"
    )
    print(f"{'server':<8} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}")
    for name, by_count in results.items():
        for c, r in by_count.items():
            print(f"{name:<8} {c:>5} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['n']:>9}")
    print()
    for c in counts:
        s, m = results["Studio"][c], results["MLflow"][c]
        print(
            f"{c} connection(s): throughput Studio/MLflow {s['rps'] / m['rps']:.2f}x, "
            f"p50 {s['p50'] / m['p50']:.2f}x, p99 {s['p99'] / m['p99']:.2f}x (below 1: Studio faster)"
        )


if __name__ == "__main__":
    main()
