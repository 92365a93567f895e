"""Error responses that can always be encoded, whatever the request carried.

FastAPI's own 422 echoes the offending input and field names; a lone surrogate among them made
the error response itself fail to encode (a 500). This handler returns the same shape
(``{"detail": [{"type", "loc", "msg", "input"?, "ctx"?}]}``) with every string made encodable
and long inputs shortened.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from app.backend.text_policy import printable, unstorable_reason

ECHO_CHARS = 200


def _short(value: Any) -> Any:  # noqa: ANN401 - any JSON value
    """An echo of ``value`` that orjson can always write: long strings cut, integers beyond
    64 bits and non-finite numbers (Python's JSON parser reads both) as their text."""
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return f"{value[:ECHO_CHARS]}... ({len(value)} characters)"
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        text = str(value)
        return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}... ({len(text)} digits)"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _short(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_short(item) for item in value]
    return value


def validation_detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    detail = []
    for error in jsonable_encoder(errors):
        entry = {key: error[key] for key in ("type", "loc", "msg") if key in error}
        # pydantic refuses a lone surrogate before the field's own check can name it.
        if error.get("type") == "string_unicode" and isinstance(error.get("input"), str):
            reason = unstorable_reason(error["input"])
            entry["msg"] = (
                f"Input should be valid Unicode text: it {reason}" if reason else (entry["msg"])
            )
        if "input" in error:
            entry["input"] = _short(error["input"])
        if "ctx" in error:
            entry["ctx"] = _short(error["ctx"])
        detail.append(printable(entry))
    return detail


async def _validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for this type only
    body = orjson.dumps({"detail": validation_detail(list(error.errors()))})
    return Response(body, status_code=422, media_type="application/json")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
