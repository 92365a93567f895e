"""Everything the lifespan builds and tears down: model, spool, database, flusher, shipper.

The runtime wiring of one app instance; routes reach it through ``request.app.state.runtime``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from app.backend.flusher import Flusher
from app.backend.logs import EsShipper
from app.backend.metrics import Metrics
from app.backend.model import (
    Deployed,
    ModelIntegrityError,
    ModelLoadError,
    Predictor,
    load_folder,
    load_uri,
)
from app.backend.settings import Settings, drain_marker
from app.backend.spool import Spool
from app.backend.storage import Database

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    metrics: Metrics
    spool: Spool
    database: Database
    flusher: Flusher
    predictor: Predictor | None = None
    model_error: str | None = None
    shipper: EsShipper | None = None
    batch_limiter: anyio.CapacityLimiter | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def drain_marker(self) -> Path:
        return drain_marker(self.settings)

    @property
    def draining(self) -> bool:
        """The preStop drain started (drain.py): out of the Service, finishing the spool."""
        return self.drain_marker.exists()

    def thread_states(self) -> dict[str, str]:
        states = {"flusher": self.flusher.thread.state}
        if self.shipper is not None:
            states["log_shipper"] = self.shipper.thread.state
        return states

    def thread_errors(self) -> dict[str, int]:
        errors = {"flusher": self.flusher.thread.errors}
        if self.shipper is not None:
            errors["log_shipper"] = self.shipper.thread.errors
        return errors

    @property
    def alive(self) -> bool:
        """Liveness: every background thread runs (a dead one means restart the process)."""
        return all(state == "running" for state in self.thread_states().values())

    def runtime_values(self) -> dict[str, Any]:
        return {
            "spooled": self.spool.appended,
            "flushed": self.flusher.flushed,
            "pending": self.spool.depth,
            "spool_bytes": self.spool.bytes,
            "spool_max_bytes": self.spool.max_bytes,
            "spool_refused": self.spool.refused,
            "dead_lettered": self.flusher.dead_lettered,
            "dead_letters": self.flusher.dead_letters or 0,
            "database_up": 1 if self.flusher.healthy else 0,
            "log_dropped": self.shipper.dropped if self.shipper else 0,
            "log_shipped": self.shipper.shipped if self.shipper else 0,
            "model_loaded": 1 if self.predictor else 0,
            "model_version": self.predictor.version if self.predictor else "",
            "threads": self.thread_states(),
            "thread_errors": self.thread_errors(),
            "model_fast_path": 1 if self.predictor and self.predictor.fast_path else 0,
        }

    def model_state(self) -> dict[str, Any]:
        if self.predictor is None:
            reason = (
                "load failed"
                if self.settings.model_path or self.settings.model_uri
                else ("not configured")
            )
            return {"status": "not loaded", "reason": reason}
        return {"status": "loaded", "name": self.predictor.name, "version": self.predictor.version}

    def shipper_state(self) -> dict[str, Any]:
        return {"status": "disabled"} if self.shipper is None else self.shipper.state()

    def ready_state(self) -> tuple[bool, dict[str, Any]]:
        """/ready: states and counts, never error text (the log has the details)."""
        ready = self.predictor is not None and not self.draining and self.alive
        if self.draining:
            status = "draining"
        elif self.predictor is None:
            status = "no model"
        elif not self.alive:
            status = "failing"
        else:
            status = "ready"
        body = {
            "ready": ready,
            "status": status,
            "model": self.model_state(),
            "database": self.flusher.state(),
            "log_shipper": self.shipper_state(),
            "threads": self.thread_states(),
        }
        return ready, body

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.drain_marker.unlink(missing_ok=True)
        left = self.flusher.stop(self.settings.shutdown_flush_seconds)
        if left:
            log.warning(
                "%d spooled events left in %s; flushed on next start", left, self.spool.path
            )
        if self.shipper is not None:
            self.shipper.stop()
        self.spool.close()
        self.database.dispose()


def load_predictor(settings: Settings) -> tuple[Predictor | None, str | None]:
    """The model from MODEL_PATH, else MODEL_URI; a failure is logged and means not ready.

    An integrity failure (ModelIntegrityError) is not caught: the service must not start.
    """
    deployed = Deployed(settings.model_sha256, settings.model_code_sha256)
    try:
        if settings.model_path is not None:
            predictor = load_folder(settings.model_path, deployed)
        elif settings.model_uri:
            predictor = load_uri(
                settings.model_uri,
                settings.mlflow_tracking_uri,
                settings.data_dir / "models",
                deployed,
            )
        else:
            message = "no model configured: set MODEL_PATH (an ml.export folder) or MODEL_URI"
            log.error(message)
            return None, message
    except ModelIntegrityError:
        raise
    except ModelLoadError as error:
        log.error("model not loaded: %s", error)
        return None, str(error)
    log.info(
        "model %s version %s loaded (model sha256 %s, code %s; fast path %s)",
        predictor.name,
        predictor.version,
        predictor.verified.model_sha256,
        predictor.verified.code_sha256,
        "on" if predictor.fast_path else "off",
    )
    return predictor, None


def build_runtime(settings: Settings) -> Runtime:
    # The model first: a model that fails verification stops the start before anything opens.
    predictor, error = load_predictor(settings)
    metrics = Metrics()
    with contextlib.suppress(OSError):  # a drain of an earlier container on this volume
        drain_marker(settings).unlink(missing_ok=True)
    spool = Spool(
        settings.resolved_spool_path, settings.spool_synchronous, settings.spool_max_bytes
    )
    database = Database(settings.resolved_database_url, settings.db_connect_timeout_seconds)
    flusher = Flusher(
        spool,
        database,
        batch_size=settings.flush_batch_size,
        interval=settings.flush_interval_seconds,
        max_backoff=settings.flush_max_backoff_seconds,
        migrate=settings.migrate_on_start,
    )
    shipper = None
    if settings.es_url:
        shipper = EsShipper(
            settings.es_url,
            username=settings.es_username,
            password=settings.es_password.get_secret_value() if settings.es_password else None,
            index_prefix=settings.es_index_prefix,
            queue_size=settings.es_queue_size,
            batch_size=settings.es_batch_size,
            flush_seconds=settings.es_flush_seconds,
            timeout=settings.es_timeout_seconds,
            max_backoff=settings.es_max_backoff_seconds,
        )
    runtime = Runtime(
        settings=settings,
        metrics=metrics,
        spool=spool,
        database=database,
        flusher=flusher,
        predictor=predictor,
        model_error=error,
        shipper=shipper,
        batch_limiter=anyio.CapacityLimiter(settings.batch_workers),
    )
    metrics.bind_runtime(runtime.runtime_values)
    # The schema is migrated by the flusher's first pass, not here: a start during a database
    # outage serves at once (records wait in the spool) instead of waiting out connect timeouts.
    flusher.start()
    if shipper is not None:
        shipper.start()
    return runtime
