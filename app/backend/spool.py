"""The local durable outbox every prediction record goes through before the database.

A sqlite file in WAL mode. Appends run on the request path (one short transaction, tens of
microseconds with ``synchronous=NORMAL``); the flusher reads events in ``seq`` order and deletes
them only after the database committed them. Events are predictions and feedback, so feedback for
a record that is still spooled is applied after its prediction, in order.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

Kind = Literal["prediction", "feedback"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_request_id ON events (request_id);
"""


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: Kind
    request_id: str
    payload: dict[str, Any]


class Spool:
    """Thread-safe: one connection, one lock; every operation is a single short transaction."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._depth = int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])
        self.appended = 0

    @property
    def depth(self) -> int:
        """Events waiting for the database."""
        return self._depth

    def append_predictions(self, records: list[dict[str, Any]]) -> None:
        rows = [("prediction", r["request_id"], orjson.dumps(r)) for r in records]
        with self._lock:
            if len(rows) == 1:
                self._db.execute(
                    "INSERT INTO events (kind, request_id, payload) VALUES (?,?,?)", rows[0]
                )
            else:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(
                        "INSERT INTO events (kind, request_id, payload) VALUES (?,?,?)", rows
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            self._depth += len(rows)
            self.appended += len(rows)

    def append_feedback(self, request_id: str, label: str, at: str) -> None:
        payload = orjson.dumps(
            {"request_id": request_id, "feedback_label": label, "feedback_at": at}
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO events (kind, request_id, payload) VALUES ('feedback',?,?)",
                (request_id, payload),
            )
            self._depth += 1

    def has_prediction(self, request_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM events WHERE request_id=? AND kind='prediction' LIMIT 1",
                (request_id,),
            ).fetchone()
        return row is not None

    def peek(self, limit: int) -> list[Event]:
        """The oldest events, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, request_id, payload FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Event(seq, kind, rid, orjson.loads(payload)) for seq, kind, rid, payload in rows]

    def delete_through(self, seq: int) -> int:
        """Forget every event up to ``seq`` (after the database committed them)."""
        with self._lock:
            deleted = self._db.execute("DELETE FROM events WHERE seq <= ?", (seq,)).rowcount
            self._depth = max(0, self._depth - deleted)
        return deleted

    def recent_predictions(self, limit: int) -> list[dict[str, Any]]:
        """The newest spooled predictions, with any spooled feedback applied."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM events WHERE kind='prediction' ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
            feedback = self._db.execute(
                "SELECT request_id, payload FROM events WHERE kind='feedback' ORDER BY seq"
            ).fetchall()
        latest = {rid: orjson.loads(payload) for rid, payload in feedback}
        records = []
        for (payload,) in rows:
            record = orjson.loads(payload)
            if (fb := latest.get(record["request_id"])) is not None:
                record["feedback_label"] = fb["feedback_label"]
                record["feedback_at"] = fb["feedback_at"]
            records.append(record)
        return records

    def close(self) -> None:
        with self._lock:
            self._db.close()
