"""The scoring server: one asyncio HTTP/1.1 process per deployment instance (see ``__init__``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import importlib.util
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import http, mlflow_input

DRAIN_S = 10.0


def log(message: str) -> None:
    print(f"scoring: {message}", file=sys.stderr, flush=True)


def _json_default(value: object) -> object:
    if hasattr(value, "tolist"):  # numpy arrays and scalars, pandas objects
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: object) -> bytes:
    return json.dumps(value, default=_json_default).encode()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def find_mlflow_model(model_dir: Path) -> Path | None:
    """The folder holding ``MLmodel``: the model folder itself, or its only child that has one."""
    if (model_dir / "MLmodel").is_file():
        return model_dir
    found = (
        [child for child in model_dir.iterdir() if (child / "MLmodel").is_file()]
        if model_dir.is_dir()
        else []
    )
    return found[0] if len(found) == 1 else None


class ScriptScorer:
    """A scoring script's ``init()`` once, then ``run(raw_data)`` per request, one call at a time (as one
    cloud worker does), in a thread so that the server keeps answering ``/health`` meanwhile."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self._run: Callable[[str], object] | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="score")

    def init(self) -> None:
        sys.path.insert(0, str(self.script.parent))
        spec = importlib.util.spec_from_file_location(self.script.stem, self.script)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load the scoring script {self.script}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.script.stem] = module
        spec.loader.exec_module(module)
        for name in ("init", "run"):
            if not callable(getattr(module, name, None)):
                raise RuntimeError(f"the scoring script {self.script.name} defines no {name}() function")
        module.init()
        self._run = module.run

    def _call(self, raw: str) -> bytes:
        assert self._run is not None
        return to_json(self._run(raw))

    async def score(self, body: bytes) -> tuple[int, bytes]:
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return 400, http.error_body(f"the body is not UTF-8 text: {exc}")
        try:
            return 200, await asyncio.get_running_loop().run_in_executor(self._pool, self._call, raw)
        except Exception as exc:
            log(f"run() failed:\n{traceback.format_exc()}")
            return 500, http.error_body(f"run() failed: {_error(exc)}")


@dataclass
class _Pending:
    rows: mlflow_input.Rows
    future: asyncio.Future


