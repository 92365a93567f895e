"""POST /predict for the common request, answered without FastAPI's per-request machinery.

The route in predict.py stays the contract: it is what OpenAPI documents and what answers every
request this module does not take. This one takes only a request whose outcome it can reproduce
exactly: a JSON body (``Content-Type: application/json``) that ``PredictRequest`` accepts, with
``explain`` false, while a model is loaded. It skips routing, dependency resolution and the
response class, and validates the bytes in one pass (pydantic-core's JSON parser) instead of
``json.loads`` then validation. Anything else, including every request that ends in a 422, goes to
the route, so error bodies stay FastAPI's. The service middleware calls ``answer`` after its own
checks (API key, body limit, UTF-8), so those hold for both paths.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException
from pydantic import ValidationError
from starlette.types import Scope, Send

from app.backend.routes.predict import add_log_fields, run_one
from app.backend.schemas import PredictRequest

PATH = "/predict"
_JSON = b"application/json"


def takes(scope: Scope) -> bool:
    """Whether the request could be answered here (before its body is read)."""
    if scope["path"] != PATH or scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == _JSON
    return False


async def _send_json(send: Send, status: int, body: bytes, headers: list[Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def answer(scope: Scope, body: bytes, info: dict[str, Any], send: Send) -> bool:
    """Answer the request and return True; or return False, having sent nothing."""
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    if runtime is None or runtime.predictor is None:
        return False
    try:
        request = PredictRequest.model_validate_json(body)
    except ValidationError:
        return False
    if request.explain:
        return False
    info["route"] = PATH
    try:
        output = run_one(runtime, runtime.predictor, request.text)
    except HTTPException as error:
        # What FastAPI's own handler sends for an HTTPException.
        headers = [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
        await _send_json(send, error.status_code, orjson.dumps({"detail": error.detail}), headers)
        return True
    add_log_fields(info, output, request.text)
    await _send_json(send, 200, orjson.dumps(output), [])
    return True
