"""The background thread that moves spooled records to the database, in order, in batches."""

from __future__ import annotations

import logging
import threading
import time

from app.backend.spool import Spool
from app.backend.storage import Database

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 5.0


class Flusher:
    """Spool → database. Backs off while the database is unreachable; never touches requests.

    Events are deleted from the spool only after the database transaction committed.
    """

    def __init__(
        self,
        spool: Spool,
        database: Database,
        *,
        batch_size: int = 500,
        interval: float = 0.2,
        max_backoff: float = 10.0,
        migrate: bool = True,
    ) -> None:
        self.spool = spool
        self.database = database
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self.migrate = migrate
        self.schema_ready = False
        self.healthy = False
        self.last_error: str | None = None
        self.flushed = 0
        self.failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one flush at a time (thread vs. shutdown drain)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spool-flusher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def state(self) -> dict[str, object]:
        status = "ok" if self.healthy else "degraded"
        state: dict[str, object] = {"status": status, "spooled": self.spool.depth}
        if not self.healthy and self.last_error:
            state["error"] = self.last_error
        return state

    def prepare(self) -> bool:
        """Migrate (or ping) once, synchronously, before serving; the thread retries on failure."""
        try:
            with self._lock:
                if self.migrate:
                    self.database.migrate()
                else:
                    self.database.ping()
                self.schema_ready = True
        except Exception as error:  # not fatal: records are spooled meanwhile
            self._mark_failed(error)
            return False
        self._mark_ok()
        return True

    def flush_once(self) -> int:
        """Move one batch; returns how many events were written (0 when the spool is empty)."""
        with self._lock:
            if not self.schema_ready:
                if self.migrate:
                    self.database.migrate()
                else:
                    self.database.ping()
                self.schema_ready = True
            events = self.spool.peek(self.batch_size)
            if not events:
                return 0
            self.database.apply(events)
            self.spool.delete_through(events[-1].seq)
            self.flushed += sum(1 for event in events if event.kind == "prediction")
            return len(events)

    def _mark_failed(self, error: Exception) -> None:
        message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if self.healthy or self.last_error is None:
            log.warning("database unavailable, spooling (%s)", message)
        self.healthy = False
        self.last_error = message[:300]
        self.failures += 1

    def _mark_ok(self) -> None:
        if not self.healthy:
            log.info("database reachable; spool depth %d", self.spool.depth)
        self.healthy = True
        self.last_error = None

    def _run(self) -> None:
        backoff = self.interval
        last_contact = 0.0
        while not self._stop.is_set():
            try:
                written = self.flush_once()
                now = time.monotonic()
                if written:
                    last_contact = now
                elif not self.healthy or now - last_contact > IDLE_PING_SECONDS:
                    self.database.ping()  # an idle service still notices an outage
                    last_contact = now
                self._mark_ok()
                backoff = self.interval
                if written >= self.batch_size:
                    continue
                self._wake.wait(self.interval)
                self._wake.clear()
            except Exception as error:
                self._mark_failed(error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def stop(self, timeout: float) -> int:
        """Stop the thread, then flush what can be flushed within ``timeout`` seconds.

        Returns the number of events left in the spool (flushed on the next start).
        """
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if self._thread.is_alive():
                return self.spool.depth
        while time.monotonic() < deadline:
            try:
                if self.flush_once() == 0:
                    break
            except Exception as error:
                self._mark_failed(error)
                break
        return self.spool.depth
