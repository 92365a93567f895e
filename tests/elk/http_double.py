"""A local stand-in for Elasticsearch and Kibana 8 that records every request.

It speaks the few endpoints the elk role calls, with their real status codes and body shapes
(401 for a wrong password, 404 for a missing object, 409 for a data view that exists, 400 for a
Kibana write without kbn-xsrf), keeps state between requests (so a second run sees what the first
created) and can be told to answer 503 a number of times first. It is a test double: what it
proves is what the role sends and how it reads the answers, not that Elasticsearch accepts them
(the online Molecule scenario does that).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Answer = tuple[int, Any]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def user(self) -> str | None:
        header = self.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        return base64.b64decode(header[6:]).decode().split(":", 1)[0]

    def multipart_file(self) -> tuple[str, str, str]:
        """(filename, content type, text) of the one file of a multipart/form-data body."""
        raw = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode() + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        part = next(iter(message.iter_parts()))
        payload = part.get_payload(decode=True)
        return part.get_filename() or "", part.get_content_type(), payload.decode()


@dataclass
class StackState:
    """What the double knows: users and their passwords, and the objects the role creates."""

    elastic_password: str
    kibana_system_password: str | None = None
    health: str = "green"
    kibana_levels: list[str] = field(default_factory=lambda: ["available"])
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved_objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # A data view that exists (409 on create) but that GET does not find, as in a race with
    # another run, or a title taken by another id (400 Duplicate).
    data_view_create_answer: Answer | None = None
    # (method, path) -> how many 503s to answer before the real answer.
    unavailable: dict[tuple[str, str], int] = field(default_factory=dict)

    def password_of(self, user: str) -> str | None:
        if user == "elastic":
            return self.elastic_password
        if user == "kibana_system":
            return self.kibana_system_password
        return self.users.get(user, {}).get("password")


UNAUTHORIZED: Answer = (
    401,
    {
        "error": {"type": "security_exception", "reason": "unable to authenticate user"},
        "status": 401,
    },
)


def _not_found(what: str) -> Answer:
    return 404, {"error": {"type": "resource_not_found_exception", "reason": f"{what} missing"}}


class StackDouble:
    def __init__(self, state: StackState) -> None:
        self.state = state
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(
                    self.command,
                    self.path,
                    {key.lower(): value for key, value in self.headers.items()},
                    body,
                )
                with outer._lock:
                    outer.requests.append(record)
                    status, payload = outer.answer(record)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="security"')
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- What the role sent ----------------------------------------------------------------------

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in {"POST", "PUT"}]

    # --- How it answers --------------------------------------------------------------------------

    def _authenticated(self, record: Recorded) -> str | None:
        header = record.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        expected = self.state.password_of(user)
        return user if expected is not None and password == expected else None

    def answer(self, record: Recorded) -> Answer:
        path = urlsplit(record.path).path
        key = (record.method, path)
        if self.state.unavailable.get(key, 0) > 0:
            self.state.unavailable[key] -= 1
            return 503, {"error": "service unavailable (test double)"}
        user = self._authenticated(record)
        if user is None:
            return UNAUTHORIZED
        if path.startswith("/api/"):
            if record.method != "GET" and "kbn-xsrf" not in record.headers:
                return 400, {
                    "statusCode": 400,
                    "message": "Request must contain a kbn-xsrf header.",
                }
            return self._kibana(record, path)
        return self._elasticsearch(record, path, user)

    def _elasticsearch(self, record: Recorded, path: str, user: str) -> Answer:
        state, method = self.state, record.method
        parts = path.strip("/").split("/")
        if path == "/_security/_authenticate":
            return 200, {"username": user, "enabled": True}
        if user != "elastic":
            return 403, {"error": {"type": "security_exception", "reason": "action unauthorized"}}
        if path == "/_cluster/health":
            red = state.health == "red"
            return 200, {
                "cluster_name": "rotten-potatoes-logs",
                "status": state.health,
                "active_primary_shards": 3 if red else 4,
                "unassigned_shards": 1 if red else 0,
            }
        if path == "/_cluster/allocation/explain":
            if state.health != "red":
                return 400, {"error": {"reason": "unable to find any unassigned shards to explain"}}
            return 200, {
                "index": "rotten_potatoes_logs-2026.01.02",
                "shard": 0,
                "primary": True,
                "current_state": "unassigned",
                "unassigned_info": {"reason": "ALLOCATION_FAILED", "details": "disk full"},
                "can_allocate": "no",
                "allocate_explanation": "Elasticsearch isn't allowed to allocate this shard",
            }
        if path == "/_security/user/kibana_system/_password" and method == "POST":
            state.kibana_system_password = record.json["password"]
            return 200, {}
        if parts[:2] == ["_security", "role"] and len(parts) == 3:
            return self._document(state.roles, parts[2], record, "role")
        if parts[:2] == ["_security", "user"] and len(parts) == 3:
            if method == "PUT":
                created = parts[2] not in state.users
                state.users[parts[2]] = record.json
                return 200, {"created": created}
            if parts[2] not in state.users:
                return 404, {}
            shown = {k: v for k, v in state.users[parts[2]].items() if k != "password"}
            return 200, {parts[2]: {"username": parts[2], **shown}}
        if parts[0] == "_index_template" and len(parts) == 2:
            if method == "PUT":
                state.templates[parts[1]] = record.json
                return 200, {"acknowledged": True}
            if parts[1] not in state.templates:
                return _not_found(f"index template [{parts[1]}]")
            template = {"name": parts[1], "index_template": state.templates[parts[1]]}
            return 200, {"index_templates": [template]}
        return 400, {"error": {"reason": f"the double has no {method} {path}"}}

    @staticmethod
    def _document(store: dict[str, Any], name: str, record: Recorded, kind: str) -> Answer:
        if record.method == "PUT":
            created = name not in store
            store[name] = record.json
            return 200, {kind: {"created": created}}
        if name not in store:
            return 404, {}
        return 200, {name: store[name]}

    def _kibana(self, record: Recorded, path: str) -> Answer:
        state, method = self.state, record.method
        if path == "/api/status":
            level = state.kibana_levels[0]
            if len(state.kibana_levels) > 1:
                state.kibana_levels.pop(0)
            summary = (
                "All services and plugins are available"
                if level == "available"
                else ("1 service is degraded: savedObjects")
            )
            overall = {"level": level, "summary": summary}
            return (200 if level == "available" else 503), {"status": {"overall": overall}}
        if path.startswith("/api/data_views/data_view/") and method == "GET":
            view_id = path.rsplit("/", 1)[1]
            if view_id not in state.data_views:
                return 404, {
                    "statusCode": 404,
                    "message": f"Saved object [index-pattern/{view_id}] not found",
                }
            return 200, {"data_view": state.data_views[view_id]}
        if path == "/api/data_views/data_view" and method == "POST":
            if state.data_view_create_answer is not None:
                return state.data_view_create_answer
            view = record.json["data_view"]
            if view["id"] in state.data_views:
                return 409, {"statusCode": 409, "message": f"Duplicate data view: {view['title']}"}
            state.data_views[view["id"]] = view
            return 200, {"data_view": view}
        if path.startswith("/api/saved_objects/dashboard/") and method == "GET":
            object_id = path.rsplit("/", 1)[1]
            found = state.saved_objects.get(("dashboard", object_id))
            if found is None:
                return 404, {"statusCode": 404, "message": "Saved object not found"}
            return 200, found
        if path == "/api/saved_objects/_import" and method == "POST":
            _, _, text = record.multipart_file()
            objects = [json.loads(line) for line in text.splitlines() if line.strip()]
            for obj in objects:
                state.saved_objects[(obj["type"], obj["id"])] = obj
            return 200, {"success": True, "successCount": len(objects)}
        return 400, {"statusCode": 400, "message": f"the double has no {method} {path}"}


@contextmanager
def running(state: StackState) -> Iterator[StackDouble]:
    double = StackDouble(state)
    thread = threading.Thread(target=double.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        double.server.shutdown()
        double.server.server_close()
