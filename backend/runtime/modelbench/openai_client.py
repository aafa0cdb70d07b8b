"""A tiny OpenAI-compatible chat-completions client over urllib.

Benchmark jobs call models served by OpenAI, Azure-style gateways, vLLM, Ollama and Studio's own
endpoints alike; all speak this one request, and a job can't count on ``openai`` or ``requests`` being
installed. Errors are one line (they end up on a results page) and never contain the key.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

_CHAT_PATH = "/chat/completions"


class ClientError(RuntimeError):
    """A call that gave no usable answer, with a one-line reason (the key never appears in it)."""


@dataclass(frozen=True)
class ChatResult:
    text: str
    # {"prompt_tokens", "completion_tokens"} as the server counted them, None when it didn't say.
    usage: dict[str, int] | None
    latency_s: float


def chat_url(base_url: str) -> str:
    """The chat-completions URL for a base URL: kept when it already is one, ``/v1`` added when missing."""
    base = base_url.rstrip("/")
    if base.endswith(_CHAT_PATH):
        return base
    return base + _CHAT_PATH if base.endswith("/v1") else base + "/v1" + _CHAT_PATH


def _redact(text: str, api_key: str | None) -> str:
    """A message with the key blanked out (servers do echo it in 401 bodies), on one line."""
    if api_key:
        text = text.replace(api_key, "***")
    return " ".join(text.split())


def _post(url: str, payload: dict, api_key: str | None, timeout: float) -> bytes:
    """POST JSON and return the body; any failure as a ClientError."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")[:200]
        raise ClientError(_redact(f"HTTP {exc.code} from {url}: {body}", api_key)) from None
    except TimeoutError:
        raise ClientError(f"no reply from {url} within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        raise ClientError(_redact(f"cannot reach {url}: {exc.reason}", api_key)) from None


def _usage(reply: dict) -> dict[str, int] | None:
    """The token counts of a reply, when the server gave both as integers."""
    usage = reply.get("usage")
    if not isinstance(usage, dict):
        return None
    counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens")}
    return counts if all(isinstance(v, int) for v in counts.values()) else None


def _text(reply: object, url: str, api_key: str | None) -> str:
    """The first choice's message content; a reply without one is a ClientError."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        shown = json.dumps(reply)[:200]
        raise ClientError(_redact(f"reply from {url} has no choices[0].message.content: {shown}", api_key))
    return content


def chat(
    base_url: str,
    messages: list[dict],
    *,
    model: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    temperature: float | None = 0.0,
    max_tokens: int | None = None,
) -> ChatResult:
    """One chat completion: the reply's text, the server's token usage and the wall-clock latency.

    Temperature 0 by default so that a benchmark is as repeatable as the server allows.
    """
    url = chat_url(base_url)
    payload: dict = {"messages": messages}
    optional = {"model": model, "temperature": temperature, "max_tokens": max_tokens}
    payload.update({k: v for k, v in optional.items() if v is not None})
    started = time.perf_counter()
    body = _post(url, payload, api_key, timeout)
    latency = time.perf_counter() - started
    try:
        reply = json.loads(body)
    except ValueError:
        shown = body[:200].decode("utf-8", "replace")
        raise ClientError(_redact(f"non-JSON reply from {url}: {shown}", api_key)) from None
    text = _text(reply, url, api_key)
    return ChatResult(text=text, usage=_usage(reply) if isinstance(reply, dict) else None, latency_s=latency)
