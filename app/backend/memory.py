"""What the process gives back once the model is loaded, and keeps out of the collector's way.

Loading leaves garbage in reference cycles (about 20 MB for a data-v2 model: the unpickler's
objects, the scorer's probes and ``predict_proba`` on them) that only a full collection frees,
and glibc keeps freed memory in its heap until asked to return it. What stays after that (the
model, sklearn, FastAPI: about 185,000 objects the collector tracks) lives as long as the app,
so it is frozen: a full collection under load no longer walks it (one took about 95 ms on this
project's 2-core machine, a pause every request in flight would wait out).
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim  # the symbols the process already has
    except (OSError, AttributeError):
        return None


def give_back() -> None:
    """Return the C heap's free pages to the system (glibc only; elsewhere nothing to do).

    Called after a batch too: its texts, records and response (a few MB each, on a worker
    thread's heap) are freed when it ends, but glibc would keep the pages for the process.
    ctypes releases the GIL for the call (a few milliseconds at most).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def settle_after_load() -> None:
    """Free the load's garbage, give the memory back, freeze what remains (``thaw`` undoes)."""
    gc.collect()
    give_back()
    gc.freeze()


def thaw() -> None:
    """Make the frozen objects collectable again (an app torn down, e.g. between tests)."""
    gc.unfreeze()
