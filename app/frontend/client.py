"""A typed client for the prediction API.

Every failure (no connection, a timeout, a 4xx with a FastAPI error body, a 5xx, a body that is
not the JSON the contract promises) is raised as :class:`ApiError`, whose message is one sentence a
person can act on. The page shows that message and nothing else: no traceback reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Annotated, Any, Literal, Self, TypeVar

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

Label = Literal["positive", "negative"]
ErrorKind = Literal[
    "unreachable",  # connection refused, unknown host, TLS failure, connection dropped
    "timeout",  # the API took longer than the configured timeout
    "validation",  # 422: the API named the field and the reason
    "rejected",  # another 4xx (400, 404, 413, ...)
    "unauthorized",  # 401/403: missing or wrong API key
    "unavailable",  # 503: the API is up but has no model (or is not ready)
    "server",  # any other 5xx
    "malformed",  # the body is not JSON, or not the JSON the contract promises
]

_MAX_DETAIL_CHARS = 300


def _number_to_text(value: object) -> object:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


#: Versions may arrive as numbers ("3" or 3): both read as text.
VersionText = Annotated[str, BeforeValidator(_number_to_text)]


@dataclass(frozen=True)
class FieldError:
    """One entry of FastAPI's 422 ``detail`` list: where (``loc`` without "body") and why."""

    loc: tuple[str | int, ...]
    message: str

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.loc)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.loc else self.message


class ApiError(Exception):
    """A failed API call, carrying a human-readable message."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status_code: int | None = None,
        field_errors: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.status_code = status_code
        self.field_errors = tuple(field_errors)

    @property
    def backend_down(self) -> bool:
        """True when the API could not be reached at all (further calls would fail the same way)."""
        return self.kind in ("unreachable", "timeout")


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class TermContribution(_Response):
    """An n-gram as the model sees it and its signed share of the logit."""

    term: str
    contribution: float


class Explanation(_Response):
    """``explanation`` of a prediction asked with ``explain: true``: the strongest terms."""

    positive: list[TermContribution] = Field(default_factory=list)
    negative: list[TermContribution] = Field(default_factory=list)
    intercept: float = 0.0
    other: float = 0.0
    logit: float = 0.0


class Prediction(_Response):
    """One prediction, as ``/predict``, ``/predict/batch`` and ``/predictions`` return it."""

    label: Label
    probability: float = Field(ge=0.0, le=1.0)
    model_version: VersionText
    request_id: str
    text: str | None = None
    created_at: str | None = None
    explanation: Explanation | None = None


class ModelCard(_Response):
    """The served model's card (``GET /version``); every lineage field may be absent."""

    name: str | None = None
    version: VersionText | None = None
    run_id: VersionText | None = None
    git_sha: str | None = None
    data_md5: str | None = None
    data_version: VersionText | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    trained_at: str | None = None


_ModelT = TypeVar("_ModelT")
_PREDICTIONS = TypeAdapter(list[Prediction])


