"""The endpoint router: one loopback HTTP front for every online endpoint (DESIGN.md, Processes).

URL shape: ``POST http://127.0.0.1:<port>/endpoints/<endpoint-name>/score`` (the endpoint's scoring URI);
``GET /health`` answers 200 for the router itself; ``GET /-/metrics[?endpoint=NAME]`` answers the metrics
below as JSON, without credentials, to clients on loopback only (403 from elsewhere).

Configured by a plain snapshot (``RouterConfig`` of ``EndpointConfig`` of ``DeploymentConfig``), so the
endpoints service can build one from its rows; ``Router.update(config)`` swaps it in one assignment: a
request reads the snapshot once when it arrives and finishes with it, so nothing in flight is dropped,
and counters of deployments that stay are kept.

Per request:

1. auth: ``auth_mode="key"``: ``Authorization: Bearer <primary or secondary key>``;
   ``auth_mode="aml_token"``: a token from ``Router.issue_token(endpoint)`` (HMAC-SHA256 over the endpoint
   name and an expiry, signed with the router's secret; ``ttl_s`` seconds, default an hour). 401 without
   or with a wrong/expired credential. Keys and tokens are never logged or put in a ``repr``.
2. deployment: the ``azureml-model-deployment`` header targets one deployment (404 if unknown, even at 0%
   traffic: as in the cloud); otherwise a weighted random pick by ``traffic`` (503 when nothing has
   traffic).
3. limit: at most ``max_concurrent_requests_per_instance × len(instances)`` requests in flight per
   deployment; beyond that 429 at once.
4. forward to the deployment's instances in round robin, over kept-alive connections; past
   ``request_timeout_ms`` 408 (the connection to the instance is dropped); an instance that cannot be
   reached 502. The answer carries ``azureml-model-deployment: <name>``.
5. mirror: each ``mirror_traffic`` deployment gets a copy of that share of the requests not targeted by
   the header, in the background: its answer is discarded and never delays the caller (a copy is skipped
   when that deployment is at its limit).

Counters per (endpoint, deployment): requests, errors (any answer >= 400, timeouts, unreachable),
mirrored copies, and the latest latency samples (``Router.metrics()`` gives p50/p99 in ms); and a time
series for charts "over time": per 10-second bucket requests, errors, p50/p99 over the last hour
(``Router.series()``).

Run it in a process: ``python -m backend.agent.router --port P --config config.json`` (the JSON shape of
``RouterConfig.from_dict``; it holds the keys: mode 0600). SIGHUP reads the file again and ``update``s
(printing ``{"event": "reloaded"}``, or only the error's type when it cannot: the running configuration
stays). Or in-process: ``router = Router(config); port = await router.start(port=0)``
/ ``serve_in_thread(config)``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from backend.runtime.scoring import http
from backend.services.endpoint_access import sign_token, token_valid

DEPLOYMENT_HEADER = "azureml-model-deployment"
JSON = "application/json"
LATENCY_SAMPLES = 10_000
DEFAULT_TOKEN_TTL_S = 3600
BUCKET_S = 10  # the time series: one bucket per 10 seconds ...
SERIES_BUCKETS = 360  # ... over the last hour
BUCKET_SAMPLES = 2_000  # latency samples kept per bucket (p50/p99 of a busier bucket: of its first ones)
METRICS_PATH = "/-/metrics"
LOOPBACK = ("127.", "::1", "::ffff:127.")


@dataclass(frozen=True)
class DeploymentConfig:
    name: str
    instances: tuple[tuple[str, int], ...]  # (host, port) of each scoring server
    request_timeout_ms: int = 5000
    max_concurrent_requests_per_instance: int = 1

    @property
    def max_in_flight(self) -> int:
        return max(1, self.max_concurrent_requests_per_instance) * len(self.instances)


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    deployments: Mapping[str, DeploymentConfig]
    auth_mode: str = "key"  # key | aml_token
    primary_key: str = field(default="", repr=False)
    secondary_key: str = field(default="", repr=False)
    token_secret: bytes = field(default=b"", repr=False)  # aml_token: the endpoint's signing secret
    traffic: Mapping[str, int] = field(default_factory=dict)
    mirror_traffic: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RouterConfig:
    endpoints: Mapping[str, EndpointConfig] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping) -> RouterConfig:
        """``{"endpoints": {name: {"auth_mode", "primary_key", "secondary_key", "traffic",
        "mirror_traffic", "deployments": {name: {"instances": [[host, port]] or [port],
        "request_timeout_ms", "max_concurrent_requests_per_instance"}}}}}``"""
        endpoints = {}
        for name, endpoint in data.get("endpoints", {}).items():
            deployments = {}
            for dname, dep in endpoint.get("deployments", {}).items():
                instances = tuple(
                    ("127.0.0.1", int(i)) if isinstance(i, int | str) else (str(i[0]), int(i[1]))
                    for i in dep.get("instances", ())
                )
                deployments[dname] = DeploymentConfig(
                    name=dname,
                    instances=instances,
                    request_timeout_ms=int(dep.get("request_timeout_ms", 5000)),
                    max_concurrent_requests_per_instance=int(
                        dep.get("max_concurrent_requests_per_instance", 1)
                    ),
                )
            endpoints[name] = EndpointConfig(
                name=name,
                deployments=deployments,
                auth_mode=endpoint.get("auth_mode", "key"),
                primary_key=endpoint.get("primary_key", ""),
                secondary_key=endpoint.get("secondary_key", ""),
                traffic={k: int(v) for k, v in endpoint.get("traffic", {}).items()},
                mirror_traffic={k: int(v) for k, v in endpoint.get("mirror_traffic", {}).items()},
            )
        return cls(endpoints=endpoints)


class _Bucket:
    __slots__ = ("errors", "latencies", "requests", "start")

    def __init__(self, start: int) -> None:
        self.start = start  # epoch seconds, a multiple of BUCKET_S
        self.requests = 0
        self.errors = 0
        self.latencies: list[float] = []


class DeploymentState:
    """What outlives a configuration: in-flight count, the round-robin cursor, counters, and the time
    series (one ``_Bucket`` per BUCKET_S seconds that saw a request, the last SERIES_BUCKETS of them)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.cursor = 0
        self.requests = 0
        self.errors = 0
        self.mirrored = 0
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.buckets: deque[_Bucket] = deque(maxlen=SERIES_BUCKETS)

    def record(self, error: bool, latency: float | None = None, now: float | None = None) -> None:
        """One answered request in the time series (``requests``/``errors`` totals are counted apart)."""
        start = int(now if now is not None else time.time()) // BUCKET_S * BUCKET_S
        buckets = self.buckets
        if not buckets or buckets[-1].start != start:
            buckets.append(_Bucket(start))
        bucket = buckets[-1]
        bucket.requests += 1
        if error:
            bucket.errors += 1
        if latency is not None and len(bucket.latencies) < BUCKET_SAMPLES:
            bucket.latencies.append(latency)

    def series(self, now: float | None = None) -> list[dict[str, float | int | None]]:
        """The buckets of the last hour, oldest first: ``{t, requests, errors, p50_ms, p99_ms}`` (``t``:
        the bucket's start, epoch seconds); buckets without requests are left out."""
        oldest = int(now if now is not None else time.time()) - SERIES_BUCKETS * BUCKET_S
        out = []
        for bucket in list(self.buckets):
            if bucket.start <= oldest:
                continue
            out.append(
                {
                    "t": bucket.start,
                    "requests": bucket.requests,
                    "errors": bucket.errors,
                    **_latency_ms(bucket),
                }
            )
        return out


