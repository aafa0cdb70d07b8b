"""A small Jupyter client for tests: open a notebook's session on a running JupyterLab server and run code
in its kernel over the kernel's websocket (Jupyter's messaging protocol, JSON frames), with ``websockets``
(which Streamlit brings)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

NO_PROXY = {"http": "", "https": ""}


def _base(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return f"http://{parts.netloc}", parts.query.split("token=", 1)[1].split("&", 1)[0]


def start_session(url: str, notebook: str, kernel: str = "python3") -> str:
    """A session for ``notebook`` (a path under the server's root), as JupyterLab opens one; its kernel id."""
    base, token = _base(url)
    answer = requests.post(
        f"{base}/api/sessions",
        json={"path": notebook, "name": notebook, "type": "notebook", "kernel": {"name": kernel}},
        headers={"Authorization": f"token {token}"},
        timeout=60,
        proxies=NO_PROXY,
    )
    answer.raise_for_status()
    return answer.json()["kernel"]["id"]


def run_code(url: str, kernel_id: str, code: str, timeout_s: float = 120) -> dict:
    """Run ``code``; returns {"stdout": ..., "error": "Name: value" or None, "status": "ok"|"error"}. (On a
    thread of its own: the test's thread may have an event loop running, Playwright's.)"""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _run(url, kernel_id, code, timeout_s)).result()


async def _run(url: str, kernel_id: str, code: str, timeout_s: float) -> dict:
    from websockets.asyncio.client import connect

    base, token = _base(url)
    conn = await connect(
        f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}",
        additional_headers={"Authorization": f"token {token}"},
        proxy=None,
        max_size=None,
    )
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
            "msg_type": "execute_request", "version": "5.3", "date": datetime.now(UTC).isoformat(),
        },
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True,
        },
    }  # fmt: skip
    await conn.send(json.dumps(message))
    found: dict = {"stdout": "", "error": None, "status": None}
    idle = False
    try:
        async with asyncio.timeout(timeout_s):
            while not (idle and found["status"]):
                raw = await conn.recv()
                if isinstance(raw, bytes):
                    continue
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    found["stdout"] += content.get("text", "")
                elif kind == "error":
                    found["error"] = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    found["status"] = content["status"]
                elif kind == "status" and content.get("execution_state") == "idle":
                    idle = True
    finally:
        await conn.close()
    return found
