"""The endpoint router (backend/agent/router.py) in front of real scoring server processes."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import pytest

from backend.agent.router import DeploymentConfig, EndpointConfig, RouterConfig, serve_in_thread
from tests.endpoints.conftest import request

# A deployment that says who it is; {"sleep": s} makes it slow; MIRROR_LOG records every request it gets.
SCRIPT = """
import itertools
import json
import os
import time


def init():
    pass


def run(raw_data):
    body = json.loads(raw_data or "{}")
    time.sleep(float(body.get("sleep", 0)) + float(os.environ.get("SLEEP", "0")))
    if os.environ.get("MIRROR_LOG"):
        with open(os.environ["MIRROR_LOG"], "a") as f:
            f.write(raw_data + "\\n")
    return {"deployment": os.environ["DEPLOYMENT"], "pid": os.getpid(), "echo": body.get("n")}
"""
PRIMARY, SECONDARY = "primary-key-0123456789", "secondary-key-9876543210"
PATH = "/endpoints/ep/score"


@pytest.fixture
def deploy(scoring_server, tmp_path: Path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text(SCRIPT)
    (tmp_path / "model").mkdir()

    def start(
        name: str, *, instances: int = 1, env: dict[str, str] | None = None, **settings
    ) -> DeploymentConfig:
        servers = [
            scoring_server(
                "--model-dir", str(tmp_path / "model"), "--code", str(code), "--scoring-script", "score.py",
                env={"DEPLOYMENT": name, **(env or {})},
            )
            for _ in range(instances)
        ]  # fmt: skip
        return DeploymentConfig(
            name=name, instances=tuple(("127.0.0.1", s.port) for s in servers), **settings
        )

    return start


@pytest.fixture
def router():
    started = []

    def start(config: RouterConfig):
        started.append(serve_in_thread(config))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def endpoint(*deployments: DeploymentConfig, **fields) -> RouterConfig:
    fields.setdefault("primary_key", PRIMARY)
    fields.setdefault("secondary_key", SECONDARY)
    fields.setdefault("traffic", {deployments[0].name: 100})
    return RouterConfig(
        {"ep": EndpointConfig(name="ep", deployments={d.name: d for d in deployments}, **fields)}
    )


def score(port: int, body: object = None, key: str | None = PRIMARY, **headers: str):
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return request(
        port, "POST", PATH, json.dumps(body or {}), {k.replace("_", "-"): v for k, v in headers.items()}
    )


def test_keys_401_without_or_with_a_wrong_key_and_both_keys_work(deploy, router):
    config = endpoint(deploy("blue"))
    assert PRIMARY not in repr(config) and SECONDARY not in repr(config)
    running = router(config)
    assert score(running.port, key=None)[0] == 401
    assert score(running.port, key="wrong")[0] == 401
    assert request(running.port, "POST", PATH, "{}", {"Authorization": PRIMARY})[0] == 401  # no Bearer
    for key in (PRIMARY, SECONDARY):
        status, headers, answer = score(running.port, key=key)
        assert (status, answer["deployment"], headers["azureml-model-deployment"]) == (200, "blue", "blue")
    assert request(running.port, "POST", "/endpoints/other/score", "{}")[0] == 404


def test_aml_token_works_for_its_endpoint_and_expires(deploy, router):
    running = router(endpoint(deploy("blue"), auth_mode="aml_token"))
    token, expires = running.issue_token("ep", ttl_s=1.5)
    assert expires > time.time()
    assert score(running.port, key=token)[0] == 200
    assert score(running.port, key=PRIMARY)[0] == 401  # keys do not open an aml_token endpoint
    assert score(running.port, key=running.issue_token("other")[0])[0] == 401
    payload, signature = token.split(".")
    assert score(running.port, key=f"{payload}.{signature[:-2]}xx")[0] == 401
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    assert score(running.port, key=token)[0] == 401


def test_traffic_split_roughly_honours_percents_and_round_robin(deploy, router):
    blue, green = deploy("blue", instances=2), deploy("green")
    running = router(endpoint(blue, green, traffic={"blue": 70, "green": 30}))
    seen = {"blue": 0, "green": 0}
    blue_pids = []
    for _ in range(200):
        status, headers, answer = score(running.port)
        assert status == 200
        seen[answer["deployment"]] += 1
        assert headers["azureml-model-deployment"] == answer["deployment"]
        if answer["deployment"] == "blue":
            blue_pids.append(answer["pid"])
    assert 110 <= seen["blue"] <= 170, seen
    # round robin over blue's two instances: consecutive blue requests alternate
    assert len(set(blue_pids)) == 2
    assert all(a != b for a, b in itertools.pairwise(blue_pids))
    metrics = running.metrics()["ep"]
    assert metrics["blue"]["requests"] == seen["blue"] and metrics["green"]["requests"] == seen["green"]
    assert metrics["blue"]["errors"] == 0 and metrics["blue"]["p50_ms"] <= metrics["blue"]["p99_ms"]


def test_header_targets_one_deployment(deploy, router):
    running = router(endpoint(deploy("blue"), deploy("green"), traffic={"blue": 100, "green": 0}))
    for _ in range(5):
        status, _, answer = score(running.port, azureml_model_deployment="green")
        assert (status, answer["deployment"]) == (200, "green")
    assert score(running.port, azureml_model_deployment="purple")[0] == 404


def test_mirror_copies_a_share_and_discards_the_answers(deploy, router, tmp_path):
    log = tmp_path / "mirror.log"
    green = deploy(
        "green", env={"MIRROR_LOG": str(log), "SLEEP": "0.3"}, max_concurrent_requests_per_instance=100
    )
    running = router(endpoint(deploy("blue"), green, mirror_traffic={"green": 50}))
    for n in range(16):
        started = time.monotonic()
        status, headers, answer = score(running.port, {"n": n})
        assert (status, answer["deployment"], headers["azureml-model-deployment"]) == (200, "blue", "blue")
        assert time.monotonic() - started < 0.45  # never waits for the slow mirror
    mirrored = running.metrics()["ep"]["green"]["mirrored"]
    assert 1 <= mirrored <= 15
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < mirrored):
        time.sleep(0.1)
    copies = [json.loads(line)["n"] for line in log.read_text().splitlines()]
    assert len(copies) == mirrored and set(copies) <= set(range(16))


def test_408_past_request_timeout(deploy, router):
    running = router(endpoint(deploy("blue", request_timeout_ms=300)))
    started = time.monotonic()
    status, _, answer = score(running.port, {"sleep": 1.5})
    assert status == 408 and "300 ms" in answer["error"]
    assert time.monotonic() - started < 1.2
    assert running.metrics()["ep"]["blue"]["errors"] == 1


def test_429_past_the_concurrency_limit(deploy, router):
    running = router(endpoint(deploy("blue", max_concurrent_requests_per_instance=1)))
    slow: list = []
    thread = threading.Thread(target=lambda: slow.append(score(running.port, {"sleep": 1.0})))
    thread.start()
    deadline = time.monotonic() + 5
    while running.metrics()["ep"]["blue"]["in_flight"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    status, _, answer = score(running.port)
    assert status == 429 and "limit of 1" in answer["error"]
    thread.join(10)
    assert slow[0][0] == 200
    assert score(running.port)[0] == 200  # a free slot again


def test_update_under_a_stream_of_requests_loses_none(deploy, router):
    blue, green = (
        deploy("blue", max_concurrent_requests_per_instance=50),
        deploy("green", max_concurrent_requests_per_instance=50),
    )
    configs = [
        endpoint(blue, green, traffic={"blue": 100}),
        endpoint(blue, green, traffic={"green": 100}),
        endpoint(blue, green, traffic={"blue": 50, "green": 50}),
    ]
    running = router(configs[0])
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            status, _, answer = score(running.port)
            results.append((status, answer.get("deployment", "") if isinstance(answer, dict) else ""))

    # a slow request in flight while its deployment leaves the configuration still gets its answer
    slow: list = []
    slow_thread = threading.Thread(target=lambda: slow.append(score(running.port, {"sleep": 0.6})))
    slow_thread.start()
    clients = [threading.Thread(target=client) for _ in range(4)]
    for thread in clients:
        thread.start()
    time.sleep(0.1)
    running.update(endpoint(green, traffic={"green": 100}))
    # at least 30 updates, and at least 30 answers among them (a loaded machine answers fewer a second)
    deadline = time.monotonic() + 30
    i = 0
    while i < 30 or (len(results) <= 30 and time.monotonic() < deadline):
        running.update(configs[i % 3])
        time.sleep(0.02)
        i += 1
    stop.set()
    for thread in [*clients, slow_thread]:
        thread.join(15)
    assert len(results) > 30
    assert all(status == 200 for status, _ in results), [r for r in results if r[0] != 200][:5]
    assert {name for _, name in results} == {"blue", "green"}
    assert slow[0][0] == 200 and slow[0][2]["deployment"] == "blue"
    # counters of deployments that stay in the configuration are kept across an update
    before = running.metrics()["ep"]
    running.update(configs[1])
    after = running.metrics()["ep"]
    assert before == after and after["green"]["requests"] > 0


def test_unreachable_instance_is_502(router):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    running = router(endpoint(DeploymentConfig(name="blue", instances=(("127.0.0.1", port),))))
    status, _, answer = score(running.port)
    assert status == 502 and "could not be reached" in answer["error"]
    assert running.metrics()["ep"]["blue"]["errors"] == 1


def test_router_process_reloads_its_config_file_on_sighup(deploy, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.endpoints.conftest import REPO

    blue, green = deploy("blue"), deploy("green")

    def write(traffic: dict[str, int]) -> None:
        deployments = {d.name: {"instances": [list(i) for i in d.instances]} for d in (blue, green)}
        config = {
            "endpoints": {"ep": {"primary_key": PRIMARY, "traffic": traffic, "deployments": deployments}}
        }
        path.write_text(json.dumps(config))

    path = tmp_path / "router.json"
    write({"blue": 100})
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.agent.router", "--port", "0", "--config", str(path)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = json.loads(proc.stdout.readline())["port"]
        assert score(port)[2]["deployment"] == "blue"
        write({"green": 100})
        proc.send_signal(signal.SIGHUP)
        assert json.loads(proc.stdout.readline()) == {"event": "reloaded"}
        assert score(port)[2]["deployment"] == "green"
        path.write_text("{not json")
        proc.send_signal(signal.SIGHUP)
        assert json.loads(proc.stdout.readline())["event"] == "reload-failed"
        assert score(port)[2]["deployment"] == "green"
        assert score(port, key="wrong")[0] == 401
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        output = proc.stdout.read()
        proc.stdout.close()
    assert PRIMARY not in output  # keys never reach the router's output
