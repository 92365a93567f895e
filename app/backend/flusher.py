"""The background thread that moves spooled records to the database, in order, in batches.

- Transient failures (the database down, a timeout, a missing table): the batch stays in the
  spool, the thread backs off (``interval`` doubling to ``max_backoff``) and tries again. Such
  failures never make dead letters.
- A batch the database refuses for its content (``db_errors.is_poison``) is split in halves
  until the refused event is alone; that event goes to the ``dead_letters`` table with the
  reason, and every other event of the batch is stored. Each stored or set-aside part leaves
  the spool at once, so a split never stores anything twice.
- Anything else that escapes (a bug: not a database error, not poison) is the supervisor's
  (supervision.py): logged with its traceback, backed off, the loop restarted.
"""

from __future__ import annotations

import logging
import threading
import time

from app.backend.db_errors import describe, is_database_error, is_poison
from app.backend.spool import Event, Spool
from app.backend.storage import Database
from app.backend.supervision import Supervised
from app.backend.text_policy import printable

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 5.0


class DatabaseUnavailableError(RuntimeError):
    """A transient database failure; the message is the short description (no statement)."""


class Flusher:
    """Spool → database. Backs off while the database is unreachable; never touches requests.

    Events leave the spool only after the database committed them (as rows or dead letters).
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
        self.contacted = False  # no answer or failure from the database yet (just started)
        self.flushed = 0
        self.failures = 0
        self.dead_lettered = 0
        self.dead_letters: int | None = None  # in the table, as last counted
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one flush at a time (thread vs. shutdown drain)
        self.thread = Supervised("spool-flusher", self._loop, self._stop, max_backoff=max_backoff)

    def start(self) -> None:
        self.thread.start()

    def wake(self) -> None:
        self._wake.set()

    def state(self) -> dict[str, object]:
        """States and counts only: the error itself went to the log."""
        return {
            "status": "ok" if self.healthy else ("degraded" if self.contacted else "starting"),
            "spooled": self.spool.depth,
            "spool_bytes": self.spool.bytes,
            "spool_full": self.spool.full,
            "dead_letters": self.dead_letters,
        }

    def _call(self, action: str, function: object) -> None:
        """Run a database call; a non-poison failure becomes ``DatabaseUnavailableError``."""
        try:
            function()  # type: ignore[operator]
        except Exception as error:
            if is_poison(error) or not is_database_error(error):
                raise
            raise DatabaseUnavailableError(f"{action}: {describe(error)}") from error

    def _ensure_schema(self) -> None:
        if not self.schema_ready:
            self._call("migrate" if self.migrate else "ping",
                       self.database.migrate if self.migrate else self.database.ping)  # fmt: skip
            self.schema_ready = True
            self._count_dead_letters()

    def _count_dead_letters(self) -> None:
        try:
            self.dead_letters = self.database.dead_letter_count()
        except Exception as error:  # a count is not worth failing a flush for
            log.debug("dead letters not counted: %s", describe(error))

    def prepare(self) -> bool:
        """Migrate (or ping) once, synchronously, before serving; the thread retries on failure."""
        try:
            with self._lock:
                self._ensure_schema()
        except DatabaseUnavailableError as error:  # not fatal: records are spooled meanwhile
            self._mark_failed(error)
            return False
        self._mark_ok()
        return True

    def flush_once(self) -> int:
        """Move one batch; returns how many events left the spool (0 when it is empty)."""
        with self._lock:
            self._ensure_schema()
            events = self.spool.peek(self.batch_size)
            if events:
                self._store(events)
            return len(events)

    def _store(self, events: list[Event]) -> None:
        try:
            self.database.apply(events)
        except Exception as error:
            if not is_poison(error):
                if is_database_error(error):
                    raise DatabaseUnavailableError(f"write: {describe(error)}") from error
                raise
            if len(events) == 1:
                self._set_aside(events[0], error)
                return
            middle = len(events) // 2
            self._store(events[:middle])
            self._store(events[middle:])
            return
        self.spool.remove(events)
        self.flushed += sum(1 for event in events if event.kind == "prediction")

    def _set_aside(self, event: Event, error: Exception) -> None:
        reason = printable(describe(error)).replace("\x00", "\\x00")
        self._call("dead letter", lambda: self.database.dead_letter(event, reason))
        self.spool.remove([event])
        self.dead_lettered += 1
        self.dead_letters = (self.dead_letters or 0) + 1
        log.error(
            "dead letter: %s %s refused by the database (%s); the others flow on",
            event.kind,
            event.request_id,
            reason,
        )

    def _mark_failed(self, error: Exception) -> None:
        self.contacted = True
        if self.healthy or self.failures == 0:
            log.warning("database unavailable, spooling (%s)", error)
        self.healthy = False
        self.failures += 1

    def _mark_ok(self) -> None:
        self.contacted = True
        if not self.healthy:
            log.info("database reachable; spool depth %d", self.spool.depth)
        self.healthy = True

    def _loop(self) -> None:
        backoff = self.interval
        last_contact = 0.0
        while not self._stop.is_set():
            try:
                written = self.flush_once()
                now = time.monotonic()
                if written:
                    last_contact = now
                elif not self.healthy or now - last_contact > IDLE_PING_SECONDS:
                    self._call("ping", self.database.ping)  # an idle service notices an outage
                    self._count_dead_letters()
                    last_contact = now
            except DatabaseUnavailableError as error:
                self._mark_failed(error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._mark_ok()
            backoff = self.interval
            if written >= self.batch_size:
                continue
            self._wake.wait(self.interval)
            self._wake.clear()

    def stop(self, timeout: float) -> int:
        """Stop the thread, then flush what can be flushed within ``timeout`` seconds.

        Returns the number of events left in the spool (flushed on the next start).
        """
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if not self.thread.join(deadline - time.monotonic()):
            return self.spool.depth
        while time.monotonic() < deadline:
            try:
                if self.flush_once() == 0:
                    break
            except DatabaseUnavailableError as error:
                self._mark_failed(error)
                break
        return self.spool.depth
