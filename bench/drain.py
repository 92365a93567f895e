"""Backlog drain benchmark: ``make bench-drain`` (or ``python -m bench.drain``).

What an outage leaves behind: a spool of N prediction records (hold-out-sized reviews, 1,300
characters on average, as the service writes them), then the service's own flusher (the same
class, batch size and settings as deployed) moving them into a throwaway PostgreSQL 15 on this
host, timed from start to an empty spool. Reported against the backlog size (10k, 100k, 1M by
default) so that any growth of the per-record cost with the backlog shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from app.backend.flusher import Flusher
from app.backend.settings import Settings
from app.backend.spool import Spool
from app.backend.storage import Database
from bench.tools import require
from tests.support.postgres import throwaway_cluster

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "drain.json"
SIZES = (10_000, 100_000, 1_000_000)
TARGET_PER_S = 5_000
FILL_CHUNK = 2_000


def _reviews() -> list[str]:
    """Review-like texts of the IMDB mean length (the data package ships the real ones)."""
    sentence = "a moving film with a fine cast and a dull second half that drags on but the "
    words = (sentence + "ending lands and the score is lovely").split(" ")
    texts = []
    for index in range(512):
        length = 600 + (index * 37) % 1400  # 600..2000 characters, mean ~1,300
        body = " ".join(words[(index + i) % len(words)] for i in range(length // 4))
        texts.append(body[:length])
    return texts


def fill(spool: Spool, count: int) -> float:
    """Append ``count`` records the way /predict/batch does; returns the seconds it took."""
    texts = _reviews()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    started = time.perf_counter()
    for first in range(0, count, FILL_CHUNK):
        records = []
        for index in range(first, min(count, first + FILL_CHUNK)):
            text = texts[index % len(texts)]
            records.append(
                {
                    "request_id": uuid.uuid4().hex,
                    "text": text,
                    "text_sha256": "0" * 64,
                    "text_length": len(text),
                    "label": "positive",
                    "probability": 0.91,
                    "positive_probability": 0.91,
                    "model_name": "imdb-sentiment",
                    "model_version": "1",
                    "latency_ms": 0.4,
                    "created_at": now,
                    "feedback_label": None,
                    "feedback_at": None,
                }
            )
        spool.append_predictions(records)
    return time.perf_counter() - started


def drain(size: int, database_url: str, scratch: Path) -> dict[str, float]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    spool = Spool(scratch / f"spool-{size}.sqlite3", max_bytes=2**62)
    fill_seconds = fill(spool, size)
    spool_mb = spool.bytes / 1e6
    database = Database(database_url)
    database.migrate()
    flusher = Flusher(
        spool, database, batch_size=settings.flush_batch_size,
        interval=settings.flush_interval_seconds, max_backoff=settings.flush_max_backoff_seconds,
    )  # fmt: skip
    started = time.perf_counter()
    flusher.start()
    while spool.depth:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    flusher.stop(5)
    stored = database.count()
    spool.close()
    database.dispose()
    (scratch / f"spool-{size}.sqlite3").unlink()
    assert stored == size, f"{stored} of {size} stored"
    return {
        "backlog": size,
        "spool_mb": round(spool_mb, 1),
        "fill_s": round(fill_seconds, 1),
        "drain_s": round(seconds, 1),
        "records_per_s": round(size / seconds),
        "batch_size": settings.flush_batch_size,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    require("bench-drain", "postgresql")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rp-bench-drain-") as scratch_name, \
            throwaway_cluster("rp-bench-drain-pg-") as cluster:  # fmt: skip
        for size in args.sizes:
            rows.append(drain(size, cluster.create_database(), Path(scratch_name)))
            print(json.dumps(rows[-1]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print("| backlog (records) | spool (MB) | drain (s) | records/s | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        verdict = "met" if row["records_per_s"] >= TARGET_PER_S else "MISSED"
        print(f"| {row['backlog']:,} | {row['spool_mb']} | {row['drain_s']} | "
              f"{row['records_per_s']:,} | >= {TARGET_PER_S:,}: **{verdict}** |")  # fmt: skip
    rates = [row["records_per_s"] for row in rows]
    print(f"median {statistics.median(rates):,.0f} records/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
