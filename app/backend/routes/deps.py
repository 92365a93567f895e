"""Small helpers the routes share: the runtime of this app, and the no-model error."""

from __future__ import annotations

from fastapi import HTTPException, Request

from app.backend.model import Predictor
from app.backend.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def predictor(runtime: Runtime) -> Predictor:
    if runtime.predictor is None:
        raise HTTPException(
            status_code=503,
            detail=f"model not loaded ({runtime.model_state()['reason']}); "
            "the service log says why",
        )
    return runtime.predictor
