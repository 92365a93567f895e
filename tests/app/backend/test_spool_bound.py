"""The spool's byte bound (SPOOL_MAX_BYTES): refusals, never eviction, and the file it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backend.spool import EVENT_OVERHEAD_BYTES, WAL_MAX_BYTES, Spool, SpoolFullError
from tests.app.backend.test_spool import record


def test_a_full_spool_refuses_and_keeps_everything(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=10_000)
    count = 0
    with pytest.raises(SpoolFullError, match="SPOOL_MAX_BYTES"):
        while True:
            spool.append_predictions([record(f"{count:032x}")])
            count += 1
    assert spool.depth == count
    assert spool.bytes <= 10_000
    assert spool.refused == 1
    with pytest.raises(SpoolFullError):  # a batch is refused whole, nothing of it written
        spool.append_predictions([record("x" * 32), record("y" * 32)])
    assert spool.depth == count
    assert [e.request_id for e in spool.peek(count)] == [f"{i:032x}" for i in range(count)]
    spool.remove(spool.peek(count // 2))
    spool.append_predictions([record("z" * 32)])  # room again once the flusher took some
    assert spool.depth == count - count // 2 + 1


def test_file_on_disk_stays_near_the_bound(tmp_path: Path) -> None:
    """Filled to the bound with review-sized records, drained, filled again: the file stays
    within 1.3x SPOOL_MAX_BYTES and its WAL within WAL_MAX_BYTES."""
    bound = 16 * 1024 * 1024
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path, max_bytes=bound)
    text = "a thoughtful review of a film " * 43  # ~1,300 characters, the IMDB mean
    for _round in range(2):
        index = 0
        try:
            while True:
                spool.append_predictions([{**record(f"{index:032x}"), "text": text}])
                index += 1
        except SpoolFullError:
            pass
        assert spool.bytes > bound - 2 * (1300 + 400 + EVENT_OVERHEAD_BYTES)
        assert path.stat().st_size <= 1.3 * bound, path.stat().st_size
        assert Path(f"{path}-wal").stat().st_size <= WAL_MAX_BYTES
        while spool.depth:
            spool.remove(spool.peek(500))
    spool.close()


def test_full_spool_is_a_503_with_retry_after(app_factory, tiny_model: Path, tmp_path) -> None:
    not_a_file = tmp_path / "a-directory"  # a database that cannot be opened: nothing drains
    not_a_file.mkdir()
    client = app_factory(
        model_path=tiny_model,
        database_url=f"sqlite:///{not_a_file}",
        spool_max_bytes=64 * 1024,
        spool_full_retry_after_seconds=17,
    )
    statuses = []
    for _ in range(200):
        response = client.post("/predict", json={"text": "a wonderful film " * 20})
        statuses.append(response.status_code)
        if response.status_code == 503:
            break
    assert statuses[-1] == 503, statuses
    assert set(statuses[:-1]) == {200}
    assert response.headers["retry-after"] == "17"
    assert "spool is full" in response.json()["detail"]
    batch = client.post("/predict/batch", json={"texts": ["good"] * 3})
    assert batch.status_code == 503
    assert batch.headers["retry-after"] == "17"
    ready = client.get("/ready").json()
    assert ready["database"]["spool_full"] is True
    assert ready["database"]["spooled"] == len(statuses) - 1
    metrics = client.get("/metrics").text
    assert "rp_spool_max_bytes 65536.0" in metrics
    assert "rp_spool_refused_total 4.0" in metrics  # one single, one batch of three
    bytes_line = next(line for line in metrics.splitlines() if line.startswith("rp_spool_bytes "))
    assert 0 < float(bytes_line.split()[1]) <= 65536
