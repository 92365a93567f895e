"""POST /feedback: the user's correct label, stored with the prediction (through the spool)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from app.backend.db_errors import describe
from app.backend.routes.deps import runtime_of
from app.backend.schemas import FeedbackOut, FeedbackRequest, error_responses
from app.backend.spool import SpoolFullError

log = logging.getLogger(__name__)
router = APIRouter(tags=["predictions"])


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    responses=error_responses(400, 401, 404, 413, 503),
    summary="Record the correct label for a prediction",
    description="Works for predictions still waiting in the spool too. 503 only when the "
    "request_id is not spooled and the database cannot be asked.",
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackOut:
    runtime = runtime_of(request)
    known = runtime.spool.has_prediction(body.request_id)
    if not known:
        try:
            known = runtime.database.exists(body.request_id)
        except SQLAlchemyError as error:
            log.warning("feedback lookup failed: %s", describe(error))
            raise HTTPException(
                status_code=503,
                detail="database unavailable; cannot look up request_id, retry",
                headers={"Retry-After": "5"},
            ) from None
    if not known:
        raise HTTPException(status_code=404, detail=f"unknown request_id {body.request_id}")
    try:
        runtime.spool.append_feedback(
            body.request_id,
            body.correct_label,
            datetime.now(UTC).isoformat(timespec="microseconds"),
        )
    except SpoolFullError as error:
        log.warning("feedback refused: %s", error)
        raise HTTPException(
            status_code=503,
            detail="the local spool is full (SPOOL_MAX_BYTES); the feedback was not recorded, "
            "retry later",
            headers={"Retry-After": str(runtime.settings.spool_full_retry_after_seconds)},
        ) from None
    runtime.flusher.wake()
    return FeedbackOut(
        request_id=body.request_id, correct_label=body.correct_label, status="recorded"
    )