@dataclass(frozen=True)
class _Snapshot:
    config: RouterConfig
    states: Mapping[tuple[str, str], DeploymentState]
    # per endpoint: (deployment names, cumulative weights) for the weighted pick
    splits: Mapping[str, tuple[tuple[str, ...], tuple[int, ...]]]


def _latency_ms(counted) -> dict[str, float | None]:
    """p50 and p99 of ``counted.latencies`` (seconds) in milliseconds; None without samples."""
    samples = list(counted.latencies)
    p50, p99 = _percentile(samples, 50), _percentile(samples, 99)
    return {"p50_ms": None if p50 is None else p50 * 1000, "p99_ms": None if p99 is None else p99 * 1000}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class _Pool:
    """Idle kept-alive connections to one scoring server instance."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self.idle:
            reader, writer = self.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=http.MAX_HEADER_BYTES)
        return reader, writer, False

    def release(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.idle.append((reader, writer))

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Router:
    def __init__(self, config: RouterConfig | None = None, *, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._snapshot = self._build(config or RouterConfig(), {})
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._pruned_for: _Snapshot | None = (
            None  # the snapshot whose instances the pools were last pruned to
        )
        self._server: asyncio.base_events.Server | None = None
        self._background: set[asyncio.Task] = set()
        self._clients: set[asyncio.StreamWriter] = set()
        self.port: int | None = None

    # configuration -------------------------------------------------------------------------------

    @staticmethod
    def _build(config: RouterConfig, old: Mapping[tuple[str, str], DeploymentState]) -> _Snapshot:
        states = {}
        splits = {}
        for endpoint in config.endpoints.values():
            for name in endpoint.deployments:
                key = (endpoint.name, name)
                states[key] = old.get(key) or DeploymentState()
            names, cumulative, total = [], [], 0
            for name, percent in endpoint.traffic.items():
                if percent > 0 and name in endpoint.deployments:
                    total += percent
                    names.append(name)
                    cumulative.append(total)
            splits[endpoint.name] = (tuple(names), tuple(cumulative))
        return _Snapshot(config, states, splits)

    def update(self, config: RouterConfig) -> None:
        """Swap the configuration atomically (thread-safe: one attribute assignment). Requests in flight
        finish against the snapshot they started with; counters of deployments that stay are kept."""
        self._snapshot = self._build(config, self._snapshot.states)

    @property
    def config(self) -> RouterConfig:
        return self._snapshot.config

    # tokens --------------------------------------------------------------------------------------

    def _token_secret(self, endpoint: str) -> bytes:
        found = self._snapshot.config.endpoints.get(endpoint)
        return (found.token_secret if found else b"") or self._secret

    def issue_token(self, endpoint: str, ttl_s: float = DEFAULT_TOKEN_TTL_S) -> tuple[str, float]:
        """An aml_token for ``endpoint`` and its expiry (epoch seconds), in the endpoints service's format."""
        expires = time.time() + ttl_s
        return sign_token(endpoint, self._token_secret(endpoint), expires), expires

    def _token_valid(self, token: str, endpoint: str) -> bool:
        return token_valid(token, endpoint, self._token_secret(endpoint))

    def _authorized(self, endpoint: EndpointConfig, headers: Mapping[str, str]) -> bool:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return False
        if endpoint.auth_mode == "aml_token":
            return self._token_valid(credential, endpoint.name)
        given = credential.encode()
        ok = False
        for key in (endpoint.primary_key, endpoint.secondary_key):
            if key:
                ok |= hmac.compare_digest(given, key.encode())
        return ok

    # metrics -------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, dict[str, dict[str, float | int | None]]]:
        """{endpoint: {deployment: {requests, errors, mirrored, in_flight, p50_ms, p99_ms}}}"""
        out: dict[str, dict[str, dict[str, float | int | None]]] = {}
        for (endpoint, deployment), state in self._snapshot.states.items():
            out.setdefault(endpoint, {})[deployment] = {
                "requests": state.requests,
                "errors": state.errors,
                "mirrored": state.mirrored,
                "in_flight": state.in_flight,
                **_latency_ms(state),
            }
        return out

    def series(self, endpoint: str | None = None) -> dict[str, dict[str, list[dict]]]:
        """{endpoint: {deployment: [{t, requests, errors, p50_ms, p99_ms}, ...]}}: per BUCKET_S seconds over
        the last hour (``DeploymentState.series``); only ``endpoint`` when given."""
        now = time.time()
        out: dict[str, dict[str, list[dict]]] = {}
        for (name, deployment), state in self._snapshot.states.items():
            if endpoint is None or name == endpoint:
                out.setdefault(name, {})[deployment] = state.series(now)
        return out

    def metrics_document(self, endpoint: str | None = None) -> dict:
        """What ``GET /-/metrics[?endpoint=NAME]`` answers: the totals (``metrics()``), the time series
        (``series()``) and the bucket width."""
        totals = self.metrics()
        if endpoint is not None:
            totals = {k: v for k, v in totals.items() if k == endpoint}
        return {"bucket_s": BUCKET_S, "now": time.time(), "totals": totals, "series": self.series(endpoint)}

    # serving -------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(
            self._handle, host, port, limit=http.MAX_HEADER_BYTES, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._background):
            task.cancel()
        for pool in self._pools.values():
            pool.close()
        for writer in list(self._clients):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        peer = writer.get_extra_info("peername")
        loopback = bool(peer) and str(peer[0]).startswith(LOOPBACK)
        try:
            while True:
                request = await http.next_request(reader, writer)
                if request is None:
                    break
                if request.target.startswith(METRICS_PATH):
                    status, body, content_type, headers = self._metrics_route(request, loopback)
                else:
                    status, body, content_type, headers = await self._route(request)
                response = http.encode_response(
                    status,
                    body,
                    content_type=content_type,
                    keep_alive=request.keep_alive,
                    extra_headers=headers,
                )
                await http.send(writer, response)
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _metrics_route(
        self, request: http.Request, loopback: bool
    ) -> tuple[int, bytes, str, dict[str, str] | None]:
        """``GET /-/metrics[?endpoint=NAME]``: the router's metrics as JSON, without credentials but only
        to clients on this machine (403 otherwise): they carry no keys and no request bodies."""
        path, _, query = request.target.partition("?")
        if path != METRICS_PATH:
            return 404, http.error_body(f"no such route: {path}"), JSON, None
        if not loopback:
            return 403, http.error_body("metrics are served on loopback only"), JSON, None
        if request.method != "GET":
            return 405, http.error_body("use GET"), JSON, None
        endpoint = (parse_qs(query).get("endpoint") or [None])[0]
        return 200, json.dumps(self.metrics_document(endpoint)).encode(), JSON, None

    async def _route(self, request: http.Request) -> tuple[int, bytes, str, dict[str, str] | None]:
        path = request.target.split("?", 1)[0]
        if path == "/health":
            return 200, b'{"status": "ready"}', JSON, None
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "score":
            return 404, http.error_body("no such route: use POST /endpoints/<endpoint>/score"), JSON, None
        snapshot = self._snapshot  # one read: this request keeps this configuration to the end
        if snapshot is not self._pruned_for:
            self._prune(snapshot)
        endpoint = snapshot.config.endpoints.get(parts[1])
        if endpoint is None:
            return 404, http.error_body(f"no endpoint {parts[1]!r}"), JSON, None
        if request.method != "POST":
            return 405, http.error_body("use POST"), JSON, None
        if not self._authorized(endpoint, request.headers):
            return (
                401,
                http.error_body("missing or invalid credentials (Authorization: Bearer <key or token>)"),
                JSON,
                None,
            )
        target = request.headers.get(DEPLOYMENT_HEADER)
        if target is not None:
            deployment = endpoint.deployments.get(target)
            if deployment is None:
                return (
                    404,
                    http.error_body(f"endpoint {endpoint.name!r} has no deployment {target!r}"),
                    JSON,
                    None,
                )
        else:
            names, cumulative = snapshot.splits[endpoint.name]
            if not names:
                return (
                    503,
                    http.error_body(f"no deployment of endpoint {endpoint.name!r} receives traffic"),
                    JSON,
                    None,
                )
            pick = random.random() * cumulative[-1]
            index = 0
            while cumulative[index] <= pick:
                index += 1
            deployment = endpoint.deployments[names[index]]
            self._mirror(snapshot, endpoint, request)
        state = snapshot.states[(endpoint.name, deployment.name)]
        status, body, content_type = await self._forward(deployment, state, request)
        return status, body, content_type, {DEPLOYMENT_HEADER: deployment.name}

    def _prune(self, snapshot: _Snapshot) -> None:
        """Close the idle connections to instances that left the configuration (on the loop's thread:
        ``update`` may run on another one)."""
        live = {
            instance
            for endpoint in snapshot.config.endpoints.values()
            for deployment in endpoint.deployments.values()
            for instance in deployment.instances
        }
        for instance in [i for i in self._pools if i not in live]:
            self._pools.pop(instance).close()
        self._pruned_for = snapshot

    def _mirror(self, snapshot: _Snapshot, endpoint: EndpointConfig, request: http.Request) -> None:
        for name, percent in endpoint.mirror_traffic.items():
            deployment = endpoint.deployments.get(name)
            if deployment is None or percent <= 0 or random.random() * 100 >= percent:
                continue
            state = snapshot.states[(endpoint.name, name)]
            if state.in_flight >= deployment.max_in_flight:
                continue  # a shadow copy never takes a slot it does not have
            state.mirrored += 1
            task = asyncio.get_running_loop().create_task(self._forward(deployment, state, request))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _forward(
        self, deployment: DeploymentConfig, state: DeploymentState, request: http.Request
    ) -> tuple[int, bytes, str]:
        """(status, body, content type) of the deployment's answer, or of the router's error."""
        state.requests += 1
        if not deployment.instances:
            state.errors += 1
            state.record(True)
            return 503, http.error_body(f"deployment {deployment.name!r} has no running instance"), JSON
        if state.in_flight >= deployment.max_in_flight:
            state.errors += 1
            state.record(True)
            limit = deployment.max_in_flight
            message = f"deployment {deployment.name!r} is at its limit of {limit} concurrent requests"
            return 429, http.error_body(message), JSON
        state.in_flight += 1
        instance = deployment.instances[state.cursor % len(deployment.instances)]
        state.cursor += 1
        started = time.perf_counter()
        try:
            # asyncio.timeout, not wait_for: no extra task per request
            async with asyncio.timeout(deployment.request_timeout_ms / 1000):
                status, body, content_type = await self._send(instance, request)
        except TimeoutError:
            limit = deployment.request_timeout_ms
            status, body = (
                408,
                http.error_body(f"deployment {deployment.name!r} did not answer within {limit} ms"),
            )
            content_type = JSON
        except (OSError, asyncio.IncompleteReadError, http.HttpError) as exc:
            status, body = 502, http.error_body(f"deployment {deployment.name!r} could not be reached: {exc}")
            content_type = JSON
        finally:
            state.in_flight -= 1
        latency = time.perf_counter() - started
        state.latencies.append(latency)
        if status >= 400:
            state.errors += 1
        state.record(status >= 400, latency)
        return status, body, content_type

    async def _send(self, instance: tuple[str, int], request: http.Request) -> tuple[int, bytes, str]:
        pool = self._pools.get(instance)
        if pool is None:
            pool = self._pools[instance] = _Pool(*instance)
        headers = {"Content-Type": request.headers.get("content-type", "application/json")}
        message = http.encode_request("POST", "/score", request.body, headers)
        for attempt in range(2):
            reader, writer, reused = await pool.acquire()
            ok = False
            try:
                writer.write(message)
                response = await http.read_response(reader)
                ok = response.keep_alive
                return response.status, response.body, response.headers.get("content-type", JSON)
            except (ConnectionError, asyncio.IncompleteReadError):
                if reused and attempt == 0:
                    continue  # a kept-alive connection the instance had closed: once more, on a new one
                raise
            finally:
                if ok and self._pools.get(instance) is pool:  # not pruned meanwhile
                    pool.release(reader, writer)
                else:  # also on cancellation (timeout): the answer may still come on this connection
                    writer.close()
        raise ConnectionError("unreachable")  # pragma: no cover


