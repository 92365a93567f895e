"""A stand-in for Elasticsearch in the chaos suite: it speaks the part of the HTTP API the
backend's log shipper uses (``POST /_bulk`` with NDJSON ``create`` actions), answers like
Elasticsearch 8 (per-item status, ``errors``), and keeps the documents' request ids so the test
can count them (``GET /_rp/docs``). Not Elasticsearch: no search, no mapping, no persistence.

Runs with the standard library only (the Python base image): ``python3 es_sink.py PORT``.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCS: list[str] = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/_rp/docs":
            with LOCK:
                self._answer(200, {"count": len(DOCS), "request_ids": list(DOCS)})
        else:
            self._answer(200, {"version": {"number": "8.19.0"}, "tagline": "stand-in"})

    def do_POST(self) -> None:
        if self.path != "/_bulk":
            self._answer(404, {"error": f"no {self.path} here"})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        items = []
        with LOCK:
            for action, document in zip(lines[0::2], lines[1::2], strict=True):
                if "create" not in action or not action["create"].get("_index"):
                    items.append({"create": {"status": 400, "error": {"type": "bad_action"}}})
                    continue
                DOCS.append(str(document.get("request_id")))
                items.append({"create": {"status": 201, "result": "created"}})
        self._answer(200, {"errors": any(i["create"]["status"] >= 300 for i in items),
                           "items": items})  # fmt: skip

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()  # noqa: S104 - in its container
