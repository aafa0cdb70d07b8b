"""Every server Studio starts listens on loopback unless told otherwise; ``--host 0.0.0.0`` warns.

The listening sockets are read from the kernel (psutil) for ``studio up``'s whole process tree: the MLflow
server and its workers, the Streamlit UI, the agent's endpoint router and the scoring servers of an online
deployment.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import psutil

from backend.services import endpoints, open_session
from tests.conftest import RunningStudio

LOOPBACK = ("127.0.0.1", "::1")


def _listeners(root: int) -> list[tuple[str, int, str]]:
    """(address, port, program) of every listening TCP socket of ``root`` and its descendants."""
    top = psutil.Process(root)
    found = set()
    for proc in [top, *top.children(recursive=True)]:
        try:
            argv = " ".join(proc.cmdline())
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port, argv))
        except psutil.Error:  # ended meanwhile
            continue
    return sorted(found)


def _save_a_model(folder) -> None:
    import mlflow.sklearn
    import numpy
    from sklearn.linear_model import LinearRegression

    features = numpy.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0]])
    mlflow.sklearn.save_model(LinearRegression().fit(features, features[:, 0]), folder / "model")


def _deploy(folder) -> None:
    (folder / "endpoint.yml").write_text("name: loopback-ep\nauth_mode: key\n")
    (folder / "deployment.yml").write_text(
        "name: only\nendpoint_name: loopback-ep\nmodel:\n  path: model\n  type: mlflow_model\ninstance_count: 1\n"
    )
    with open_session() as s:
        endpoints.create_endpoint_from_file(session=s, workspace="default", path=folder / "endpoint.yml")
        endpoints.create_deployment_from_file(
            session=s, workspace="default", path=folder / "deployment.yml", all_traffic=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open_session() as s:
            found = endpoints.get_deployment(
                session=s, workspace="default", endpoint_name="loopback-ep", name="only"
            )
        if found.provisioning_state in ("Succeeded", "Failed"):
            assert found.provisioning_state == "Succeeded", found.error
            return
        time.sleep(0.3)
    raise AssertionError(f"the deployment is still {found.provisioning_state}")


def test_every_server_of_studio_up_listens_on_loopback(tmp_path, studio_home, report):
    studio = RunningStudio(studio_home)  # with the UI
    try:
        _save_a_model(tmp_path)  # while studio up starts
        info = studio.wait_ready()
        _deploy(tmp_path)
        listeners = _listeners(studio.proc.pid)
    finally:
        studio.stop()
    ports = {port for _, port, _ in listeners}
    router = int(re.search(r"Online endpoints: http://[^:]+:(\d+)/", studio.output()).group(1))
    assert urlparse(info["mlflow_uri"]).port in ports, listeners
    assert urlparse(info["ui_url"]).port in ports, listeners
    assert router in ports, listeners
    scoring = [entry for entry in listeners if "scoring" in entry[2]]
    assert scoring, listeners
    off = [entry for entry in listeners if entry[0] not in LOOPBACK]
    report(
        f"loopback: {len(listeners)} listening sockets of studio up (MLflow, UI, endpoint router, "
        f"{len(scoring)} scoring server): {len(listeners) - len(off)} on loopback, {len(off)} elsewhere"
    )
    assert not off, off


def test_host_0000_warns_and_binds_every_interface(studio_home, report):
    studio = RunningStudio(studio_home, "--headless", "--host", "0.0.0.0")
    try:
        info = studio.wait_ready()
        listeners = _listeners(studio.proc.pid)
    finally:
        studio.stop()
    out = studio.output()
    warning = next((line for line in out.splitlines() if line.startswith("warning: Studio listens on")), "")
    report(f"--host 0.0.0.0: {warning or 'NO WARNING'}")
    assert warning.startswith(
        "warning: Studio listens on 0.0.0.0: anyone who can reach this machine can use it"
    )
    assert info["mlflow_uri"].startswith("http://127.0.0.1:")  # this machine's clients still use loopback
    mlflow_port = urlparse(info["mlflow_uri"]).port
    assert ("0.0.0.0", mlflow_port) in {(ip, port) for ip, port, _ in listeners}, listeners
