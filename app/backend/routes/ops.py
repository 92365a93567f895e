"""Operations: /health, /ready, /version, /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.backend.routes.deps import predictor, runtime_of
from app.backend.schemas import ErrorOut, HealthOut, ReadyOut, error_responses

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A background thread is gone"}},
    summary="Liveness: 200 while the process and its background threads run",
    description="503 when the spool flusher or the log shipper thread has ended: the "
    "orchestrator should restart the process. Answered on the event loop, never behind a batch.",
)
async def health(request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    alive = runtime.alive
    body = {"status": "ok" if alive else "failing", "threads": runtime.thread_states()}
    return JSONResponse(body, status_code=200 if alive else 503)


@router.get(
    "/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "No model, draining, or a thread gone"}},
    summary="Readiness: 200 only with a model loaded, not draining, every thread running",
    description="States and counts only (the reasons are in the service log). `database`: "
    "`ok`, or `degraded` while it cannot be reached (predictions still succeed, spooled); "
    "`spooled`, `spool_bytes`, `spool_full`, `dead_letters`. `log_shipper`: `disabled`, `ok` "
    "or `dropping`, with counts. `status`: `ready`, `no model`, `draining` (the preStop drain "
    "runs), `failing`.",
)
async def ready(request: Request) -> JSONResponse:
    is_ready, body = runtime_of(request).ready_state()
    return JSONResponse(body, status_code=200 if is_ready else 503)


@router.get(
    "/version",
    response_model=dict[str, Any],
    responses={**error_responses(401), 503: {"model": ErrorOut, "description": "No model"}},
    summary="The model card of the served model",
    description="Lineage and metrics from the card; `integrity` holds the digests of the "
    "pickle and of its preprocessing code as verified at load, and against what; `scorer` "
    "says whether the compiled linear scorer (`fast_path`) or sklearn serves predictions, "
    "and why.",
)
async def version(request: Request) -> JSONResponse:
    return JSONResponse(predictor(runtime_of(request)).describe())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
