"""Tracking speed: unchanged MLflow user code against a stock ``mlflow server`` and Studio's, side by side.

    .venv/bin/python bench/tracking.py [--calls 500] [--batches 20] [--rounds 3] [--points 100000]

Starts, on temporary folders and free loopback ports, three tracking servers with the same kind of
store (SQLite database, artifact folder):

- ``stock``: ``mlflow server`` as it comes (uvicorn, its default 4 workers);
- ``studio before``: the command ``studio up`` ran before (gunicorn ``--workers 2 --threads 4``, SQLite's
  default rollback journal, MLflow's ORM metric path);
- ``studio``: ``studio.tracking_server.command`` (what ``studio up`` and the tests run now), with the
  client started the way a job's interpreter starts (the runtime's start-up hooks, which spare MLflow's
  client its repeated Databricks probes, and ``no_proxy`` naming the tracking host).

A separate process per measurement runs unchanged user code (``import mlflow; mlflow.set_tracking_uri
(uri); with mlflow.start_run(): for i in range(N): mlflow.log_metric("m", i, step=i)``), then logs
``--batches`` batches of 1,000 metrics with ``MlflowClient.log_batch``. Servers are measured in turns,
``--rounds`` times; the table gives the median of the rounds and the ratio to stock, measured in the
same run. Then it charts a ``--points`` metric history through the service layer against Studio's
server (``backend.services.runs.metric_chart`` and the page's Plotly figure) and times it.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from studio import tracking_server  # noqa: E402

READY_TIMEOUT_S = 120

# The user code, unchanged: what a training script does. Prints one JSON line of rates.
CLIENT = r"""
import json, sys, time
import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

uri, calls, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("bench-tracking")
with mlflow.start_run() as run:
    mlflow.log_metric("warm", 0, step=0)  # the first request opens the connection
    start = time.perf_counter()
    for i in range(calls):
        mlflow.log_metric("m", i, step=i)
    metric_s = time.perf_counter() - start
    client, now = MlflowClient(), int(time.time() * 1000)
    start = time.perf_counter()
    for b in range(batches):
        client.log_batch(run.info.run_id, metrics=[Metric("b", float(i), now, b * 1000 + i) for i in range(1000)])
    batch_s = time.perf_counter() - start
