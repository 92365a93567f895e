"""Poison isolation on real PostgreSQL: a refused record is found by splitting its batch, set
aside with its reason, listed and replayed by the CLI; the others flow on. A database that is
down makes no dead letters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from sqlalchemy import create_engine, text

from app.backend.flusher import Flusher
from app.backend.spool import Event, Spool
from app.backend.storage import Database
from tests.app.backend.conftest import PostgresCluster, wait_until
from tests.app.backend.test_spool import record

pytestmark = pytest.mark.integration

POISON = "chaos-poison"


def _execute(url: str, statement: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _refuse_marker(url: str) -> None:
    """A rule the service cannot know: the database refuses texts with the marker (SQLSTATE
    23514), as it would refuse a value its column, encoding or a trigger does not allow."""
    _execute(
        url,
        "ALTER TABLE predictions ADD CONSTRAINT no_poison "
        f"CHECK (text IS NULL OR position('{POISON}' in text) = 0)",
    )


def _cli(command: list[str], url: str, repo_root: Path, env: dict[str, str]):
    return subprocess.run(
        [sys.executable, "-m", "app.backend.deadletters", *command],
        cwd=repo_root, env={**env, "DATABASE_URL": url}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_poison_is_isolated_listed_and_replayed(
    pg_url: str, tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]
) -> None:
    database = Database(pg_url)
    database.migrate()
    _refuse_marker(pg_url)
    spool = Spool(tmp_path / "spool.sqlite3")
    ids = [f"{index:032x}" for index in range(300)]
    poison_ids = {ids[7], ids[150], ids[151], ids[299]}
    spool.append_predictions(
        [{**record(i), "text": f"{POISON} {i}" if i in poison_ids else f"fine {i}"} for i in ids]
    )
    spool.append_feedback(ids[7], "negative", "2026-01-02T00:00:00+00:00")  # of a poison one
    spool.append_feedback(ids[8], "negative", "2026-01-02T00:00:00+00:00")
    flusher = Flusher(spool, database, batch_size=128, interval=0.02)
    flusher.start()
    wait_until(lambda: spool.depth == 0, 20, "spool drained around the poison")
    flusher.stop(1.0)
    assert database.count() == 300 - len(poison_ids)
    assert flusher.dead_lettered == len(poison_ids) + 1  # and the feedback of ids[7]
    assert flusher.state()["dead_letters"] == len(poison_ids) + 1

    listed = _cli(["list", "--json"], pg_url, repo_root, subprocess_env)
    assert listed.returncode == 0, listed.stderr
    letters = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert {(e["kind"], e["request_id"]) for e in letters} == {
        ("prediction", i) for i in poison_ids
    } | {("feedback", ids[7])}
    assert all("CheckViolation [23514]" in e["error"] for e in letters if e["kind"] == "prediction")
    assert any("no stored prediction" in e["error"] for e in letters if e["kind"] == "feedback")
    assert "postgres@" not in listed.stdout + listed.stderr  # no URL, no statement, no parameters

    refused = _cli(["replay"], pg_url, repo_root, subprocess_env)
    assert refused.returncode == 1  # the cause is not fixed yet: everything stays
    assert "0 stored, 5 still refused" in refused.stderr
    _execute(pg_url, "ALTER TABLE predictions DROP CONSTRAINT no_poison")
    replayed = _cli(["replay"], pg_url, repo_root, subprocess_env)
    assert replayed.returncode == 0, replayed.stderr
    assert "5 stored, 0 still refused" in replayed.stderr
    assert database.count() == 300
    assert database.dead_letter_count() == 0
    rows = {r["request_id"]: r for r in database.recent(300)}
    assert rows[ids[7]]["feedback_label"] == "negative"  # replayed in order, after its record
    assert rows[ids[8]]["feedback_label"] == "negative"
    spool.close()
    database.dispose()


def test_nul_from_an_older_spool_is_a_dead_letter_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """The edge refuses NUL now; a spool written before that still drains (PostgreSQL's own
    refusal, SQLSTATE 22021, is poison)."""
    database = Database(pg_url)
    database.migrate()
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append_predictions([record("a" * 32), {**record("b" * 32), "text": "nul\x00"}])
    flusher = Flusher(spool, database, interval=0.02)
    flusher.start()
    wait_until(lambda: spool.depth == 0, 10, "drained")
    flusher.stop(1.0)
    assert database.count() == 1
    assert flusher.dead_lettered == 1
    spool.close()
    database.dispose()


def test_an_outage_is_never_dead_lettered(
    postgres: PostgresCluster, pg_url: str, tmp_path: Path
) -> None:
    database = Database(pg_url, connect_timeout=1)
    database.migrate()
    spool = Spool(tmp_path / "spool.sqlite3")
    flusher = Flusher(spool, database, interval=0.02, max_backoff=0.2)
    flusher.start()
    postgres.stop()
    try:
        spool.append_predictions([record(f"{i:032x}") for i in range(50)])
        wait_until(lambda: flusher.failures >= 3, 20, "flusher retried")
        assert flusher.state()["status"] == "degraded"
        assert spool.depth == 50
    finally:
        postgres.start()
    wait_until(lambda: spool.depth == 0, 20, "drained after the outage")
    flusher.stop(1.0)
    assert flusher.dead_lettered == 0
    assert database.count() == 50
    assert database.dead_letter_count() == 0
    spool.close()
    database.dispose()


def test_undecodable_events_keep_their_bytes(pg_url: str) -> None:
    database = Database(pg_url)
    database.migrate()
    damaged = Event(1, "prediction", "c" * 32, b"\x00\xff not json")
    database.dead_letter(damaged, "JSONDecodeError: unexpected character")
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        payload = connection.execute(text("SELECT payload FROM dead_letters")).scalar()
    engine.dispose()
    assert bytes(payload) == damaged.raw
    database.dispose()
