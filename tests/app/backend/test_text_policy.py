"""One text policy at the edge: what UTF-8 or PostgreSQL cannot store is refused with a 422 that
names the field and the reason, on every route that takes text; never a 5xx. Raw request bytes,
so that nothing a client library would refuse to encode is left out."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.backend.text_policy import printable, unstorable_reason

JSON = {"content-type": "application/json"}
ROUTES = ("/predict", "/predict/batch", "/feedback")


def post(client: TestClient, path: str, body: bytes):
    return client.post(path, content=body, headers=JSON)


@pytest.mark.parametrize(
    ("body", "loc", "reason"),
    [
        pytest.param(b'{"text": "good\\u0000film"}', ["body", "text"],
                     "U+0000 (NUL) at character 4", id="nul-escape"),
        pytest.param(b'{"text": "good\\ud800film"}', ["body", "text"],
                     "lone surrogate U+D800 at character 4", id="lone-high-surrogate"),
        pytest.param(b'{"text": "\\udfff"}', ["body", "text"], "lone surrogate U+DFFF",
                     id="lone-low-surrogate"),
        pytest.param(b'{"text": "ok \\ude00\\ud83d"}', ["body", "text"], "lone surrogate U+DE00",
                     id="reversed-pair"),
        pytest.param(b'{"texts": ["fine", "bad\\u0000"]}', ["body", "texts", 1], "U+0000",
                     id="batch-nul"),
        pytest.param(b'{"texts": ["fine", "\\ud834"]}', ["body", "texts", 1], "U+D834",
                     id="batch-surrogate"),
    ],
)  # fmt: skip
def test_unstorable_text_is_a_422_naming_field_and_reason(
    client: TestClient, body: bytes, loc: list, reason: str
) -> None:
    path = "/predict/batch" if b"texts" in body else "/predict"
    response = post(client, path, body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and reason in e["msg"] for e in errors), errors


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"text": "caf\xc3\xa9 \xff"}', id="invalid-start-byte"),
        pytest.param(b'{"text": "a\xed\xa0\x80b"}', id="utf8-encoded-surrogate"),
        pytest.param(b'{"text": "\xc0\xaf"}', id="overlong"),
        pytest.param(b'{"text": "\xe2\x82"}', id="truncated-sequence"),
        pytest.param('{"text": "utf-16"}'.encode("utf-16"), id="utf-16-body"),
    ],
)
@pytest.mark.parametrize("path", ROUTES)
def test_bodies_that_are_not_utf8_are_refused_before_parsing(
    client: TestClient, path: str, body: bytes
) -> None:
    response = post(client, path, body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert error["msg"].startswith("body is not UTF-8")
    assert "offset" in error["msg"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"text": "ok", "\\ud800": 1}', id="surrogate-field-name"),
        pytest.param(b'{"request_id": "\\ud800", "correct_label": "\\u0000"}', id="feedback"),
        pytest.param(b'{"texts": "\\udfff"}', id="texts-not-a-list"),
        pytest.param(b'["\\ud800"]', id="top-level-list"),
        pytest.param(b'"\\u0000"', id="top-level-string"),
    ],
)
def test_error_responses_echo_unencodable_input_safely(
    client: TestClient, path: str, body: bytes
) -> None:
    """FastAPI's own 422 would echo the lone surrogate and fail to encode it: a 500."""
    response = post(client, path, body)
    assert response.status_code == 422, response.text
    response.content.decode("utf-8")  # the error response itself is valid UTF-8
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "text",
    [
        "\x01\x07\x1b\x7f control characters",
        "\ufffe\uffff noncharacters \ufdd0",
        "private \ue000 \U000f0000",
        "astral \U0001f600 \U0001d11e \U00010000 \U0010fffd",
        "\u200b\u200d zero width \ufeff",
        "right-to-left \u202e reversed",
        "combining e\u0301\u0301\u0301",
    ],
)
def test_every_storable_character_class_is_accepted_as_sent(client: TestClient, text: str) -> None:
    response = client.post("/predict", json={"text": text})
    assert response.status_code == 200, response.text
    (stored,) = [
        p
        for p in client.get("/predictions").json()
        if p["request_id"] == response.json()["request_id"]
    ]
    assert stored["text"] == text
    assert stored["text_length"] == len(text)


def test_unstorable_reason_and_printable() -> None:
    assert unstorable_reason("plain text \U0001f600") is None
    assert "U+0000" in (unstorable_reason("a\x00") or "")
    assert "U+DBFF at character 2" in (unstorable_reason("ab\udbff") or "")
    assert printable({"k\ud800": ["v\udc00", 1]}) == {"k\\ud800": ["v\\udc00", 1]}


def test_long_inputs_are_not_echoed_whole(client: TestClient) -> None:
    response = client.post("/predict", json={"text": "x" * 20_001})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["input"].endswith("(20001 characters)")
    assert len(error["input"]) < 300


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"texts": [123456789012345678901234567890]}', id="integer-beyond-64-bits"),
        pytest.param(b'{"text": -99999999999999999999999}', id="negative-huge-integer"),
        pytest.param(b'{"text": NaN}', id="nan"),
        pytest.param(b'{"texts": [Infinity, -Infinity]}', id="infinity"),
        pytest.param(b'{"text": ' + b"9" * 4000 + b"}", id="4000-digit-integer"),
    ],
)
@pytest.mark.parametrize("path", ROUTES)
def test_numbers_json_allows_are_echoed_safely(client: TestClient, path: str, body: bytes) -> None:
    response = post(client, path, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