history = MlflowClient().get_metric_history(run.info.run_id, "m")
print(json.dumps({"log_metric_per_s": calls / metric_s, "log_batch_metrics_per_s": batches * 1000 / batch_s,
                  "stored": len(history)}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_argv(kind: str, home: Path, port: int) -> list[str]:
    store, artifacts = home / "mlflow.db", home / "mlartifacts"
    if kind == "studio":
        return tracking_server.command(host="127.0.0.1", port=port, store=store, artifacts=artifacts)
    argv = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{store}", "--artifacts-destination", str(artifacts),
    ]  # fmt: skip
    if kind == "studio before":
        argv += ["--workers", "2", "--gunicorn-opts", "--threads 4 --timeout 120"]
    return argv


class Server:
    def __init__(self, kind: str, root: Path):
        self.kind = kind
        self.home = root / kind.replace(" ", "-")
        self.home.mkdir(parents=True)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = open(self.home / "server.log", "wb")  # noqa: SIM115  (the server writes while it lives)
        env = tracking_server.environment()
        self.proc = subprocess.Popen(
            server_argv(kind, self.home, self.port),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def wait(self) -> None:
        import requests

        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"{self.kind} server exited:\n{(self.home / 'server.log').read_text()[-3000:]}"
                )
            try:
                if requests.get(f"{self.uri}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit(f"{self.kind} server did not answer within {READY_TIMEOUT_S}s")

    def stop(self) -> None:
        for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait_s)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()


# How a job's interpreter starts in Studio: its layer's .pth line imports the runtime's start-up hooks
# (with the job's MLFLOW_RUN_ID set), and its environment names the tracking host in no_proxy.
JOB_START = "import os; os.environ['MLFLOW_RUN_ID'] = 'job'; import studio_job_hooks; del os.environ['MLFLOW_RUN_ID']\n"


def measure(server: Server, calls: int, batches: int) -> dict:
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
    code = CLIENT
    if server.kind == "studio":  # the user code runs as a Studio job: started as a job's interpreter is
        from backend.agent.runner import _bypass_proxy

        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "backend" / "runtime"), env.get("PYTHONPATH", "")])
        _bypass_proxy(env, server.uri)
        code = JOB_START + CLIENT
    out = subprocess.run(
        [sys.executable, "-c", code, server.uri, str(calls), str(batches)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"client against {server.kind} failed:\n{out.stderr[-3000:]}")
    found = json.loads(lines[-1])
    if found["stored"] != calls:
        raise SystemExit(f"{server.kind} stored {found['stored']} of {calls} metrics")
    return found


def chart_timing(uri: str, points: int) -> dict:
    """Seed one run with a ``points`` history, then time what the job page does with it."""
    os.environ["STUDIO_MLFLOW_URI"] = uri
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from backend.services import runs
    from studio.ui import charts

    client = MlflowClient(uri)
    exp = client.create_experiment(f"bench-chart-{time.time_ns()}")
    run_id = client.create_run(exp).info.run_id
    now = int(time.time() * 1000)
    start = time.perf_counter()
    for b in range(0, points, 1000):
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1.0 / (1 + i) + (i % 7) * 1e-4, now + i, i) for i in range(b, b + 1000)],
        )
    seed_s = time.perf_counter() - start
    client.set_terminated(run_id)
    runs.clear_cache()
    start = time.perf_counter()
    chart = runs.metric_chart(run_id=run_id, key="loss")
    service_s = time.perf_counter() - start
    curve = charts.Curve(label="run", steps=chart.steps, timestamps=chart.timestamps, values=chart.values)
    fig = charts.metric_curves([curve], title="loss", x="step", smoothing=0.0, log_y=False, height=320)
    fig.to_json()  # what Streamlit sends to the browser
    chart_s = time.perf_counter() - start
    runs.clear_cache()
    start = time.perf_counter()
    csv = runs.metric_history_csv(run_id=run_id, key="loss")
    csv_s = time.perf_counter() - start
    return {
        "points": points,
        "seed_s": seed_s,
        "shown": len(chart.values),
        "total": chart.total,
        "service_s": service_s,
        "chart_s": chart_s,
        "csv_rows": csv.count(b"\n") - 1,
        "csv_s": csv_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="synchronous log_metric calls per measurement")
    parser.add_argument("--batches", type=int, default=20, help="log_batch calls of 1,000 metrics")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--points", type=int, default=100_000, help="metric history to chart (0: skip)")
    parser.add_argument("--kinds", default="stock,studio before,studio")
    args = parser.parse_args()

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="studio-bench-tracking-") as tmp:
        servers = [Server(kind, Path(tmp)) for kind in kinds]
        try:
            for server in servers:
                server.wait()
            for r in range(args.rounds):
                for server in servers if r % 2 == 0 else reversed(servers):
                    results[server.kind].append(measure(server, args.calls, args.batches))
                    print(f"round {r + 1} {server.kind:>14}: {results[server.kind][-1]}", flush=True)
            chart = None
            if args.points and "studio" in kinds:
                chart = chart_timing(next(s for s in servers if s.kind == "studio").uri, args.points)
        finally:
            for server in servers:
                server.stop()

    def med(kind: str, field: str) -> float:
        return statistics.median(r[field] for r in results[kind])

    print(f"\n{args.calls} synchronous log_metric calls, {args.batches} log_batch calls of 1,000 metrics; "
          f"median of {args.rounds} rounds, servers measured in turns")  # fmt: skip
    print(f"{'server':<16}{'log_metric/s':>14}{'x stock':>9}{'log_batch metrics/s':>22}{'x stock':>9}")
    base = "stock" if "stock" in kinds else kinds[0]
    for kind in kinds:
        lm, lb = med(kind, "log_metric_per_s"), med(kind, "log_batch_metrics_per_s")
        print(
            f"{kind:<16}{lm:>14.0f}{lm / med(base, 'log_metric_per_s'):>9.2f}"
            f"{lb:>22.0f}{lb / med(base, 'log_batch_metrics_per_s'):>9.2f}"
        )
    if chart:
        print(
            f"\nmetric history of {chart['points']:,} points (seeded in {chart['seed_s']:.1f}s): "
            f"chart data {chart['service_s']:.3f}s (service, {chart['shown']:,} of {chart['total']:,} points "
            f"shown), chart built {chart['chart_s']:.3f}s (service + Plotly figure as JSON); "
            f"CSV download {chart['csv_s']:.3f}s ({chart['csv_rows']:,} rows)"
        )


if __name__ == "__main__":
    main()
