"""Request and response bodies. Strict: no coercion, no extra fields."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.backend.text_policy import unstorable_reason

MAX_TEXT_CHARS = 20_000
MAX_BATCH = 256
# How many terms an explanation lists per label: enough to read, small enough to show.
EXPLAIN_TOP_TERMS = 10
REQUEST_ID_PATTERN = r"^[0-9a-f]{32}$"


# "Not blank": at least one character outside this explicit whitespace set, which reads the same
# in Python and ECMA regex dialects (their \s differ), so the schema's pattern matches the check.
NON_BLANK = re.compile(
    r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
)


def _review_text(value: str) -> str:
    """The text policy (text_policy.py), then "not blank"."""
    if (reason := unstorable_reason(value)) is not None:
        raise ValueError(f"text {reason}")
    if NON_BLANK.search(value) is None:
        raise ValueError("text must not be blank (whitespace only)")
    return value


ReviewText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="a movie review, 1-20,000 chars, not only whitespace, without U+0000 (NUL) "
        "or lone surrogates (which UTF-8 and PostgreSQL cannot store)",
        json_schema_extra={"pattern": NON_BLANK.pattern, "not": {"pattern": "\\u0000"}},
    ),
    AfterValidator(_review_text),
]
SentimentLabel = Literal["positive", "negative"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


EXPLAIN_DESCRIPTION = (
    "true: each result also carries `explanation`, the n-grams that pushed it toward each "
    "label with their exact shares of the logit. Needs the compiled linear scorer (501 when "
    "the served model has none, see /version `scorer`). Default false."
)


class PredictRequest(StrictModel):
    text: ReviewText
    explain: bool = Field(default=False, description=EXPLAIN_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "A wonderful film, I loved every minute."}]}
    )


class BatchRequest(StrictModel):
    texts: list[ReviewText] = Field(min_length=1, max_length=MAX_BATCH)
    explain: bool = Field(default=False, description=EXPLAIN_DESCRIPTION)


class TermContribution(BaseModel):
    term: str = Field(
        description="an n-gram as the model sees it: lower-cased, markup removed, words in a "
        "negation scope prefixed `not_` (`not_good`), n-grams joined by a space"
    )
    contribution: float = Field(
        description="its share of the logit: above 0 toward positive, below 0 toward negative"
    )


class ExplanationOut(BaseModel):
    """Exact for the linear model: intercept + every term's contribution = the logit, and
    positive_probability = 1 / (1 + exp(-logit))."""

    positive: list[TermContribution] = Field(
        max_length=EXPLAIN_TOP_TERMS,
        description=f"up to {EXPLAIN_TOP_TERMS} terms pushing hardest toward positive, "
        "strongest first",
    )
    negative: list[TermContribution] = Field(
        max_length=EXPLAIN_TOP_TERMS,
        description=f"up to {EXPLAIN_TOP_TERMS} terms pushing hardest toward negative, "
        "strongest (most negative) first",
    )
    intercept: float = Field(
        description="the model's bias, the logit of a review it knows no term of"
    )
    other: float = Field(
        description="the summed contributions of the review's terms not listed above"
    )
    logit: float = Field(
        description="intercept + the listed contributions + other: the model's score"
    )


class PredictionOut(BaseModel):
    label: SentimentLabel
    probability: float = Field(ge=0, le=1, description="probability of the returned label")
    positive_probability: float = Field(ge=0, le=1, description="probability of 'positive'")
    model_version: str
    request_id: str = Field(pattern=REQUEST_ID_PATTERN, description="uuid4 hex")
    explanation: ExplanationOut | None = Field(
        default=None, description="present only when the request asked for `explain: true`"
    )


class FeedbackRequest(StrictModel):
    request_id: str = Field(pattern=REQUEST_ID_PATTERN, description="from a prediction")
    correct_label: SentimentLabel


class FeedbackOut(BaseModel):
    request_id: str
    correct_label: SentimentLabel
    status: Literal["recorded"]


class StoredPrediction(BaseModel):
    request_id: str
    text: str | None
    text_sha256: str
    text_length: int
    label: SentimentLabel
    probability: float
    positive_probability: float
    model_name: str
    model_version: str
    latency_ms: float
    created_at: str
    feedback_label: SentimentLabel | None
    feedback_at: str | None
    stored: bool = Field(description="false while the record waits in the local spool")


class ErrorOut(BaseModel):
    detail: str


class ReadyOut(BaseModel):
    ready: bool
    status: Literal["ready", "no model", "draining", "failing"]
    model: dict[str, Any]
    database: dict[str, Any]
    log_shipper: dict[str, Any]
    threads: dict[str, str]


class HealthOut(BaseModel):
    status: Literal["ok", "failing"]
    threads: dict[str, str] = Field(description="running, stopped or dead, per thread")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the plain ``{"detail": str}`` errors."""
    reasons = {
        400: "Malformed body (not parseable)",
        401: "Missing or wrong X-API-Key",
        404: "Unknown request_id",
        413: "Body larger than MAX_BODY_BYTES, or a batch over MAX_BATCH_CHARS characters",
        501: "explain: true, but the served model has no compiled linear scorer to explain it "
        "(nothing was predicted or recorded; send it without explain)",
        503: "No model loaded, or the spool is full (Retry-After says when to retry)",
    }
    return {code: {"model": ErrorOut, "description": reasons[code]} for code in codes}
