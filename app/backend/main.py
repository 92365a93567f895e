"""The application factory: ``uvicorn --factory app.backend.main:create_app``.

Nothing happens at import time. ``create_app`` reads the settings and wires routes and
middleware; the lifespan loads the model, opens the spool and the database, and starts the
flusher (and the Elasticsearch shipper when ES_URL is set).

A model whose files fail verification (app/backend/model.py) stops the start: the lifespan
logs the reason at CRITICAL and fails, and uvicorn exits with a non-zero status.

With VAULT_ADDR set, ``create_app`` first reads the secrets from Vault; when that fails, the
process ends at once with exit status 1 and one log line that names the address and the path,
before any port is bound (uvicorn would otherwise print a traceback for the factory's error).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.backend import errors, memory
from app.backend.logs import configure_logging
from app.backend.middleware import ServiceMiddleware
from app.backend.model import ModelIntegrityError
from app.backend.routes import feedback, ops, predict, predictions
from app.backend.runtime import build_runtime
from app.backend.settings import Settings
from app.backend.vault import VaultError, settings_with_vault_secrets

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Movie-review sentiment (Rotten Potatoes). Every prediction is recorded with its model "
    "version and latency; records survive database outages through a local spool."
)


class ServiceApp(FastAPI):
    """FastAPI with the service middleware in front of FastAPI's own middleware stack.

    Every request meets ``ServiceMiddleware`` first (API key, body limit, UTF-8, access log,
    metrics), as before. The common ``POST /predict`` it answers itself (routes/predict_fast.py)
    then skips FastAPI's outer layers too (server-error, telemetry and body-limit wrappers, about
    5 % of a request's CPU in the flame graph); every other request goes through all of them.
    """

    service: ServiceMiddleware

    def serve_through(self, api_key: str | None, max_body_bytes: int) -> None:
        self.service = ServiceMiddleware(
            super().__call__, api_key=api_key, max_body_bytes=max_body_bytes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # what Starlette sets; the fast path finds the runtime through it
        await self.service(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        settings = settings_with_vault_secrets(settings)
    except VaultError as error:
        log.critical("cannot start: %s", error)
        raise SystemExit(1) from None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(settings.gil_switch_interval_seconds)
        try:
            runtime = build_runtime(settings)
        except ModelIntegrityError as error:
            # Never serve a model that is not the one recorded: the start fails (uvicorn exits
            # non-zero), and this line says which file differs, with both digests.
            log.critical("refusing to start: %s", error)
            raise
        app.state.runtime = runtime
        memory.settle_after_load()
        log.info("ready=%s", runtime.predictor is not None)
        try:
            yield
        finally:
            memory.thaw()
            runtime.close()
            del app.state.runtime
            sys.setswitchinterval(switch_interval)

    app = ServiceApp(
        title="Sentiment Analysis API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (predict, feedback, predictions, ops):
        app.include_router(module.router)
    app.serve_through(
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        max_body_bytes=settings.max_body_bytes,
    )
    return app
