"""``alembic upgrade head`` for the service: at start-up (the flusher) and from the CLI.

CLI: ``DATABASE_URL=... python -m app.backend.migrate`` (or ``alembic -c app/backend/alembic.ini
upgrade head``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
# Alembic's ``context`` is process-global: two apps in one process must not migrate at once.
_ALEMBIC_LOCK = threading.Lock()


def alembic_config() -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (idempotent)."""
    config = alembic_config()
    with _ALEMBIC_LOCK, engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def main() -> int:
    from sqlalchemy import create_engine

    from app.backend.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = Settings()
    if settings.resolved_database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    logging.getLogger(__name__).info("database at head")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
