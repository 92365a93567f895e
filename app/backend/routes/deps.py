"""Small helpers the routes share: the services of this app, and the no-model error."""

from __future__ import annotations

from fastapi import HTTPException, Request

from app.backend.model import Predictor
from app.backend.services import Services


def services(request: Request) -> Services:
    return request.app.state.services


def predictor(svc: Services) -> Predictor:
    if svc.predictor is None:
        raise HTTPException(
            status_code=503,
            detail=f"model not loaded: {svc.model_error or 'no model configured'}",
        )
    return svc.predictor
