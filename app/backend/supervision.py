"""Background threads that outlive any exception in their work.

``Supervised`` runs a component's loop on a daemon thread. When the loop raises any
``Exception`` (a bug, a library surprise), the error is logged with its traceback, the thread
waits (exponential back-off, ``min_backoff`` to ``max_backoff`` seconds) and runs the loop again.
Only a ``BaseException`` that is not an ``Exception`` (SystemExit, KeyboardInterrupt) ends the
thread; ``/health`` then fails, so that the orchestrator restarts the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Supervised:
    def __init__(
        self,
        name: str,
        loop: Callable[[], None],
        stop: threading.Event,
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.name = name
        self.loop = loop
        self.stop_event = stop
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.errors = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def state(self) -> str:
        """``running``; ``stopped`` (asked to, or never started); ``dead`` (ended on its own)."""
        if self.alive:
            return "running"
        if self._thread is None or self.stop_event.is_set():
            return "stopped"
        return "dead"

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True when it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout=max(0.0, timeout))
        return not self._thread.is_alive()

    def _run(self) -> None:
        backoff = self.min_backoff
        while not self.stop_event.is_set():
            try:
                self.loop()
                return
            except Exception as error:
                self.errors += 1
                self.last_error = type(error).__name__
                log.exception(
                    "%s: unexpected %s; restarting its loop in %.1f s",
                    self.name,
                    type(error).__name__,
                    backoff,
                )
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except BaseException as error:
                log.critical("%s: ended by %s; /health now fails", self.name, type(error).__name__)
                raise
