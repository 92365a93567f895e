"""GET /predictions: the most recent records, from the database and the spool."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.exc import SQLAlchemyError

from app.backend.db_errors import describe
from app.backend.routes.deps import runtime_of
from app.backend.schemas import StoredPrediction, error_responses

log = logging.getLogger(__name__)
router = APIRouter(tags=["predictions"])


@router.get(
    "/predictions",
    response_model=list[StoredPrediction],
    responses=error_responses(401),
    summary="Most recent predictions, newest first",
    description="Includes records still in the local spool (`stored: false`). While the "
    "database is down, only spooled records are listed.",
)
def recent(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    merged: dict[str, dict[str, Any]] = {}
    try:
        for record in runtime.database.recent(limit):
            merged[record["request_id"]] = {**record, "stored": True}
    except SQLAlchemyError as error:
        log.warning("listing from the database failed: %s", describe(error))
    for record in runtime.spool.recent_predictions(limit):
        merged[record["request_id"]] = {**record, "stored": False}
    ordered = sorted(merged.values(), key=lambda r: r["created_at"], reverse=True)
    return ordered[:limit]
