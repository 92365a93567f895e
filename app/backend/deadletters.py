"""List, replay and discard dead letters: ``python -m app.backend.deadletters list|replay|discard``.

Dead letters are spool events the database refused for their content (flusher.py); each row
keeps the event's spooled bytes and the reason. Once the cause is fixed (a constraint, a column
size, an encoding), ``replay`` writes each one again, in the order it was set aside: a stored
event leaves the table, a refused one stays with its new reason. A transient failure stops the
replay (exit status 2); nothing is lost either way. Reads ``DATABASE_URL`` (or ``DATA_DIR``'s
sqlite default) like the service, e.g. ``make dead-letters`` or
``kubectl exec deploy/backend -- python -m app.backend.deadletters list``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import delete, select, update

from app.backend.db_errors import describe, is_database_error, is_poison
from app.backend.settings import Settings
from app.backend.spool import Event
from app.backend.storage import Database, format_time
from app.backend.tables import dead_letters
from app.backend.text_policy import printable

PREVIEW_CHARS = 80


def _rows(database: Database, ids: Sequence[int] | None, limit: int | None) -> list[Any]:
    query = select(dead_letters).order_by(dead_letters.c.id)
    if ids:
        query = query.where(dead_letters.c.id.in_(list(ids)))
    if limit:
        query = query.limit(limit)
    with database.engine.connect() as connection:
        return list(connection.execute(query).mappings().all())


def _preview(payload: bytes) -> str:
    text = payload.decode("utf-8", "backslashreplace")
    try:
        value = orjson.loads(payload)
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            text = value["text"]
    except orjson.JSONDecodeError:
        pass
    text = printable(text).replace("\x00", "\\x00")
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."


def list_letters(database: Database, limit: int | None, as_json: bool) -> int:
    rows = _rows(database, None, limit)
    for row in rows:
        entry = {
            "id": row["id"],
            "kind": row["kind"],
            "request_id": row["request_id"],
            "failed_at": format_time(row["failed_at"]),
            "error": row["error"],
            "preview": _preview(row["payload"]),
        }
        if as_json:
            print(orjson.dumps(entry).decode())
        else:
            print(
                f"{entry['id']}\t{entry['kind']}\t{entry['request_id']}\t{entry['failed_at']}\t"
                f"{entry['error']}\t{entry['preview']!r}"
            )
    print(f"{len(rows)} dead letter(s)", file=sys.stderr)
    return 0


def replay(database: Database, ids: Sequence[int] | None) -> int:
    stored = refused = 0
    for row in _rows(database, ids, None):
        event = Event(0, row["kind"], row["request_id"], bytes(row["payload"]))
        try:
            database.apply([event])
        except Exception as error:
            if not is_poison(error):
                if is_database_error(error):
                    print(f"{row['id']}: database unavailable ({describe(error)}); stopped",
                          file=sys.stderr)  # fmt: skip
                    return 2
                raise
            refused += 1
            reason = printable(describe(error)).replace("\x00", "\\x00")
            with database.engine.begin() as connection:
                connection.execute(
                    update(dead_letters).where(dead_letters.c.id == row["id"]).values(error=reason)
                )
            print(f"{row['id']}: still refused: {reason}")
            continue
        with database.engine.begin() as connection:
            connection.execute(delete(dead_letters).where(dead_letters.c.id == row["id"]))
        stored += 1
        print(f"{row['id']}: stored {row['kind']} {row['request_id']}")
    print(f"replay: {stored} stored, {refused} still refused", file=sys.stderr)
    return 0 if refused == 0 else 1


def discard(database: Database, ids: Sequence[int]) -> int:
    with database.engine.begin() as connection:
        gone = connection.execute(delete(dead_letters).where(dead_letters.c.id.in_(list(ids))))
    print(f"discarded {gone.rowcount} dead letter(s)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.backend.deadletters", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the dead letters, oldest first")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    replaying = commands.add_parser("replay", help="write them again (all, or --id ...)")
    replaying.add_argument("--id", type=int, nargs="+", dest="ids")
    discarding = commands.add_parser("discard", help="delete the given ones for good")
    discarding.add_argument("--id", type=int, nargs="+", dest="ids", required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    database = Database(settings.resolved_database_url, settings.db_connect_timeout_seconds)
    try:
        database.migrate()
        if args.command == "list":
            return list_letters(database, args.limit, args.json)
        if args.command == "replay":
            return replay(database, args.ids)
        return discard(database, args.ids)
    except Exception as error:
        if not is_database_error(error):
            raise
        print(f"database unavailable: {describe(error)}", file=sys.stderr)
        return 2
    finally:
        database.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
