"""Operations: /health, /ready, /version, /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.backend.routes.deps import runtime_of
from app.backend.schemas import ErrorOut, ReadyOut, error_responses

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: 200 while the process runs")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "No model loaded"}},
    summary="Readiness: 200 only with a model loaded",
    description="`database` is `ok`, or `degraded` with the spooled count (predictions still "
    "succeed); `log_shipper` is `disabled`, `ok` or `dropping` with the dropped count.",
)
async def ready(request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    body = {
        "ready": runtime.predictor is not None,
        "model": runtime.model_state(),
        "database": runtime.flusher.state(),
        "log_shipper": runtime.shipper_state(),
    }
    return JSONResponse(body, status_code=200 if runtime.predictor is not None else 503)


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
    runtime = runtime_of(request)
    if runtime.predictor is None:
        return JSONResponse(
            {"detail": f"model not loaded: {runtime.model_error or 'no model configured'}"},
            status_code=503,
        )
    return JSONResponse(runtime.predictor.describe())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
