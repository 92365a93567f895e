"""A local HTTP double of the two Vault endpoints the backend calls, and nothing more.

This is a test double, not Vault: no Vault binary can be downloaded on the machines that run
these tests (no vendor download site is reachable), so the backend's client is exercised here
against the documented request and answer shapes of

- ``POST /v1/auth/<mount>/login`` (Kubernetes auth: ``{"role", "jwt"}`` in,
  ``{"auth": {"client_token"}}`` out; 400 for an unknown role or a rejected JWT), and
- ``GET /v1/<kv mount>/data/<path>`` (KV v2 read with ``X-Vault-Token``: ``{"data": {"data"}}``;
  403 ``permission denied`` for a bad or expired token; 404 for a missing path).

Every request is recorded so the tests can check what the client sent. The real Vault server is
exercised by the vault role's `online` Molecule scenario.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class VaultDouble:
    """What the double accepts and holds; ``url`` is set once it listens."""

    role: str = "rotten-potatoes-backend"
    auth_mount: str = "kubernetes"
    kv_mount: str = "secret"
    jwt: str = field(default_factory=lambda: "jwt-" + secrets.token_urlsafe(24))
    token: str = field(default_factory=lambda: "hvs." + secrets.token_urlsafe(24))
    kv: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def answer(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        if request.method == "POST" and request.path == f"/v1/auth/{self.auth_mount}/login":
            body = request.body or {}
            if body.get("role") != self.role:
                return 400, {"errors": [f'invalid role name "{body.get("role")}"']}
            if body.get("jwt") != self.jwt:
                return 403, {"errors": ["permission denied"]}
            return 200, {"auth": {"client_token": self.token, "lease_duration": 3600}}
        prefix = f"/v1/{self.kv_mount}/data/"
        if request.method == "GET" and request.path.startswith(prefix):
            if request.headers.get("x-vault-token") != self.token:
                return 403, {"errors": ["permission denied"]}
            values = self.kv.get(request.path.removeprefix(prefix))
            if values is None:
                return 404, {"errors": []}
            return 200, {"data": {"data": values, "metadata": {"version": 1}}}
        return 405, {"errors": [f"unsupported path {request.path!r}"]}


def _handler(double: VaultDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Recorded(
                method=self.command,
                path=self.path,
                headers={key.lower(): value for key, value in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            double.requests.append(request)
            status, body = double.answer(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815 - http.server's naming
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read double.requests instead."""

    return Handler


@contextmanager
def serve(double: VaultDouble, *, tls: tuple[Path, Path] | None = None) -> Iterator[VaultDouble]:
    """Listen on 127.0.0.1 (a free port) in a thread; ``tls`` is (certificate, key)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(double))
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    double.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
