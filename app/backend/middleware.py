"""One pure-ASGI middleware: API key, body limit, UTF-8 bodies, then the access log and metrics.

Pure ASGI (no BaseHTTPMiddleware) keeps the per-request overhead to a few microseconds. After its
checks, the common ``POST /predict`` is answered by routes/predict_fast.py without entering
FastAPI; every other request, and every one that path declines, goes on to the app.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.backend.logs import ACCESS_LOGGER, utc_timestamp
from app.backend.routes import predict_fast

OPEN_PATHS = frozenset({"/health", "/ready", "/metrics", "/docs", "/openapi.json", "/redoc"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _not_utf8(body: bytes) -> list[dict[str, Any]] | None:
    """A 422 detail when ``body`` is not UTF-8 (RFC 8259 JSON must be), else None.

    Python's JSON parser would otherwise accept UTF-16/32 bodies and decode UTF-8-encoded
    surrogates into lone surrogates, which nothing downstream can encode.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = body[error.start : error.start + 1].hex()
        reason = f"body is not UTF-8: {error.reason} (byte 0x{byte} at offset {error.start})"
        return [{"type": "json_invalid", "loc": ["body", error.start], "msg": reason}]
    return None


async def _send_error(send: Send, status: int, detail: object) -> None:
    body = orjson.dumps({"detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, api_key: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes
        self.access = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        info: dict[str, Any] = {}
        scope["rp"] = info

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            rejection = self._check_headers(scope)
            body = None
            if rejection is None and scope["method"] in BODY_METHODS:
                body, receive, rejection = await self._buffer_body(receive)
            if rejection is not None:
                status = rejection[0]
                await _send_error(send, *rejection)
                return
            if (
                body is not None
                and predict_fast.takes(scope)
                and await predict_fast.answer(scope, body, info, send_wrapper)
            ):
                return
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, info, status, time.perf_counter() - started)

    def _check_headers(self, scope: Scope) -> tuple[int, object] | None:
        presented: bytes | None = None
        length: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                presented = value
            elif name == b"content-length":
                length = value
        if (
            self.api_key is not None
            and scope["path"] not in OPEN_PATHS
            and not hmac.compare_digest(presented or b"", self.api_key)
        ):
            return 401, "missing or invalid X-API-Key header"
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return 400, "invalid Content-Length header"
            if declared > self.max_body_bytes:
                return 413, f"request body over {self.max_body_bytes} bytes"
        return None

    async def _buffer_body(
        self, receive: Receive
    ) -> tuple[bytes, Receive, tuple[int, object] | None]:
        """Read the whole body (bounded) before any parsing; replay it to the app."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                chunks = []
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", receive, (413, f"request body over {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if (invalid := _not_utf8(body)) is not None:
            return body, receive, (422, invalid)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return body, replay, None

    def _record(self, scope: Scope, info: dict[str, Any], status: int, seconds: float) -> None:
        route_path = info.get("route") or getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None) if app else None
        if runtime is not None:
            runtime.metrics.observe_request(route_path, method, status, seconds)
        fields = {
            "request_id": info.get("request_id") or uuid.uuid4().hex,
            "route": route_path,
            "method": method,
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "model_version": info.get("model_version"),
            "label": info.get("label"),
            "probability": info.get("probability"),
        }
        if "count" in info:
            fields["count"] = info["count"]
        if "text_length" in info:
            fields["text_length"] = info["text_length"]
        self.access.info("%s %s %d", method, route_path, status, extra={"fields": fields})
        if runtime is not None and runtime.shipper is not None:
            runtime.shipper.submit({"@timestamp": utc_timestamp(), "message": "request", **fields})
