"""JSON log lines on stdout, and the optional Elasticsearch shipper.

Request log fields (also the Elasticsearch document, for the Kibana dashboard): ``@timestamp``,
``level``, ``logger``, ``message``, ``request_id``, ``route``, ``method``, ``status``,
``latency_ms``, ``model_version``, ``label``, ``probability``, ``count`` (batch size).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS_LOGGER = "app.backend.access"
_HANDLER_MARK = "_rotten_potatoes_json"
_STOP = object()


def utc_timestamp(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "@timestamp": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, json_lines: bool = True) -> None:
    """One stdout handler on the root logger (replacing ours from an earlier call)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(logging.BASIC_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Our access line replaces uvicorn's (run uvicorn with --no-access-log to skip it entirely).
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class EsShipper:
    """Bounded queue + background thread + ``_bulk``. ``submit`` never blocks; overflow is dropped.

    Index: ``<prefix>-YYYY.MM.DD`` from the record's UTC ``@timestamp``.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        index_prefix: str = "rotten_potatoes_logs",
        queue_size: int = 10_000,
        batch_size: int = 500,
        flush_seconds: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        self.bulk_url = url.rstrip("/") + "/_bulk"
        self.index_prefix = index_prefix
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.timeout = timeout
        self.headers = {"Content-Type": "application/x-ndjson"}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._counts_lock = threading.Lock()
        self.dropped = 0
        self.shipped = 0
        self.failing = False
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="es-shipper", daemon=True)
        self._thread.start()

    def submit(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._drop(1, "queue full")

    def _drop(self, count: int, reason: str) -> None:
        with self._counts_lock:
            self.dropped += count
        self.last_error = reason

    def state(self) -> dict[str, Any]:
        status = "dropping" if self.failing else "ok"
        return {
            "status": status,
            "dropped": self.dropped,
            "shipped": self.shipped,
            "queued": self._queue.qsize(),
        }

    def index_for(self, record: dict[str, Any]) -> str:
        stamp = str(record.get("@timestamp") or utc_timestamp())
        return f"{self.index_prefix}-{stamp[:10].replace('-', '.')}"

    def encode(self, batch: list[dict[str, Any]]) -> bytes:
        lines = []
        for record in batch:
            # `create`, not `index`: the shipper's Elasticsearch role (role elk) may only add
            # documents (create_doc), and an auto-generated id never collides anyway.
            lines.append(orjson.dumps({"create": {"_index": self.index_for(record)}}))
            lines.append(orjson.dumps(record, default=str))
        return b"\n".join(lines) + b"\n"

    def send(self, batch: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the operator's ES_URL
            self.bulk_url, data=self.encode(batch), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = orjson.loads(response.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as error:
            self.failing = True
            self._drop(len(batch), f"{type(error).__name__}: {error}")
            return
        failed = 0
        if body.get("errors"):
            for item in body.get("items", []):
                result = next(iter(item.values()), {})
                if int(result.get("status", 200)) >= 300:
                    failed += 1
        if failed:
            self._drop(failed, "bulk item errors")
        with self._counts_lock:
            self.shipped += len(batch) - failed
        self.failing = failed > 0

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            if first is _STOP:
                break
            batch = [first]
            deadline = time.monotonic() + self.flush_seconds
            while len(batch) < self.batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self.send(batch)

    def stop(self, timeout: float = 2.0) -> None:
        """Ship what is queued (one attempt), then end the thread."""
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout=timeout)
