"""A small HTTP/1.1 layer over asyncio streams: enough for a scoring server and the endpoint router.

Keep-alive by default (HTTP/1.1), ``Connection: close`` honoured, ``Content-Length`` and chunked request
bodies, ``Expect: 100-continue``. Standard library only: this module runs inside deployments' venvs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 100 * 1024 * 1024
REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class HttpError(Exception):
    """A malformed message: the connection is answered (if it can be) and closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    keep_alive: bool


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    keep_alive: bool


async def _read_head(reader: asyncio.StreamReader) -> list[str] | None:
    """The start line and header lines, or None at a clean end of stream (no byte of a new message)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "incomplete message head") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError(400, "message head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    while lines and not lines[0]:  # tolerate blank lines between messages
        lines.pop(0)
    return lines[:-2] if len(lines) >= 2 else lines


def _parse_headers(lines: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(400, f"malformed header line {line[:60]!r}")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise HttpError(413, "body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if not length:
        return b""
    try:
        size = int(length)
    except ValueError as exc:
        raise HttpError(400, f"bad Content-Length {length!r}") from exc
    if size > MAX_BODY_BYTES:
        raise HttpError(413, "body too large")
    return await reader.readexactly(size) if size else b""


async def next_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """The next request, or None when the connection is done: closed by the client, or a malformed
    request (answered here with its status, and the connection closed)."""
    try:
        return await read_request(reader, writer)
    except HttpError as exc:
        writer.write(encode_response(exc.status, error_body(str(exc)), keep_alive=False))
        return None


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """The next request on a connection, or None when the client closed it between requests."""
    lines = await _read_head(reader)
    if lines is None:
        return None
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers = _parse_headers(lines[1:])
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        body = await _read_body(reader, headers)
    except (asyncio.IncompleteReadError, ValueError) as exc:
        raise HttpError(400, "incomplete body") from exc
    return Request(method, target, headers, body, keep_alive)


def encode_response(
    status: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    keep_alive: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    head = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    if not keep_alive:
        head.append("Connection: close")
    if extra_headers:
        head.extend(f"{name}: {value}" for name, value in extra_headers.items())
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def error_body(message: str, **extra: object) -> bytes:
    return json.dumps({"error": message, **extra}).encode()


def encode_request(method: str, target: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    if headers:
        head.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> Response:
    """A response to a request this side sent (the router's and the bench's client side)."""
    while True:
        lines = await _read_head(reader)
        if lines is None:
            raise ConnectionResetError("the server closed the connection")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(502, f"malformed status line {lines[0][:80]!r}")
        status = int(parts[1])
        headers = _parse_headers(lines[1:])
        if status != 100:
            break
    body = await _read_body(reader, headers)
    keep_alive = "close" not in headers.get("connection", "").lower()
    return Response(status, headers, body, keep_alive)


async def send(writer: asyncio.StreamWriter, response: bytes) -> None:
    """Write a response; wait for the socket only when its buffer fills (pipelined keep-alive clients)."""
    writer.write(response)
    if writer.transport.get_write_buffer_size() > 65536:
        await writer.drain()


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` (a ``/health`` route) answers 200 now."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            return answer.status == 200
    except OSError:
        return False
