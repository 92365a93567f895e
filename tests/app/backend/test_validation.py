"""Bad input gets a 4xx naming the field and the reason; never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.backend.schemas import MAX_BATCH, MAX_TEXT_CHARS

BAD_PREDICT = [
    pytest.param({"text": ""}, "text", "at least 1 character", id="empty"),
    pytest.param({"text": " \n\t "}, "text", "blank", id="whitespace"),
    pytest.param({"text": "x" * (MAX_TEXT_CHARS + 1)}, "text", "at most 20000", id="too-long"),
    pytest.param({"text": 5}, "text", "valid string", id="number"),
    pytest.param({"text": None}, "text", "valid string", id="null"),
    pytest.param({"text": ["a"]}, "text", "valid string", id="list"),
    pytest.param({}, "text", "Field required", id="missing"),
    pytest.param({"text": "ok", "extra": 1}, "extra", "Extra inputs", id="extra"),
]


@pytest.mark.parametrize(("body", "field", "reason"), BAD_PREDICT)
def test_predict_rejects(client: TestClient, body: dict, field: str, reason: str) -> None:
    response = client.post("/predict", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"][-1] == field and reason in e["msg"] for e in errors), errors


def test_text_of_max_length_is_accepted(client: TestClient) -> None:
    response = client.post("/predict", json={"text": "good " * (MAX_TEXT_CHARS // 5)})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param([], id="empty"),
        pytest.param(["good"] * (MAX_BATCH + 1), id="257"),
        pytest.param(["good", "  "], id="blank-item"),
        pytest.param(["good", 3], id="number-item"),
        pytest.param("good", id="not-a-list"),
    ],
)
def test_batch_rejects(client: TestClient, texts: object) -> None:
    response = client.post("/predict/batch", json={"texts": texts})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", "texts"]


def test_batch_of_256(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"texts": ["great film"] * MAX_BATCH})
    assert response.status_code == 200
    ids = {item["request_id"] for item in response.json()}
    assert len(ids) == MAX_BATCH


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"text": ', headers={"content-type": "application/json"}
    )
    assert response.status_code in {400, 422}
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"request_id": "0" * 32, "correct_label": "positive"}, 404),
        ({"request_id": "0" * 32, "correct_label": "meh"}, 422),
        ({"request_id": "nope", "correct_label": "positive"}, 422),
        ({"request_id": "0" * 32}, 422),
    ],
)
def test_feedback_rejects(client: TestClient, body: dict, status: int) -> None:
    response = client.post("/feedback", json=body)
    assert response.status_code == status, response.text
    if status == 404:
        assert "unknown request_id" in response.json()["detail"]


@pytest.mark.parametrize("limit", [0, 501, "x"])
def test_predictions_limit_bounds(client: TestClient, limit: object) -> None:
    assert client.get(f"/predictions?limit={limit}").status_code == 422


def test_oversized_body_by_content_length(app_factory, tiny_model) -> None:
    client = app_factory(model_path=tiny_model, max_body_bytes=2048)
    response = client.post("/predict", json={"text": "a" * 4000})
    assert response.status_code == 413
    assert "2048" in response.json()["detail"]


def test_oversized_body_while_streaming(app_factory, tiny_model) -> None:
    """No Content-Length (chunked): the limit is enforced while reading."""
    client = app_factory(model_path=tiny_model, max_body_bytes=2048)

    def chunks():
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'"}'

    response = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_openapi_documents_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Sentiment Analysis API"
    responses = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "422", "503"} <= set(responses)
    assert client.get("/docs").status_code == 200


def test_batch_over_the_character_cap_is_413_naming_the_limit(app_factory, tiny_model) -> None:
    client = app_factory(model_path=tiny_model, max_batch_chars=50_000)
    response = client.post("/predict/batch", json={"texts": ["x" * 20_000] * 3})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "60000 characters" in detail
    assert "50000 (MAX_BATCH_CHARS)" in detail
    assert client.post("/predict/batch", json={"texts": ["x" * 20_000] * 2}).status_code == 200
