"""The predictions database (DATABASE_URL): idempotent batch writes, dead letters, lookups.

Only the flusher writes here, never the request path. Inserts are ``ON CONFLICT (request_id) DO
NOTHING``, so replaying a batch after a crash between commit and spool delete never duplicates;
dead letters are keyed by a hash of the event, for the same reason.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, exc, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from app.backend import migrate
from app.backend.db_errors import PoisonRecord
from app.backend.spool import Event
from app.backend.tables import dead_letters, predictions

_COLUMNS = (
    "request_id",
    "text",
    "text_sha256",
    "text_length",
    "label",
    "probability",
    "positive_probability",
    "model_name",
    "model_version",
    "latency_ms",
    "created_at",
    "feedback_label",
    "feedback_at",
)


# PostgreSQL: the batch is COPYed into a per-connection temporary table, then moved with one
# INSERT ... SELECT ... ON CONFLICT DO NOTHING: a few times the throughput of one INSERT per row
# (bench/drain.py), with the same idempotency, constraints and error classes.
_PG_STAGE = "rp_spool_batch"
_PG_COLUMNS = ", ".join(_COLUMNS)
_PG_PREPARE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PG_STAGE} "
    f"(LIKE predictions INCLUDING DEFAULTS EXCLUDING IDENTITY) ON COMMIT DELETE ROWS"
)
_PG_MOVE = (
    f"INSERT INTO predictions ({_PG_COLUMNS}) SELECT {_PG_COLUMNS} FROM {_PG_STAGE} "  # noqa: S608 - constants
    "ON CONFLICT (request_id) DO NOTHING"
)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def prediction_row(event: Event) -> dict[str, Any]:
    """The ``predictions`` row of a spooled prediction; ``PoisonRecord`` when it cannot be one."""
    try:
        payload = event.payload()
        row = {key: payload.get(key) for key in _COLUMNS}
        row["created_at"] = _parse_time(row["created_at"])
        row["feedback_at"] = _parse_time(row["feedback_at"])
    except (ValueError, TypeError) as error:
        raise PoisonRecord(f"spooled prediction {event.request_id}: {error}") from None
    return row


def feedback_values(event: Event) -> dict[str, Any]:
    try:
        payload = event.payload()
        return {
            "feedback_label": payload["feedback_label"],
            "feedback_at": _parse_time(payload["feedback_at"]),
        }
    except (ValueError, TypeError, KeyError) as error:
        raise PoisonRecord(f"spooled feedback {event.request_id}: {error!r}") from None


def event_key(event: Event) -> str:
    digest = hashlib.sha256(f"{event.kind}\n{event.request_id}\n".encode())
    digest.update(event.raw)
    return digest.hexdigest()


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # sqlite hands back naive datetimes
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def make_engine(url: str, connect_timeout: int = 3) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = connect_timeout
    return create_engine(url, pool_pre_ping=True, pool_size=2, connect_args=connect_args)


class Database:
    def __init__(self, url: str, connect_timeout: int = 3) -> None:
        self.engine = make_engine(url, connect_timeout)
        self.dialect = self.engine.dialect.name

    def migrate(self) -> None:
        migrate.upgrade(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def _insert(self, table: Any, key: str) -> Any:  # noqa: ANN401 - a dialect-specific Insert
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
        if self.dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
        raise RuntimeError(f"unsupported database dialect {self.dialect}")

    def apply(self, events: list[Event]) -> None:
        """Write a batch of spool events in one transaction: predictions, then feedback in order.

        Feedback whose prediction is not stored (it was set aside as a dead letter) is poison
        too, so that it waits with its prediction instead of vanishing.
        """
        rows = [prediction_row(event) for event in events if event.kind == "prediction"]
        feedback = [(event, feedback_values(event)) for event in events if event.kind == "feedback"]
        with self.engine.begin() as connection:
            if rows and self.dialect == "postgresql":
                self._copy_rows(connection, rows)
            elif rows:
                connection.execute(self._insert(predictions, "request_id"), rows)
            for event, values in feedback:
                updated = connection.execute(
                    update(predictions)
                    .where(predictions.c.request_id == event.request_id)
                    .values(**values)
                ).rowcount
                if updated == 0:
                    raise PoisonRecord(f"feedback for {event.request_id}: no stored prediction")

    @staticmethod
    def _copy_rows(connection: Any, rows: list[dict[str, Any]]) -> None:  # noqa: ANN401
        """COPY into the staging table, then one INSERT ... SELECT (inside the caller's
        transaction; the staging rows go at commit or rollback)."""
        try:
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor:
                cursor.execute(_PG_PREPARE)
                with cursor.copy(f"COPY {_PG_STAGE} ({_PG_COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(tuple(row[name] for name in _COLUMNS))
                cursor.execute(_PG_MOVE)
        except Exception as error:
            # Raised by psycopg itself, outside SQLAlchemy: wrap it the way SQLAlchemy would,
            # so that db_errors classifies it the same.
            if isinstance(error, connection.dialect.loaded_dbapi.Error):
                raise exc.DBAPIError.instance(
                    "COPY", None, error, connection.dialect.loaded_dbapi.Error,
                    dialect=connection.dialect,
                ) from error  # fmt: skip
            raise

    def dead_letter(self, event: Event, error: str) -> None:
        """Keep ``event`` (its spooled bytes) with the reason the database refused it."""
        with self.engine.begin() as connection:
            connection.execute(
                self._insert(dead_letters, "event_key"),
                {
                    "event_key": event_key(event),
                    "kind": event.kind,
                    "request_id": event.request_id,
                    "payload": event.raw,
                    "error": error,
                    "failed_at": datetime.now(UTC),
                },
            )

    def dead_letter_count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(dead_letters)).scalar_one()
            )

    def exists(self, request_id: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(predictions.c.id).where(predictions.c.request_id == request_id)
            ).first()
        return found is not None

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(predictions)).scalar_one()
            )

    def recent(self, limit: int) -> list[dict[str, Any]]:
        query = (
            select(*(predictions.c[name] for name in _COLUMNS))
            .order_by(predictions.c.created_at.desc(), predictions.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            result = connection.execute(query).mappings().all()
        records = []
        for row in result:
            record = dict(row)
            record["created_at"] = format_time(record["created_at"])
            record["feedback_at"] = format_time(record["feedback_at"])
            records.append(record)
        return records

    def dispose(self) -> None:
        self.engine.dispose()
