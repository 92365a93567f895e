"""Alembic environment: online migrations only, with an advisory lock on PostgreSQL.

The connection comes from ``config.attributes["connection"]`` when the service migrates at
start-up, otherwise from DATABASE_URL through the service's settings (the CLI).
"""

from __future__ import annotations

import logging.config

from alembic import context
from sqlalchemy import Connection, create_engine, text

from app.backend.tables import metadata

# Any constant: replicas starting together take turns instead of racing on CREATE TABLE.
ADVISORY_LOCK_ID = 727_274_001


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID})
            connection.commit()


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    if config.config_file_name and not config.attributes.get("skip_logging"):
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from app.backend.settings import Settings

        settings = Settings()
        if settings.resolved_database_url.startswith("sqlite:///"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _migrate(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; connect to the database")
run()
