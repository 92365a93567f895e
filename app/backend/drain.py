"""The preStop drain: ``python -m app.backend.drain`` (Kubernetes runs it before SIGTERM).

1. Creates the drain marker next to the spool: ``/ready`` answers 503 ``draining`` from then on,
   so the pod also leaves the Service by its own probe (Kubernetes already removes a terminating
   pod from the endpoints).
2. Waits until the spool is empty, reading the spool file (WAL mode lets another process read
   while the service writes), for at most ``DRAIN_TIMEOUT_SECONDS``. The service's flusher keeps
   moving records meanwhile, backing off while the database is down and draining at thousands of
   records per second once it is back.
3. Exits 0 either way: then the kubelet sends SIGTERM, and the service's shutdown flush gets
   ``SHUTDOWN_FLUSH_SECONDS`` more.

The pod's ``terminationGracePeriodSeconds`` must exceed the timeout plus the shutdown flush
(manifests/README.md gives the numbers).
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Callable, Sequence

import orjson

from app.backend.logs import utc_timestamp
from app.backend.settings import Settings, drain_marker
from app.backend.spool import pending_counts

POLL_SECONDS = 0.5
REPORT_SECONDS = 10.0


def _say(message: str, **fields: object) -> None:
    line = {"@timestamp": utc_timestamp(), "level": "INFO", "logger": __name__}
    print(orjson.dumps({**line, "message": message, **fields}).decode(), flush=True)


def drain(
    settings: Settings, timeout: float, clock: Callable[[], float] = time.monotonic
) -> tuple[int, int]:
    """Mark the pod draining and wait for the spool to empty; returns (events, bytes) left."""
    path = settings.resolved_spool_path
    marker = drain_marker(settings)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    started = clock()
    last_report = started - REPORT_SECONDS
    events, size = -1, -1
    while True:
        try:
            events, size = pending_counts(path)
        except sqlite3.Error as error:  # busy for longer than its timeout: look again
            _say("spool not readable yet", error=str(error))
        if events == 0:
            _say("spool empty", waited_s=round(clock() - started, 1))
            return 0, 0
        now = clock()
        if now - started >= timeout:
            _say("drain timed out; the records stay in the spool file",
                 events=events, bytes=size, timeout_s=timeout)  # fmt: skip
            return events, size
        if now - last_report >= REPORT_SECONDS:
            _say("draining the spool", events=events, bytes=size)
            last_report = now
        time.sleep(POLL_SECONDS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.backend.drain", description=__doc__)
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds (default DRAIN_TIMEOUT_SECONDS)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    drain(settings, settings.drain_timeout_seconds if args.timeout is None else args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