class RunningRouter:
    """A router on its own event loop in a background thread (tests, and the bench's in-process use)."""

    def __init__(self, router: Router, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.router, self._loop, self._thread = router, loop, thread
        self.port = router.port

    def update(self, config: RouterConfig) -> None:
        self.router.update(config)

    def issue_token(self, endpoint: str, ttl_s: float = DEFAULT_TOKEN_TTL_S) -> tuple[str, float]:
        return self.router.issue_token(endpoint, ttl_s)

    def metrics(self) -> dict:
        return asyncio.run_coroutine_threadsafe(self._metrics(), self._loop).result(10)

    async def _metrics(self) -> dict:
        return self.router.metrics()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.router.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def serve_in_thread(
    config: RouterConfig, *, secret: bytes | None = None, port: int = 0, host: str = "127.0.0.1"
) -> RunningRouter:
    router = Router(config, secret=secret)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(router.start(host=host, port=port))
        except BaseException as exc:  # the port is taken: the caller raises it
            failed.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="endpoint-router", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the endpoint router did not start")
    if failed:
        raise failed[0]
    return RunningRouter(router, loop, thread)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import gc
    import signal

    parser = argparse.ArgumentParser(prog="python -m backend.agent.router")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--config", required=True, help="a JSON file (RouterConfig.from_dict), mode 0600")
    args = parser.parse_args(argv)

    def load() -> RouterConfig:
        with open(args.config) as file:
            return RouterConfig.from_dict(json.load(file))

    def reload(router: Router) -> None:
        try:
            router.update(load())
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:  # keep the running one
            print(json.dumps({"event": "reload-failed", "error": type(exc).__name__}), flush=True)
        else:
            print(json.dumps({"event": "reloaded"}), flush=True)

    async def serve() -> None:
        router = Router(load())
        port = await router.start(port=args.port)
        gc.collect()
        gc.freeze()  # the long-lived start-up objects out of the collector's sight (steadier p99)
        print(json.dumps({"event": "listening", "port": port}), flush=True)
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        loop.add_signal_handler(signal.SIGHUP, reload, router)
        await stop
        await router.stop()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
