"""The SDK gateway of a compute instance (``MLClient`` in a notebook's kernel), over its real socket: calls
run in the studio with the kernel's workspace and folder; arguments are unpickled as ``studio.ml`` entities
and plain data only; local paths outside the instance's root, and calls that would hand out a secret, are
refused in one line."""

from __future__ import annotations

import os
import pickle
import socket
from pathlib import Path

import pytest

from backend.agent.sdk_gateway import Gateway, read_frame, send_frame
from backend.errors import ValidationError
from backend.services import compute, open_session
from backend.specs.compute import ComputeSpec


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch /tmp/should-never-exist",))


@pytest.fixture
def gateway(studio_home, tmp_path, monkeypatch):
    from backend.agent import sdk_gateway
    from backend.db import ensure_schema
    from studio.ml.gateway import dispatch

    ensure_schema()
    monkeypatch.setattr(sdk_gateway, "_dispatcher", [dispatch])  # as `studio agent` sets it
    root = tmp_path / "share"
    (root / "exp").mkdir(parents=True)
    running = Gateway(tmp_path / "run" / "sdk.sock", workspace="default", user=None, root=root).start()
    monkeypatch.setenv("STUDIO_SDK_SOCKET", str(running.path))
    monkeypatch.chdir(root / "exp")
    yield running
    running.stop()


def test_a_kernels_client_calls_the_studio_through_the_gateway(gateway):
    from studio.ml import MLClient, command

    with open_session() as s:
        compute.create_compute(
            session=s, workspace="default", spec=ComputeSpec(name="ci1", type="computeinstance")
        )
    ml_client = MLClient()
    assert [c.name for c in ml_client.compute.list()] == ["serverless", "ci1"]
    assert ml_client.compute.get("ci1").state == "Running"
    with pytest.raises(ValidationError, match="is outside"):
        ml_client.jobs.create_or_update(
            command(code="/etc", command="ls", environment="AzureML-sklearn-1.5@latest")
        )
    with pytest.raises(ValidationError, match="is outside"):  # relative to the entity's own folder
        ml_client.jobs.create_or_update(
            command(code="../..", command="ls", environment="AzureML-sklearn-1.5@latest")
        )
    with pytest.raises(ValidationError, match="endpoint keys are not given to notebooks"):
        ml_client.online_endpoints.get_keys("anything")
    from backend.errors import NotFoundError

    with pytest.raises(NotFoundError):
        ml_client.compute.get("nothing-here")


def test_only_entities_and_plain_data_are_unpickled(gateway):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(gateway.path))
    with conn:
        send_frame(conn, b"c", pickle.dumps({"group": "compute", "method": "list", "args": [_Boom()]}))
        kind, payload = read_frame(conn)
    assert kind == b"e"
    assert pickle.loads(payload) == (
        "ValidationError",
        "an argument of type posix.system cannot be sent to the studio",
    )
    assert not Path("/tmp/should-never-exist").exists()


@pytest.mark.parametrize(("group", "method"), [("jobs", "_record"), ("nothing", "list"), ("jobs", "")])
def test_only_public_operations_are_called(gateway, group, method):
    from studio.ml import remote

    with pytest.raises(ValidationError, match="is not an SDK operation"):
        remote.call("default", group, method, (), {})


def test_a_socket_deeper_than_a_unix_paths_limit_still_answers(gateway, tmp_path, monkeypatch):
    """A CI checkout's temporary folders make the instance's socket path longer than ``sun_path`` (107
    bytes): the gateway binds it, and the kernel reaches it, through the folder's descriptor."""
    from studio.ml import MLClient

    deep = tmp_path / ("instance-folder-" * 5) / ("state-" * 8) / "run" / "sdk.sock"
    assert len(str(deep)) > 107
    running = Gateway(deep, workspace="default", user=None, root=gateway.root).start()
    try:
        assert deep.is_socket()
        monkeypatch.setenv("STUDIO_SDK_SOCKET", str(deep))
        assert [c.name for c in MLClient().compute.list()] == ["serverless"]
    finally:
        running.stop()
    assert not deep.exists()