class ApiClient:
    """Synchronous client for the API at ``base_url``; use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- endpoints -------------------------------------------------------------------------

    def predict(self, text: str, *, explain: bool = False) -> Prediction:
        payload: dict[str, Any] = {"text": text, "explain": True} if explain else {"text": text}
        body = self._request("POST", "/predict", json=payload)
        return _parse(Prediction, body, "/predict")

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        body = self._request("POST", "/predict/batch", json={"texts": list(texts)})
        predictions = _parse(_PREDICTIONS, body, "/predict/batch")
        if len(predictions) != len(texts):
            raise ApiError(
                f"The API at {self.base_url} answered /predict/batch with {len(predictions)} "
                f"predictions for {len(texts)} texts.",
                kind="malformed",
                status_code=200,
            )
        return predictions

    def feedback(self, request_id: str, correct_label: Label) -> dict[str, Any]:
        body = self._request(
            "POST", "/feedback", json={"request_id": request_id, "correct_label": correct_label}
        )
        return body if isinstance(body, dict) else {}

    def recent_predictions(self, limit: int = 20) -> list[Prediction]:
        body = self._request("GET", "/predictions", params={"limit": limit})
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            body = body["items"]  # tolerate a paginated envelope
        return _parse(_PREDICTIONS, body, "/predictions")

    def version(self) -> ModelCard:
        body = self._request("GET", "/version")
        return _parse(ModelCard, body, "/version")

    def ready(self) -> dict[str, Any]:
        body = self._request("GET", "/ready")
        return body if isinstance(body, dict) else {}

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            phase = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for the answer",
                httpx.WriteTimeout: "sending the request",
                httpx.PoolTimeout: "waiting for a free connection",
            }.get(type(exc), "talking to it")
            raise ApiError(
                f"The API at {self.base_url} did not answer {method} {path} in time "
                f"(timed out while {phase}; limit {self.timeout:g} s).",
                kind="timeout",
            ) from exc
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(
                f"Cannot reach the API at {self.base_url} ({method} {path}): {reason}.",
                kind="unreachable",
            ) from exc
        except httpx.HTTPError as exc:  # e.g. an invalid URL
            raise ApiError(
                f"Request {method} {self.base_url}{path} failed: {exc}.", kind="unreachable"
            ) from exc
        if response.is_success:
            return self._json(response, path)
        raise self._status_error(response, method, path)

    def _json(self, response: httpx.Response, path: str) -> Any:  # noqa: ANN401 - JSON
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                f"The API at {self.base_url} answered {path} with HTTP {response.status_code} "
                f"but the body is not valid JSON: {_snippet(response.text)!r}.",
                kind="malformed",
                status_code=response.status_code,
            ) from exc

    def _status_error(self, response: httpx.Response, method: str, path: str) -> ApiError:
        status = response.status_code
        where = f"{method} {path}"
        try:
            detail: Any = response.json().get("detail")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            detail = None
        if status == 422 and isinstance(detail, list):
            fields = [_field_error(item) for item in detail]
            return ApiError(
                "The API rejected the input: " + "; ".join(str(field) for field in fields),
                kind="validation",
                status_code=status,
                field_errors=fields,
            )
        reason = _detail_text(detail) or _snippet(response.text) or response.reason_phrase
        if status in (401, 403):
            return ApiError(
                f"The API at {self.base_url} refused {where} (HTTP {status}): {reason}. "
                "Check API_KEY.",
                kind="unauthorized",
                status_code=status,
            )
        if 400 <= status < 500:
            kind: ErrorKind = "validation" if status == 422 else "rejected"
            return ApiError(
                f"The API rejected {where} (HTTP {status}): {reason}",
                kind=kind,
                status_code=status,
            )
        if status == 503:
            return ApiError(
                f"The API at {self.base_url} is not ready (HTTP 503 on {where}): {reason}",
                kind="unavailable",
                status_code=status,
            )
        return ApiError(
            f"The API at {self.base_url} failed on {where} (HTTP {status}): {reason}",
            kind="server",
            status_code=status,
        )


def _parse(model: type[_ModelT] | TypeAdapter[_ModelT], body: object, path: str) -> _ModelT:
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(
            f"The API's answer to {path} does not match the contract "
            f"({exc.error_count()} problem(s); first: {location}: {first['msg']}).",
            kind="malformed",
            status_code=200,
        ) from exc


def _field_error(item: object) -> FieldError:
    """``{"loc": ["body", "text"], "msg": "..."}`` → ``text: ...``."""
    if not isinstance(item, dict):
        return FieldError((), _snippet(str(item)))
    raw_loc = item.get("loc")
    loc = tuple(
        part
        for part in (raw_loc if isinstance(raw_loc, list) else [])
        if isinstance(part, str | int) and part not in ("body", "query", "path")
    )
    return FieldError(loc, _snippet(str(item.get("msg", "invalid value"))))


def _detail_text(detail: object) -> str:
    if detail is None:
        return ""
    if isinstance(detail, str):
        return _snippet(detail)
    if isinstance(detail, list):
        return "; ".join(str(_field_error(item)) for item in detail)
    return _snippet(json.dumps(detail, default=str))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"