class MlflowScorer:
    """An ``mlflow_model`` without a scoring script, with micro-batching.

    Requests that arrive together are stacked into one frame (up to ``max_batch`` rows) and predicted
    in one call, and the predictions are split back. The batcher waits up to ``window_s`` for more
    requests only while fewer are queued than connections are open, and only when the last batch held
    more than one request (a single client never waits)."""

    def __init__(
        self, model_dir: Path, *, max_batch: int, window_s: float, open_connections: Callable[[], int]
    ):
        self.model_dir = model_dir
        self.max_batch = max(1, max_batch)
        self.window_s = window_s
        self.open_connections = open_connections
        self.queue: list[_Pending] = []
        self._draining = False
        self._drainer: asyncio.Task | None = None
        self._arrival: asyncio.Future | None = None
        self._last_batch = 0  # requests in the last batch: waiting for more only pays when it was > 1
        self.requests = 0
        self.predict_calls = 0

    def init(self) -> None:
        import mlflow.pyfunc  # the deployment's venv has it: this is an mlflow_model
        import pandas

        self.pd = pandas
        self.model = mlflow.pyfunc.load_model(str(Path(self.model_dir).resolve()))  # MLflow refuses symlinks
        schema = self.model.metadata.get_input_schema()
        self.input_names = schema.input_names() if schema is not None and schema.has_input_names() else None
        try:
            from mlflow.exceptions import MlflowException

            self.client_errors: tuple[type[BaseException], ...] = (MlflowException,)
        except ImportError:  # pragma: no cover
            self.client_errors = ()

    async def score(self, body: bytes) -> tuple[int, bytes]:
        try:
            rows = mlflow_input.parse(body)
        except mlflow_input.BadRequest as exc:
            return 400, http.error_body(str(exc))
        loop = asyncio.get_running_loop()
        pending = _Pending(rows, loop.create_future())
        self.queue.append(pending)
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if not self._draining:
            self._draining = True
            self._drainer = loop.create_task(self._drain())  # a reference: a task must not be collected
        return await pending.future

    def _queued_rows(self) -> int:
        return sum(len(p.rows.rows) for p in self.queue)

    async def _gather(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)  # requests already read on other connections join first
        if self._last_batch <= 1 and len(self.queue) <= 1:
            return  # one client at a time (or the first request after a quiet spell): no waiting
        deadline = loop.time() + self.window_s
        while self._queued_rows() < self.max_batch and len(self.queue) < self.open_connections():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrival = loop.create_future()
            timer = loop.call_later(remaining, lambda f=self._arrival: f.done() or f.set_result(None))
            await self._arrival
            timer.cancel()
            self._arrival = None

    async def _drain(self) -> None:
        try:
            while self.queue:
                await self._gather()
                batch, size = [], 0
                while self.queue and (not batch or size + len(self.queue[0].rows.rows) <= self.max_batch):
                    pending = self.queue.pop(0)
                    batch.append(pending)
                    size += len(pending.rows.rows)
                self._last_batch = len(batch)
                self._predict(batch)
                await asyncio.sleep(0)  # let answers go out and new requests come in
        finally:
            self._draining = False

    def _frame(self, columns: tuple[str, ...] | None, rows: list[list]):
        width = len(rows[0]) if rows else 0
        if columns is None and self.input_names is not None and width == len(self.input_names):
            columns = tuple(self.input_names)
        return self.pd.DataFrame(rows, columns=list(columns) if columns is not None else None)

    def _predict(self, batch: list[_Pending]) -> None:
        # Consecutive requests with the same columns go into one predict call.
        groups: list[list[_Pending]] = []
        for pending in batch:
            if groups and groups[-1][0].rows.columns == pending.rows.columns:
                groups[-1].append(pending)
            else:
                groups.append([pending])
        for group in groups:
            self._predict_group(group)

    def _predict_group(self, group: list[_Pending]) -> None:
        rows = [row for pending in group for row in pending.rows.rows]
        try:
            output = self.model.predict(self._frame(group[0].rows.columns, rows))
            parts = self._split(output, [len(p.rows.rows) for p in group])
        except Exception as exc:
            if len(group) > 1:  # one bad request must not fail the others: predict them one by one
                for pending in group:
                    self._predict_group([pending])
                return
            self._answer(group[0], self._failure(exc))
            return
        self.requests += len(group)
        self.predict_calls += 1
        for pending, part in zip(group, parts):  # noqa: B905 (as long by construction; strict= needs 3.10)
            try:
                self._answer(pending, (200, to_json(part)))
            except Exception as exc:
                self._answer(pending, self._failure(exc))

    def stats(self) -> dict[str, int]:
        """Answered requests and the predict calls that answered them (fewer calls: batching works)."""
        return {"requests": self.requests, "predict_calls": self.predict_calls}

    def _failure(self, exc: BaseException) -> tuple[int, bytes]:
        if isinstance(exc, self.client_errors):
            return 400, http.error_body(f"the input does not fit the model: {exc}")
        log(f"predict failed:\n{traceback.format_exc()}")
        return 500, http.error_body(f"predict failed: {_error(exc)}")

    @staticmethod
    def _answer(pending: _Pending, result: tuple[int, bytes]) -> None:
        if not pending.future.done():
            pending.future.set_result(result)

    @staticmethod
    def _split(output: object, sizes: list[int]) -> list[object]:
        total = sum(sizes)
        if hasattr(output, "to_dict") and hasattr(output, "columns"):  # a DataFrame
            records = output.to_dict(orient="records")
            values: list = records
        elif hasattr(output, "tolist"):
            values = output.tolist()
        elif isinstance(output, list):
            values = output
        elif isinstance(output, dict) and len(sizes) == 1:
            return [output]
        else:
            raise TypeError(f"cannot split a {type(output).__name__} prediction by request")
        if len(values) != total:
            if len(sizes) == 1:
                return [values]
            raise ValueError(f"the model answered {len(values)} predictions for {total} rows")
        parts, start = [], 0
        for size in sizes:
            parts.append(values[start : start + size])
            start += size
        return parts


