"""ApiClient: every failure mode becomes an ApiError with a readable message."""

from __future__ import annotations

import httpx
import pytest

from app.frontend.client import ApiClient, ApiError, ModelCard, Prediction
from tests.support.network import free_port

from .conftest import MODEL_CARD, FakeBackend


def mock_client(handler: object, **kwargs: object) -> ApiClient:
    return ApiClient("http://api.test:8000", transport=httpx.MockTransport(handler), **kwargs)


def raise_on_call(request: httpx.Request, *, error: Exception) -> httpx.Response:
    raise error


# -- the happy paths against the fake server --------------------------------------------------


def test_predict_returns_a_typed_prediction(fake_backend: FakeBackend):
    with ApiClient(fake_backend.url) as client:
        prediction = client.predict("A great film, I loved it.")
    assert isinstance(prediction, Prediction)
    assert prediction.label == "positive"
    assert 0.0 <= prediction.probability <= 1.0
    assert prediction.model_version == MODEL_CARD["version"]
    assert prediction.request_id


def test_batch_feedback_recent_and_version(fake_backend: FakeBackend):
    with ApiClient(fake_backend.url) as client:
        batch = client.predict_batch(["great", "awful and boring"])
        assert [p.label for p in batch] == ["positive", "negative"]
        client.feedback(batch[1].request_id, "positive")
        recent = client.recent_predictions(limit=1)
        card = client.version()
    assert fake_backend.feedback == [
        {"request_id": batch[1].request_id, "correct_label": "positive"}
    ]
    assert len(recent) == 1
    assert isinstance(card, ModelCard)
    assert card.git_sha == MODEL_CARD["git_sha"]
    assert card.metrics["accuracy"] == pytest.approx(0.9123)


def test_api_key_is_sent_only_when_configured(fake_backend: FakeBackend):
    with ApiClient(fake_backend.url, api_key="s3cret") as client:
        client.version()
    with ApiClient(fake_backend.url) as client:
        client.version()
    with_key, without_key = (headers for _, _, headers in fake_backend.requests)
    assert with_key.get("X-API-Key") == "s3cret"
    assert "X-API-Key" not in without_key


def test_numeric_versions_are_read_as_text():
    card = {**MODEL_CARD, "version": 3, "data_version": 2}

    with mock_client(lambda request: httpx.Response(200, json=card)) as client:
        parsed = client.version()
    assert (parsed.version, parsed.data_version) == ("3", "2")


# -- transport failures --------------------------------------------------------------------


def test_connection_refused_names_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    with ApiClient(url, timeout=2) as client, pytest.raises(ApiError) as caught:
        client.predict("anything")
    error = caught.value
    assert error.kind == "unreachable"
    assert error.backend_down
    assert f"Cannot reach the API at {url}" in error.message
    assert "POST /predict" in error.message


def test_slow_backend_times_out(fake_backend: FakeBackend):
    fake_backend.override("GET", "/version", 200, MODEL_CARD, delay=1.0)
    with ApiClient(fake_backend.url, timeout=0.2) as client, pytest.raises(ApiError) as caught:
        client.version()
    error = caught.value
    assert error.kind == "timeout"
    assert error.backend_down
    assert fake_backend.url in error.message
    assert "waiting for the answer" in error.message
    assert "0.2 s" in error.message


