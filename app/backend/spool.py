"""The local durable outbox every prediction record goes through before the database.

A sqlite file in WAL mode. Appends run on the request path (one short transaction, tens of
microseconds with ``synchronous=NORMAL``); the flusher reads events in ``seq`` order and deletes
them only after the database committed them (or took them as dead letters). Events are
predictions and feedback, so feedback for a record that is still spooled is applied after its
prediction, in order.

Bounded: an append that would take the pending events over ``max_bytes`` raises ``SpoolFullError``
and writes nothing (the routes answer 503 with Retry-After); nothing is ever evicted. The bound
counts each event's payload plus ``EVENT_OVERHEAD_BYTES`` for its row and index entry; the file
on disk stays within about 1.2 times that (tests/app/backend/test_spool_bound.py measures it),
plus the WAL: at most ``WAL_MAX_BYTES`` (~4 MiB) before a checkpoint cuts it back to 1 MiB.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

Kind = Literal["prediction", "feedback"]

# seq, kind, request_id (32), the row header and its request_id index entry, rounded up.
EVENT_OVERHEAD_BYTES = 96
WAL_LIMIT_BYTES = 1024 * 1024
WAL_MAX_BYTES = 1000 * 4096 + 64 * 1024  # autocheckpoint pages, plus the batch that crosses it

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_request_id ON events (request_id);
"""
_INSERT = "INSERT INTO events (kind, request_id, payload) VALUES (?,?,?)"


class SpoolFullError(RuntimeError):
    """The append would take the spool over its byte bound; nothing was written."""


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: Kind
    request_id: str
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw) + EVENT_OVERHEAD_BYTES

    def payload(self) -> dict[str, Any]:
        """The decoded payload; raises ``ValueError`` (orjson's) when it is not a JSON object."""
        value = orjson.loads(self.raw)
        if not isinstance(value, dict):
            raise ValueError(f"spooled payload is a {type(value).__name__}, not an object")
        return value


def open_spool_database(path: Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
    connection.execute("PRAGMA busy_timeout=5000")
    # Checkpoint the WAL every 1,000 pages (sqlite's default, ~4 MiB) and cut it back to 1 MiB
    # afterwards: without the limit the WAL keeps its largest size for good.
    connection.execute("PRAGMA wal_autocheckpoint=1000")
    connection.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    connection.executescript(_SCHEMA)
    return connection


def pending_counts(path: Path) -> tuple[int, int]:
    """(events, bytes) waiting in the spool file at ``path``, read by another process (drain)."""
    if not path.exists():
        return 0, 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        events, payload = connection.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM events"
        ).fetchone()
    finally:
        connection.close()
    return int(events), int(payload) + int(events) * EVENT_OVERHEAD_BYTES


class Spool:
    """Thread-safe: one connection, one lock; every operation is a single short transaction."""

    def __init__(self, path: Path, synchronous: str = "NORMAL", max_bytes: int = 2**62) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = open_spool_database(path, synchronous)
        events, payload = self._db.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM events"
        ).fetchone()
        self._depth = int(events)
        self._bytes = int(payload) + self._depth * EVENT_OVERHEAD_BYTES
        self.appended = 0
        self.refused = 0
        self._full = False

    @property
    def depth(self) -> int:
        """Events waiting for the database."""
        return self._depth

    @property
    def bytes(self) -> int:
        """What the waiting events count against ``max_bytes``."""
        return self._bytes

    @property
    def full(self) -> bool:
        """True from a refused append until events leave the spool again."""
        return self._full

    def _append(self, rows: Sequence[tuple[str, str, bytes]], predictions: int) -> None:
        size = sum(len(row[2]) for row in rows) + len(rows) * EVENT_OVERHEAD_BYTES
        with self._lock:
            if self._bytes + size > self.max_bytes:
                self.refused += len(rows)
                self._full = True
                raise SpoolFullError(
                    f"the spool holds {self._bytes} of its {self.max_bytes} bytes "
                    f"(SPOOL_MAX_BYTES); {size} more do not fit"
                )
            if len(rows) == 1:
                self._db.execute(_INSERT, rows[0])
            else:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(_INSERT, rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            self._depth += len(rows)
            self._bytes += size
            self.appended += predictions

    def append_predictions(self, records: list[dict[str, Any]]) -> None:
        rows = [("prediction", r["request_id"], orjson.dumps(r)) for r in records]
        self._append(rows, len(rows))

    def append_feedback(self, request_id: str, label: str, at: str) -> None:
        payload = orjson.dumps(
            {"request_id": request_id, "feedback_label": label, "feedback_at": at}
        )
        self._append([("feedback", request_id, payload)], 0)

    def has_prediction(self, request_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM events WHERE request_id=? AND kind='prediction' LIMIT 1",
                (request_id,),
            ).fetchone()
        return row is not None

    def peek(self, limit: int) -> list[Event]:
        """The oldest events, in order (payloads undecoded: a damaged one is the flusher's case)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, request_id, payload FROM events ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Event(seq, kind, rid, bytes(raw)) for seq, kind, rid, raw in rows]

    def remove(self, events: Sequence[Event]) -> int:
        """Forget ``events`` (the oldest ones, after the database committed them)."""
        if not events:
            return 0
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM events WHERE seq <= ?", (events[-1].seq,)
            ).rowcount
            self._depth = max(0, self._depth - deleted)
            self._bytes = max(0, self._bytes - sum(event.size for event in events))
            self._full = False
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
