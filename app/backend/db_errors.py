"""Which database failures are about one record (poison) and which are about the database.

Poison is set aside as a dead letter; anything else is retried with back-off and never
dead-lettered, because dead-lettering on, say, a missing table or a full disk would empty the
spool into the dead-letter store. A record is poison only when:

- building its row failed (``PoisonRecord``: a damaged payload, a value that cannot be parsed);
- the database or its driver refused its data: the DB-API's DataError and IntegrityError
  (psycopg refuses NUL in text before sending it; sqlite's NOT NULL), or SQLSTATE class 22
  (data exception: invalid byte sequence, value too long, out of range) or 23 (integrity
  constraint: NOT NULL, CHECK);
- the driver could not encode a value (UnicodeError while binding).

Connection refused, timeouts, server shutdown, too many connections, an undefined table,
serialization failures: transient.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

POISON_SQLSTATE_CLASSES = frozenset({"22", "23"})
MESSAGE_CHARS = 300


class PoisonRecord(ValueError):  # noqa: N818 - it names the record, not the failure
    """One spooled event cannot become a row; the message says why."""


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def is_poison(error: BaseException) -> bool:
    if isinstance(error, PoisonRecord | UnicodeError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return False
        # The DB-API's own classes for "this data": the driver refusing a value before sending
        # it (psycopg: NUL in text), or the server refusing it.
        if isinstance(error, exc.DataError | exc.IntegrityError):
            return True
        original = error.orig
        state = _sqlstate(original) if original is not None else None
        return state is not None and state[:2] in POISON_SQLSTATE_CLASSES
    if isinstance(error, exc.StatementError):  # raised while binding, before the database saw it
        return isinstance(error.orig, UnicodeError)
    return False


def is_database_error(error: BaseException) -> bool:
    """A failure of the database or the way to it, as opposed to a bug in this code."""
    return isinstance(error, exc.SQLAlchemyError | sqlite3.Error | OSError | TimeoutError)


def describe(error: BaseException) -> str:
    """A short account of ``error`` without the statement or its parameters (no record text)."""
    original = error.orig if isinstance(error, exc.StatementError) else error
    original = original if original is not None else error
    state = _sqlstate(original)
    diag = getattr(original, "diag", None)
    message = getattr(diag, "message_primary", None) if diag is not None else None
    if not message:
        lines = str(original).strip().splitlines()
        message = lines[0] if lines else ""
    prefix = f"{type(original).__name__}" + (f" [{state}]" if state else "")
    text = f"{prefix}: {message}" if message else prefix
    return text[:MESSAGE_CHARS]