@pytest.mark.parametrize(
    ("exc", "phrase"),
    [
        (httpx.ConnectTimeout("boom"), "connecting"),
        (httpx.PoolTimeout("boom"), "waiting for a free connection"),
    ],
)
def test_other_timeouts_say_when(exc: Exception, phrase: str):
    with (
        mock_client(lambda request: raise_on_call(request, error=exc)) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.version()
    assert caught.value.kind == "timeout"
    assert phrase in caught.value.message


def test_dropped_connection_is_unreachable():
    error = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    with (
        mock_client(lambda request: raise_on_call(request, error=error)) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.recent_predictions()
    assert caught.value.kind == "unreachable"
    assert "Server disconnected" in caught.value.message
    assert "http://api.test:8000" in caught.value.message


# -- HTTP errors ---------------------------------------------------------------------------


def test_422_names_the_field_and_the_reason(fake_backend: FakeBackend):
    with ApiClient(fake_backend.url) as client, pytest.raises(ApiError) as caught:
        client.predict("   ")
    error = caught.value
    assert error.kind == "validation"
    assert error.status_code == 422
    assert [str(field) for field in error.field_errors] == ["text: Value error, text is blank"]
    assert error.field_errors[0].loc == ("text",)
    assert error.message == "The API rejected the input: text: Value error, text is blank"


def test_422_with_list_index_in_loc():
    body = {
        "detail": [
            {"loc": ["body", "texts", 3], "msg": "String should have at least 1 character"},
            {"loc": ["body"], "msg": "Field required"},
        ]
    }
    with (
        mock_client(lambda request: httpx.Response(422, json=body)) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.predict_batch(["a"])
    assert [str(field) for field in caught.value.field_errors] == [
        "texts.3: String should have at least 1 character",
        "Field required",
    ]
    assert caught.value.field_errors[0].loc == ("texts", 3)


@pytest.mark.parametrize(
    ("status", "kind", "phrase"),
    [
        (400, "rejected", "HTTP 400): There was an error parsing the body"),
        (413, "rejected", "HTTP 413): Request body too large"),
        (404, "rejected", "HTTP 404): Unknown request_id"),
        (401, "unauthorized", "Check API_KEY"),
        (503, "unavailable", "is not ready (HTTP 503 on POST /predict): No model loaded"),
        (500, "server", "failed on POST /predict (HTTP 500): boom"),
        (502, "server", "(HTTP 502): bad gateway"),
    ],
)
def test_http_errors_carry_the_backend_detail(status: int, kind: str, phrase: str):
    details = {
        400: "There was an error parsing the body",
        413: "Request body too large",
        404: "Unknown request_id",
        401: "Invalid API key",
        503: "No model loaded",
        500: "boom",
        502: "bad gateway",
    }
    with (
        mock_client(
            lambda request: httpx.Response(status, json={"detail": details[status]})
        ) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.predict("fine")
    assert caught.value.kind == kind
    assert caught.value.status_code == status
    assert phrase in caught.value.message
    assert not caught.value.backend_down


def test_5xx_with_an_html_body_quotes_a_short_snippet():
    html = "<html><body>" + "Bad Gateway " * 100 + "</body></html>"
    with (
        mock_client(lambda request: httpx.Response(502, text=html)) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.version()
    assert caught.value.kind == "server"
    assert "Bad Gateway" in caught.value.message
    assert len(caught.value.message) < 450


def test_feedback_for_an_unknown_id_is_a_404(fake_backend: FakeBackend):
    with ApiClient(fake_backend.url) as client, pytest.raises(ApiError) as caught:
        client.feedback("nope", "positive")
    assert caught.value.status_code == 404
    assert "Unknown request_id" in caught.value.message


# -- malformed answers ---------------------------------------------------------------------


def test_non_json_body_is_malformed(fake_backend: FakeBackend):
    fake_backend.override("POST", "/predict", 200, raw=b"<html>hello</html>")
    with ApiClient(fake_backend.url) as client, pytest.raises(ApiError) as caught:
        client.predict("good")
    assert caught.value.kind == "malformed"
    assert "not valid JSON" in caught.value.message
    assert "<html>hello</html>" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"label": "meh", "probability": 0.5, "model_version": "1", "request_id": "x"},
        {"label": "positive", "probability": 1.5, "model_version": "1", "request_id": "x"},
        {"label": "positive"},
        ["not", "an", "object"],
    ],
)
def test_json_that_breaks_the_contract_is_malformed(body: object):
    with (
        mock_client(lambda request: httpx.Response(200, json=body)) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.predict("good")
    assert caught.value.kind == "malformed"
    assert "does not match the contract" in caught.value.message


def test_batch_answer_of_the_wrong_length_is_malformed(fake_backend: FakeBackend):
    one = {"label": "positive", "probability": 0.9, "model_version": "1", "request_id": "a"}
    with (
        mock_client(lambda request: httpx.Response(200, json=[one])) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.predict_batch(["a", "b"])
    assert caught.value.kind == "malformed"
    assert "1 predictions for 2 texts" in caught.value.message


def test_recent_predictions_accepts_an_items_envelope():
    one = {"label": "negative", "probability": 0.7, "model_version": "1", "request_id": "a"}
    with mock_client(lambda request: httpx.Response(200, json={"items": [one]})) as client:
        assert [p.label for p in client.recent_predictions(5)] == ["negative"]
