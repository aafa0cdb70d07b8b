"""An OpenAI-compatible chat-completions server that answers from a script, for tests.

Each request's last user message is matched against the rules in order (first substring found wins),
and the rule's reply is sent as the first choice's content with the rule's usage. Every request is
recorded (path, headers, JSON body) so a test can assert what was sent: the judge prompts, the key.
It listens on loopback, on a free port, in a daemon thread.

    with ScriptedServer([("capital of France", "Paris", {"prompt_tokens": 9, "completion_tokens": 1})]) as s:
        chat(s.url, [{"role": "user", "content": "What is the capital of France?"}])
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Rule:
    contains: str
    reply: str
    usage: dict | None = None
    # A status other than 200, or raw=True, sends ``reply`` as the body as it is (error cases).
    status: int = 200
    raw: bool = False
    delay_s: float = 0.0


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up first (a timeout test) is expected; anything else is reported."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _last_user_message(body: dict) -> str:
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


class ScriptedServer:
    """Serve the rules until ``stop`` (or the end of the ``with`` block)."""

    def __init__(self, rules: list[Rule | tuple]):
        self.rules = [r if isinstance(r, Rule) else Rule(*r) for r in rules]
        self.requests: list[dict] = []
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that never started
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def match(self, body: dict) -> Rule | None:
        """Rules see the system prompt and the last user message (a judge's metric is named in its system
        prompt, the item in the user message)."""
        system = next(
            (m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), ""
        )
        text = system + "\n" + _last_user_message(body)
        return next((r for r in self.rules if r.contains in text), None)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                rule = server.match(body)
                if rule is None:
                    self._send(400, json.dumps({"error": "no scripted rule matches"}).encode())
                    return
                time.sleep(rule.delay_s)
                if rule.status != 200 or rule.raw:
                    self._send(rule.status, rule.reply.encode())
                    return
                reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": rule.reply}}]}
                if rule.usage is not None:
                    reply["usage"] = rule.usage
                self._send(200, json.dumps(reply).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                """Quiet: tests assert on ``requests``, not on the log."""

        return Handler
