"""A tiny fake of the prediction API: a real HTTP server on 127.0.0.1, in a thread.

It speaks the contract in DESIGN.md ("Serving"), so the page's tests are fast and do not depend
on app/backend. Tests script failures per path through :meth:`FakeBackend.override`.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

MODEL_CARD = {
    "name": "imdb-sentiment",
    "version": "7",
    "run_id": "0123456789abcdef0123456789abcdef",
    "git_sha": "3e8f2ba5c0ffee",
    "data_md5": "d41d8cd98f00b204e9800998ecf8427e",
    "data_version": "2",
    "metrics": {"accuracy": 0.9123, "f1": 0.9101, "roc_auc": 0.9712},
    "trained_at": "2026-11-26T18:00:00Z",
}


@dataclass
class Canned:
    """A scripted answer: status, raw body, optional delay before answering."""

    status: int
    body: bytes
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class FakeBackend:
    url: str
    predictions: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    overrides: dict[tuple[str, str], Canned] = field(default_factory=dict)
    # True: answer explain: true with the backend's 501 (a model without the compiled scorer).
    cannot_explain: bool = False

    def override(
        self,
        method: str,
        path: str,
        status: int,
        body: object = None,
        *,
        raw: bytes | None = None,
        delay: float = 0.0,
    ) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        self.overrides[(method, path)] = Canned(status, payload, delay)

    def reset(self) -> None:
        self.predictions.clear()
        self.feedback.clear()
        self.requests.clear()
        self.overrides.clear()
        self.cannot_explain = False

    # The contract ---------------------------------------------------------------------------

    def predict_one(self, text: str, explain: bool = False) -> dict[str, Any]:
        words = text.lower()
        positive = sum(words.count(word) for word in POSITIVE_WORDS)
        negative = sum(words.count(word) for word in NEGATIVE_WORDS)
        label = "positive" if positive >= negative else "negative"
        record = {
            "label": label,
            "probability": 0.93 if label == "positive" else 0.88,
            "model_version": MODEL_CARD["version"],
            "request_id": uuid.uuid4().hex,
            "text": text,
            "created_at": "2026-11-26T19:00:00Z",
        }
        self.predictions.insert(0, record)
        if explain:
            return {**record, "explanation": explanation_of(words)}
        return record

    def answer(self, method: str, path: str, query: str, body: Any) -> tuple[int, object]:
        if method == "GET" and path == "/health":
            return 200, {"status": "ok"}
        if method == "GET" and path == "/ready":
            return 200, {"status": "ready"}
        if method == "GET" and path == "/version":
            return 200, MODEL_CARD
        if method == "GET" and path == "/predictions":
            limit = int(parse_qs(query).get("limit", ["20"])[0])
            return 200, self.predictions[:limit]
        if method == "POST" and path == "/predict":
            text = body.get("text") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip():
                return 422, _validation_error(["body", "text"], "Value error, text is blank")
            if len(text) > 20_000:
                return 422, _validation_error(
                    ["body", "text"], "String should have at most 20000 characters"
                )
            explain = body.get("explain", False)
            if explain and self.cannot_explain:
                return 501, {"detail": CANNOT_EXPLAIN}
            return 200, self.predict_one(text, explain is True)
        if method == "POST" and path == "/predict/batch":
            texts = body.get("texts") if isinstance(body, dict) else None
            if not isinstance(texts, list) or not 1 <= len(texts) <= 256:
                return 422, _validation_error(
                    ["body", "texts"], "List should have between 1 and 256 items"
                )
            return 200, [self.predict_one(str(text)) for text in texts]
        if method == "POST" and path == "/feedback":
            known = {record["request_id"] for record in self.predictions}
            if not isinstance(body, dict) or body.get("request_id") not in known:
                return 404, {"detail": "Unknown request_id"}
            self.feedback.append(body)
            return 200, {"request_id": body["request_id"], "stored": True}
        return 404, {"detail": "Not Found"}


POSITIVE_WORDS = ("good", "great", "loved", "best")
NEGATIVE_WORDS = ("bad", "awful", "boring", "worst")
CANNOT_EXPLAIN = (
    "explanations need the compiled linear scorer, which is off for model imdb-sentiment "
    "version 7 (not reproduced: TfidfVectorizer binary=True); send the request without explain"
)


def explanation_of(words: str) -> dict[str, object]:
    """The backend's ``explanation`` shape: +/-1 per occurrence of the fake's words."""
    positive = [
        {"term": word, "contribution": float(words.count(word))}
        for word in POSITIVE_WORDS
        if word in words
    ]
    negative = [
        {"term": word, "contribution": -float(words.count(word))}
        for word in NEGATIVE_WORDS
        if word in words
    ]
    logit = 0.1 + sum(item["contribution"] for item in positive + negative)
    return {
        "positive": positive,
        "negative": negative,
        "intercept": 0.1,
        "other": 0.0,
        "logit": logit,
    }


def _validation_error(loc: list[str], msg: str) -> dict[str, object]:
    return {"detail": [{"type": "value_error", "loc": loc, "msg": msg, "input": None}]}


def _handler(backend: FakeBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            backend.requests.append((method, parts.path, dict(self.headers.items())))
            canned = backend.overrides.get((method, parts.path))
            if canned is not None:
                time.sleep(canned.delay)
                self._send(canned.status, canned.body, canned.content_type)
                return
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                self._send(400, b'{"detail": "There was an error parsing the body"}')
                return
            status, payload = backend.answer(method, parts.path, parts.query, body)
            self._send(status, json.dumps(payload).encode())

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def _fake_backend_server() -> Iterator[FakeBackend]:
    backend = FakeBackend(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(backend))
    server.daemon_threads = True
    backend.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-backend", daemon=True)
    thread.start()
    try:
        yield backend
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_backend(_fake_backend_server: FakeBackend) -> Iterator[FakeBackend]:
    """The running fake API, emptied before each test."""
    _fake_backend_server.reset()
    yield _fake_backend_server
    _fake_backend_server.reset()


@pytest.fixture
def page_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment for the page's settings (AppTest reads it at every run)."""
    for name in ("API_URL", "API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("FRONTEND_"):
            monkeypatch.delenv(name)
    return monkeypatch