class ScoringServer:
    def __init__(
        self,
        *,
        model_dir: Path | None,
        script: Path | None = None,
        max_batch: int = 64,
        batch_window_ms: float = 2.0,
    ) -> None:
        self.model_dir = model_dir
        self.open = 0  # connections
        self.busy = 0  # requests being answered
        self.ready = False
        if script is not None:
            self.scorer: ScriptScorer | MlflowScorer = ScriptScorer(script)
        else:
            mlflow_dir = find_mlflow_model(model_dir) if model_dir is not None else None
            if mlflow_dir is None:
                raise SystemExit(
                    f"scoring: {model_dir} holds no MLmodel file: a model that is not an mlflow_model needs "
                    "--code and --scoring-script"
                )
            self.scorer = MlflowScorer(
                mlflow_dir,
                max_batch=max_batch,
                window_s=batch_window_ms / 1000,
                open_connections=lambda: self.open,
            )

    async def _dispatch(self, request: http.Request) -> tuple[int, bytes]:
        path = request.target.split("?", 1)[0].rstrip("/") or "/"
        if path in ("/health", "/"):
            if request.method not in ("GET", "HEAD"):
                return 405, http.error_body("use GET")
            if self.ready:
                stats = self.scorer.stats() if isinstance(self.scorer, MlflowScorer) else {}
                return 200, json.dumps({"status": "ready", **stats}).encode()
            return 503, b'{"status": "starting"}'
        if path == "/score":
            if request.method != "POST":
                return 405, http.error_body("use POST /score")
            if not self.ready:
                return 503, http.error_body("the scoring server is starting: init() has not returned yet")
            return await self.scorer.score(request.body)
        return 404, http.error_body(f"no route {path}: use GET /health or POST /score")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            while True:
                request = await http.next_request(reader, writer)
                if request is None:
                    break
                self.busy += 1
                try:
                    status, body = await self._dispatch(request)
                except Exception as exc:  # a bug here must not take the process down
                    log(traceback.format_exc())
                    status, body = 500, http.error_body(_error(exc))
                finally:
                    self.busy -= 1
                await http.send(writer, http.encode_response(status, body, keep_alive=request.keep_alive))
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def serve(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        server = await asyncio.start_server(
            self.handle, host, port, limit=http.MAX_HEADER_BYTES, backlog=1024
        )
        bound = server.sockets[0].getsockname()[1]
        print(json.dumps({"event": "listening", "port": bound}), flush=True)
        # AZUREML_MODEL_DIR as the cloud sets it: the folder holding the model's folder (or file).
        # Not resolved: the model may be a link into Studio's model cache, laid out as the cloud lays it out.
        if self.model_dir is not None:
            os.environ["AZUREML_MODEL_DIR"] = os.path.dirname(os.path.abspath(str(self.model_dir)))
        try:
            await loop.run_in_executor(None, self.scorer.init)
        except Exception:
            log(f"init() failed:\n{traceback.format_exc()}")
            server.close()
            raise SystemExit(1) from None
        # What init() loaded (the model, mlflow, pandas: some 200,000 objects) lives as long as the process:
        # out of the collector's sight, a full collection takes microseconds instead of 0.1-0.5 s (p99).
        gc.collect()
        gc.freeze()
        self.ready = True
        python = ".".join(str(n) for n in sys.version_info[:3])  # the interpreter the environment pinned
        print(json.dumps({"event": "ready", "port": bound, "python": python}), flush=True)
        await stop
        server.close()  # no new connections; the requests being answered get their answers (up to 10 s)
        deadline = loop.time() + DRAIN_S
        while self.busy and loop.time() < deadline:
            await asyncio.sleep(0.02)
