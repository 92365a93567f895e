"""Read access to the prediction store the service writes (``DATABASE_URL``).

The table is the service's own definition (``app.backend.tables``, SQLAlchemy Core only), so the
ML commands read the same schema without importing the web application.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from app.backend.tables import predictions
from ml.errors import PipelineError

__all__ = ["StoreSettings", "open_store", "predictions", "redacted"]


class StoreSettings(BaseSettings):
    """Where the predictions are: the service's ``DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="RP_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "RP_DATABASE_URL")
    )
    connect_timeout_seconds: int = Field(default=5, ge=1, le=120)


def redacted(url: str | URL) -> str:
    """The URL as it may be printed: the password replaced by ``***``."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "(not a database URL)"
    return parsed.render_as_string(hide_password=True)


def _first_line(error: BaseException, secret: str | None) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    if secret:  # drivers do not echo the password, but a message must never carry it
        text = text.replace(secret, "***")
    return text.splitlines()[0] if text else type(error).__name__


def open_store(url: str | None, connect_timeout: int = 5) -> Engine:
    """An engine on the prediction store, checked: reachable, and holding the predictions table.

    Every failure is a PipelineError whose message names the URL without its password.
    """
    if not url:
        raise PipelineError(
            "no prediction store: set DATABASE_URL (sqlite:///path or "
            "postgresql+psycopg://user@host/db)"
        )
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise PipelineError("DATABASE_URL is not a database URL (dialect://...)") from None
    shown = redacted(parsed)
    backend = parsed.get_backend_name()
    connect_args: dict[str, object] = {}
    if backend == "sqlite":
        # sqlite would create an empty file and report "no such table"; say what is wrong.
        if not parsed.database or parsed.database == ":memory:":
            raise PipelineError(f"no prediction store at {shown}: an in-memory database is empty")
        if not Path(parsed.database).is_file():
            raise PipelineError(f"no prediction store at {shown}: the file does not exist")
    elif backend == "postgresql":
        connect_args["connect_timeout"] = connect_timeout
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise PipelineError(f"cannot use the prediction store at {shown}: {error}") from None
    try:
        with engine.connect() as connection:
            has_table = inspect(connection).has_table(predictions.name)
    except SQLAlchemyError as error:
        engine.dispose()
        raise PipelineError(
            f"cannot reach the prediction store at {shown}: {_first_line(error, parsed.password)}"
        ) from None
    if not has_table:
        engine.dispose()
        raise PipelineError(
            f"the database at {shown} has no {predictions.name} table: is it the service's "
            "store (DATABASE_URL of the backend), and has the service started once?"
        )
    return engine
