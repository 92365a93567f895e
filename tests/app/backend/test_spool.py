"""The spool and the flusher: order, idempotency, outage and recovery, shutdown, supervision."""

from __future__ import annotations

from pathlib import Path

import orjson

from app.backend.flusher import Flusher
from app.backend.spool import Event, Spool
from app.backend.storage import Database
from tests.app.backend.conftest import wait_until


def record(request_id: str, created_at: str = "2026-01-01T00:00:00.000000+00:00") -> dict:
    return {
        "request_id": request_id,
        "text": "t",
        "text_sha256": "0" * 64,
        "text_length": 1,
        "label": "positive",
        "probability": 0.9,
        "positive_probability": 0.9,
        "model_name": "m",
        "model_version": "1",
        "latency_ms": 1.0,
        "created_at": created_at,
        "feedback_label": None,
        "feedback_at": None,
    }


def event(seq: int, kind: str, request_id: str, payload: dict) -> Event:
    return Event(seq, kind, request_id, orjson.dumps(payload))  # type: ignore[arg-type]


def test_spool_persists_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append_predictions([record("a")])
    spool.append_predictions([record("b"), record("c")])
    spool.append_feedback("a", "negative", "2026-01-01T00:00:01+00:00")
    assert spool.depth == 4
    size = spool.bytes
    spool.close()

    reopened = Spool(tmp_path / "spool.sqlite3")
    assert reopened.depth == 4
    assert reopened.bytes == size
    events = reopened.peek(10)
    assert [(e.kind, e.request_id) for e in events] == [
        ("prediction", "a"), ("prediction", "b"), ("prediction", "c"), ("feedback", "a"),
    ]  # fmt: skip
    assert sum(e.size for e in events) == size
    assert reopened.has_prediction("b")
    assert not reopened.has_prediction("zz")
    recent = reopened.recent_predictions(2)
    assert [r["request_id"] for r in recent] == ["c", "b"]
    assert reopened.recent_predictions(5)[-1]["feedback_label"] == "negative"
    assert reopened.remove(events[:2]) == 2
    assert reopened.depth == 2
    assert reopened.bytes == sum(e.size for e in events[2:])
    reopened.close()


def test_replayed_batch_never_duplicates(tmp_path: Path) -> None:
    """A crash between the database commit and the spool delete replays the batch: no dupes."""
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    database.migrate()
    events = [event(1, "prediction", "a", record("a")), event(2, "prediction", "b", record("b"))]
    database.apply(events)
    database.apply(events)
    feedback = {"feedback_label": "negative", "feedback_at": "2026-01-02T00:00:00+00:00"}
    database.apply([event(3, "feedback", "a", feedback)])
    assert database.count() == 2
    rows = {r["request_id"]: r for r in database.recent(10)}
    assert rows["a"]["feedback_label"] == "negative"
    database.dead_letter(events[0], "test")
    database.dead_letter(events[0], "test")  # the same event set aside twice: one row
    assert database.dead_letter_count() == 1
    database.dispose()


class FlakyDatabase:
    """Wraps a real database; fails like a refused connection while ``down`` is set."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner
        self.down = True

    def _check(self) -> None:
        if self.down:
            raise ConnectionRefusedError("database down")

    def migrate(self) -> None:
        self._check()
        self.inner.migrate()

    def ping(self) -> None:
        self._check()

    def apply(self, events: list[Event]) -> None:
        self._check()
        self.inner.apply(events)

    def dead_letter(self, event: Event, error: str) -> None:
        self._check()
        self.inner.dead_letter(event, error)

    def dead_letter_count(self) -> int:
        self._check()
        return self.inner.dead_letter_count()


def test_flusher_backs_off_then_drains(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    inner = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    database = FlakyDatabase(inner)
    flusher = Flusher(spool, database, batch_size=7, interval=0.02, max_backoff=0.1)  # type: ignore
    flusher.start()
    for index in range(25):
        spool.append_predictions([record(f"r{index:02d}")])
    wait_until(lambda: flusher.failures >= 2, 5, "flusher retried")
    state = flusher.state()
    assert state["status"] == "degraded"
    assert state["spooled"] == 25
    assert "error" not in state
    database.down = False
    wait_until(lambda: spool.depth == 0, 5, "spool drained")
    assert flusher.state() == {
        "status": "ok", "spooled": 0, "spool_bytes": 0, "spool_full": False, "dead_letters": 0,
    }  # fmt: skip
    assert flusher.flushed == 25
    assert flusher.dead_lettered == 0  # a refused connection is never a dead letter
    assert inner.count() == 25
    assert flusher.stop(1.0) == 0
    spool.close()
    inner.dispose()


def test_shutdown_leaves_unflushable_records_in_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3")
    inner = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    database = FlakyDatabase(inner)
    flusher = Flusher(spool, database, interval=0.02, max_backoff=0.05)  # type: ignore[arg-type]
    flusher.start()
    spool.append_predictions([record("x"), record("y")])
    assert flusher.stop(0.5) == 2
    spool.close()
    assert Spool(tmp_path / "spool.sqlite3").depth == 2
    inner.dispose()


def test_damaged_spool_payload_is_a_dead_letter(tmp_path: Path) -> None:
    """A payload that is not JSON (a damaged file) is set aside; the events around it flow."""
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append_predictions([record("a")])
    spool._db.execute(  # what a damaged page could leave
        "INSERT INTO events (kind, request_id, payload) VALUES ('prediction', 'b', x'00ff')"
    )
    spool.append_predictions([record("c")])
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    flusher = Flusher(spool, database, interval=0.02)
    flusher.start()
    wait_until(lambda: spool.depth == 0, 5, "spool drained")
    assert {r["request_id"] for r in database.recent(10)} == {"a", "c"}
    assert flusher.dead_lettered == 1
    assert database.dead_letter_count() == 1
    flusher.stop(1.0)
    spool.close()
    database.dispose()


def test_flusher_survives_an_unexpected_exception(tmp_path: Path) -> None:
    """A bug in a flush is logged, backed off and the loop restarted: the thread never ends."""
    spool = Spool(tmp_path / "spool.sqlite3")
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    flusher = Flusher(spool, database, interval=0.02)
    flusher.thread.min_backoff = 0.01
    original = database.apply
    calls = {"n": 0}

    def buggy(events):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise AttributeError("a bug, not the database")
        return original(events)

    database.apply = buggy  # type: ignore[method-assign]
    flusher.start()
    spool.append_predictions([record("a"), record("b")])
    wait_until(lambda: spool.depth == 0, 5, "drained after the bug passed")
    assert flusher.thread.errors == 2
    assert flusher.thread.state == "running"
    assert flusher.dead_lettered == 0  # a bug is not the record's fault
    flusher.stop(1.0)
    assert flusher.thread.state == "stopped"
    spool.close()
    database.dispose()
