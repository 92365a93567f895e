"""JSON log lines on stdout, and the optional Elasticsearch shipper.

Request log fields (also the Elasticsearch document, for the Kibana dashboard): ``@timestamp``,
``level``, ``logger``, ``message``, ``request_id``, ``route``, ``method``, ``status``,
``latency_ms``, ``model_version``, ``label``, ``probability``, ``count`` (batch size) and, on a
single prediction, ``text_length`` (the review's characters).
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

from app.backend.supervision import Supervised

log = logging.getLogger(__name__)
ACCESS_LOGGER = "app.backend.access"
_HANDLER_MARK = "_rotten_potatoes_json"
_STOP = object()
# How often the shipper looks for more records while it fills a batch (at most ES_FLUSH_SECONDS).
POLL_SECONDS = 0.05


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
    """Bounded queue + supervised background thread + ``_bulk``. ``submit`` never blocks.

    Index: ``<prefix>-YYYY.MM.DD`` from the record's UTC ``@timestamp``. When Elasticsearch is
    unreachable or answers 429/5xx, the batch in hand is kept and retried with back-off (1 s
    doubling to ``max_backoff``) while new records queue; a full queue drops and counts. Items
    Elasticsearch refuses one by one (a mapping conflict) are dropped and counted, not retried.

    A hand-written ``_bulk`` client rather than the ``elasticsearch`` package's bulk helpers: the
    one call it makes needs no more, the package would add its transport stack to the image, and
    its product check refuses any server that is not Elasticsearch itself (OpenSearch, a
    compatible sink).
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
        max_backoff: float = 30.0,
    ) -> None:
        self.bulk_url = url.rstrip("/") + "/_bulk"
        self.index_prefix = index_prefix
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.timeout = timeout
        self.max_backoff = max_backoff
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
        self._pending: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self.thread = Supervised("es-shipper", self._loop, self._stop, max_backoff=max_backoff)

    def start(self) -> None:
        self.thread.start()

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
        """States and counts only: the error itself went to the log."""
        return {
            "status": "unavailable" if self.failing else "ok",
            "dropped": self.dropped,
            "shipped": self.shipped,
            "queued": self._queue.qsize() + len(self._pending),
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

    def send(self, batch: list[dict[str, Any]]) -> bool:
        """One ``_bulk`` call. False when the whole batch should be retried later."""
        request = urllib.request.Request(  # noqa: S310 - the operator's ES_URL
            self.bulk_url, data=self.encode(batch), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = orjson.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                self._failed(f"HTTP {error.code}")
                return False
            self._failed(f"HTTP {error.code}")
            self._drop(len(batch), f"HTTP {error.code}")
            return True
        except (urllib.error.URLError, OSError, ValueError) as error:
            self._failed(f"{type(error).__name__}: {error}")
            return False
        failed = 0
        if isinstance(body, dict) and body.get("errors"):
            for item in body.get("items", []):
                result = next(iter(item.values()), {})
                if int(result.get("status", 200)) >= 300:
                    failed += 1
        if failed:
            self._drop(failed, "bulk item errors")
        with self._counts_lock:
            self.shipped += len(batch) - failed
        if self.failing:
            log.info("Elasticsearch accepts log records again")
        self.failing = False
        return True

    def _failed(self, reason: str) -> None:
        if not self.failing:
            log.warning("Elasticsearch unavailable, log records wait (%s)", reason)
        self.failing = True
        self.last_error = reason

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """Up to batch_size records within flush_seconds; None when asked to stop.

        Once a batch has begun, the queue is polled every ``POLL_SECONDS`` rather than waited
        on: a thread waiting on the queue is woken by every ``submit``, which under load meant a
        thread switch and a hand-over of the GIL from the event loop for every request.
        """
        try:
            first = self._queue.get(timeout=self.flush_seconds)
        except queue.Empty:
            return []
        if first is _STOP:
            self._stop.set()
            return None
        batch = [first]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    break
                self._stop.wait(min(remaining, POLL_SECONDS))
                continue
            if item is _STOP:
                self._stop.set()
                break
            batch.append(item)
        return batch

    def _loop(self) -> None:
        backoff = 1.0
        while True:
            if not self._pending:
                batch = self._next_batch()
                if batch is None:
                    return
                self._pending = batch
            if not self._pending:
                if self._stop.is_set():
                    return
                continue
            try:
                delivered = self.send(self._pending)
            except Exception:
                # Whatever went wrong with this batch would go wrong again: drop it, count it,
                # and let the supervisor log the error and restart the loop.
                self._drop(len(self._pending), "unexpected error")
                self._pending = []
                raise
            if delivered:
                self._pending = []
                backoff = 1.0
            elif self._stop.is_set():
                self._drop(len(self._pending), "stopped while Elasticsearch was unavailable")
                self._pending = []
                return
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            if self._stop.is_set() and not self._pending and self._queue.empty():
                return

    def stop(self, timeout: float = 2.0) -> None:
        """Ship what is queued (one attempt), then end the thread."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self.thread.join(timeout)
