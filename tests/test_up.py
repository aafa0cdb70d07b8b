import socket
import subprocess
import sys

import psutil
import requests

from tests.conftest import REPO, RunningStudio


def _studio(home, *argv) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *argv],
        capture_output=True,
        text=True,
        env={"STUDIO_HOME": str(home), "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        timeout=120,
    )


def test_up_serves_mlflow_refuses_a_second_up_and_stops_everything(tmp_path):
    home = tmp_path / "home"
    studio = RunningStudio(home, "--headless")
    try:
        info = studio.wait_ready()
        assert requests.get(f"{info['mlflow_uri']}/health", timeout=5).ok
        assert requests.get(
            f"{info['mlflow_uri']}/api/2.0/mlflow/experiments/search?max_results=1", timeout=5
        ).ok
        children = psutil.Process(studio.proc.pid).children(recursive=True)
        assert children, "studio up started no processes"

        second = _studio(home, "up", "--headless", "--mlflow-port", "0")
        assert second.returncode == 1
        assert "already running" in second.stderr and "Traceback" not in second.stderr
    finally:
        code = studio.stop()
    assert code == 0, studio.output()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not (home / "run" / "up.json").exists()


def test_a_port_in_use_is_a_clear_error_and_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _studio(tmp_path / "home", "up", "--headless", "--mlflow-port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use (--mlflow-port / STUDIO_MLFLOW_PORT); "
        "choose another port, or 0 for any free one"
    )
    assert not (tmp_path / "home" / "logs" / "mlflow.log").exists()


def test_a_host_studio_cannot_listen_on_is_one_clear_error_and_starts_nothing(tmp_path):
    result = _studio(tmp_path / "home", "up", "--headless", "--host", "192.0.2.1")  # TEST-NET: not ours
    assert result.returncode == 1
    assert result.stderr.startswith("error: --host / STUDIO_HOST: cannot listen on '192.0.2.1' (")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "logs").exists()
    assert not (tmp_path / "home" / "run" / "up.lock").exists()


def test_a_host_off_loopback_warns_before_anything_else(tmp_path):
    with socket.socket() as taken:  # stop right after the warning: the MLflow port is taken
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _studio(
            tmp_path / "home", "up", "--headless", "--host", "0.0.0.0", "--mlflow-port", str(port)
        )
    assert result.returncode == 1
    first, second = result.stderr.strip().splitlines()
    assert first.startswith(
        "warning: Studio listens on 0.0.0.0: anyone who can reach this machine can use it"
    )
    assert second == (
        f"error: port {port} on 0.0.0.0 is in use (--mlflow-port / STUDIO_MLFLOW_PORT); "
        "choose another port, or 0 for any free one"
    )
