"""POST /predict and /predict/batch.

``/predict`` scores on the event loop on purpose: one review takes well under a millisecond with
the compiled scorer, less than a threadpool hop costs under load, and the spool append is a local
sqlite commit of tens of microseconds. ``/predict/batch`` scores and spools on a worker thread
(``BATCH_WORKERS`` at once), so that a batch of up to ``MAX_BATCH_CHARS`` characters never holds
the loop that answers /health and every other request. The response is written with orjson
directly; the declared models document it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from app.backend import memory
from app.backend.explanations import as_output
from app.backend.model import Prediction, Predictor
from app.backend.routes.deps import predictor, runtime_of
from app.backend.runtime import Runtime
from app.backend.schemas import (
    EXPLAIN_TOP_TERMS,
    BatchRequest,
    PredictionOut,
    PredictRequest,
    error_responses,
)
from app.backend.spool import SpoolFullError

log = logging.getLogger(__name__)
router = APIRouter(tags=["predictions"])
ERRORS = error_responses(400, 401, 413, 501, 503)


# A batch is scored this many texts at a time, with the GIL offered to the event loop between
# chunks, so that /health and single predictions are answered while a batch runs.
CHUNK = 8


def _score(model: Predictor, texts: list[str]) -> list[Prediction]:
    if len(texts) <= CHUNK:
        return model.predict(texts)
    results: list[Prediction] = []
    for first in range(0, len(texts), CHUNK):
        results.extend(model.predict(texts[first : first + CHUNK]))
        time.sleep(0)  # releases the GIL: the loop thread takes it if it waits
    return results


def _explanations(model: Predictor, texts: list[str]) -> list[dict[str, Any]]:
    """Each text's ``explanation``, chunked like ``_score`` for the same reason."""
    explained: list[dict[str, Any]] = []
    for first in range(0, len(texts), CHUNK):
        explained.extend(
            as_output(explanation, EXPLAIN_TOP_TERMS)
            for explanation in model.explain(texts[first : first + CHUNK])
        )
        if len(texts) > CHUNK:
            time.sleep(0)  # releases the GIL: the loop thread takes it if it waits
    return explained


def _explainable(model: Predictor) -> Predictor:
    """The model, when it can explain; else a 501 before anything is scored or recorded."""
    if (reason := model.cannot_explain) is not None:
        raise HTTPException(status_code=501, detail=reason)
    return model


def _run(
    runtime: Runtime, model: Predictor, texts: list[str], explain: bool = False
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    results = _score(model, texts)
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    created_at = datetime.now(UTC).isoformat(timespec="microseconds")
    store_text = runtime.settings.store_text
    outputs = []
    records = []
    for text, result in zip(texts, results, strict=True):
        request_id = uuid.uuid4().hex
        outputs.append(
            {
                "label": result.label,
                "probability": result.probability,
                "positive_probability": result.positive_probability,
                "model_version": model.version,
                "request_id": request_id,
            }
        )
        records.append(
            {
                "request_id": request_id,
                "text": text if store_text else None,
                "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "text_length": len(text),
                "label": result.label,
                "probability": result.probability,
                "positive_probability": result.positive_probability,
                "model_name": model.name,
                "model_version": model.version,
                "latency_ms": latency_ms,
                "created_at": created_at,
                "feedback_label": None,
                "feedback_at": None,
            }
        )
    try:
        runtime.spool.append_predictions(records)
    except SpoolFullError as error:
        log.warning("prediction refused: %s", error)
        raise HTTPException(
            status_code=503,
            detail="the local spool is full (SPOOL_MAX_BYTES) while the database catches up; "
            "the prediction was not recorded, retry later",
            headers={"Retry-After": str(runtime.settings.spool_full_retry_after_seconds)},
        ) from None
    except sqlite3.Error as error:
        log.error("cannot spool prediction records: %s", error)
        raise HTTPException(
            status_code=503, detail="the prediction could not be recorded; retry later"
        ) from None
    runtime.metrics.observe_predictions(
        [
            (result.label, result.probability, len(text))
            for text, result in zip(texts, results, strict=True)
        ]
    )
    if explain:
        # After the records are spooled, and outside latency_ms: the stored record is the same
        # with or without an explanation.
        for output, explanation in zip(outputs, _explanations(model, texts), strict=True):
            output["explanation"] = explanation
    return outputs


def _run_batch(
    runtime: Runtime, model: Predictor, texts: list[str], explain: bool
) -> list[dict[str, Any]]:
    """``_run`` on a worker thread, then the batch's freed memory back to the system."""
    try:
        return _run(runtime, model, texts, explain)
    finally:
        memory.give_back()


def add_log_fields(info: dict[str, Any], output: dict[str, Any], text: str) -> None:
    """The request log's fields of one prediction: the same for this route and predict_fast."""
    info.update(
        request_id=output["request_id"],
        model_version=output["model_version"],
        label=output["label"],
        probability=output["probability"],
        text_length=len(text),
    )


def run_one(runtime: Runtime, model: Predictor, text: str) -> dict[str, Any]:
    """One review scored and recorded, without an explanation (routes/predict_fast.py)."""
    return _run(runtime, model, [text])[0]


@router.post(
    "/predict",
    response_model=PredictionOut,
    responses=ERRORS,
    summary="Sentiment of one review",
    description="`probability` is that of the returned `label`; `positive_probability` is "
    "P(positive). Every prediction is recorded (spooled, then stored in the database). With "
    f"`explain: true`, `explanation` lists up to {EXPLAIN_TOP_TERMS} n-grams per label with "
    "their exact shares of the logit; 501 when the served model cannot explain.",
)
async def predict(body: PredictRequest, request: Request) -> Response:
    runtime = runtime_of(request)
    model = predictor(runtime)
    if body.explain:
        model = _explainable(model)
    output = _run(runtime, model, [body.text], body.explain)[0]
    info = request.scope.get("rp")
    if info is not None:
        add_log_fields(info, output, body.text)
    return Response(orjson.dumps(output), media_type="application/json")


@router.post(
    "/predict/batch",
    response_model=list[PredictionOut],
    responses=ERRORS,
    summary="Sentiment of 1-256 reviews",
    description="One result per text, in order, each with its own request_id. 413 when the "
    "texts hold more than MAX_BATCH_CHARS characters together. `explain: true` as for "
    "/predict.",
)
async def predict_batch(body: BatchRequest, request: Request) -> Response:
    runtime = runtime_of(request)
    model = predictor(runtime)
    if body.explain:
        model = _explainable(model)
    limit = runtime.settings.max_batch_chars
    total = sum(len(text) for text in body.texts)
    if total > limit:
        raise HTTPException(
            status_code=413,
            detail=f"the texts hold {total} characters together, over the batch limit of "
            f"{limit} (MAX_BATCH_CHARS); send fewer or shorter texts per request",
        )
    outputs = await anyio.to_thread.run_sync(
        _run_batch, runtime, model, body.texts, body.explain, limiter=runtime.batch_limiter
    )
    info = request.scope.get("rp")
    if info is not None:
        info.update(model_version=outputs[0]["model_version"], count=len(outputs))
    return Response(orjson.dumps(outputs), media_type="application/json")
