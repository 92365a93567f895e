"""Property: any JSON a client can send is stored exactly or refused with a 422 that names the
field and the reason; never a 5xx, never a dead letter. Real PostgreSQL, raw request bytes.

Beyond what the OpenAPI schema generates: every code point class (controls, NUL, lone and paired
surrogates, noncharacters, private use, every plane), every JSON escape (the short ones and
``\\uXXXX`` in either case, astral characters as escaped surrogate pairs), raw UTF-8, and sizes
from empty to the 20,000-character limit and beyond.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from app.backend.main import create_app
from app.backend.schemas import MAX_TEXT_CHARS, NON_BLANK
from app.backend.text_policy import unstorable_reason
from tests.app.backend.conftest import make_settings, wait_until

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}

SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                 "\r": "\\r", "\t": "\\t"}  # fmt: skip
SPECIALS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\ufffe", "\uffff", "\ufdd0",
            "\U0010ffff", "\U0001f600", "\ue000", "\u202e", "\u0301", "\ufeff", "\x7f", "\x85",
            "\u2028", "\u2029", '"', "\\", "/"]  # fmt: skip

# Every code point, surrogates included (hypothesis leaves out category Cs unless told).
any_character = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(SPECIALS),
    st.characters(min_codepoint=0, max_codepoint=0x1F),
)
texts = st.one_of(
    st.text(any_character, min_size=0, max_size=40),
    st.text(any_character, min_size=200, max_size=600),
    st.builds(
        lambda c, n: c * n, any_character, st.sampled_from([MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1])
    ),
)


def _escape(character: str, style: int) -> str:
    """One character as JSON: raw, short escape, or \\uXXXX (lower/upper hex, pairs for astral)."""
    code = ord(character)
    if style == 0 and character in SHORT_ESCAPES:
        return SHORT_ESCAPES[character]
    raw_allowed = code >= 0x20 and character not in '"\\' and not 0xD800 <= code <= 0xDFFF
    if style <= 1 and raw_allowed:
        return character
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        pair = f"\\u{high:04x}\\u{low:04x}"
        return pair.upper().replace("\\U", "\\u") if style == 3 else pair
    escaped = f"\\u{code:04x}"
    return escaped.upper().replace("\\U", "\\u") if style == 3 else escaped


@st.composite
def json_string(draw: st.DrawFn, value: str) -> bytes:
    styles = draw(st.lists(st.integers(0, 3), min_size=len(value), max_size=len(value)))
    if len(set(value)) == 1 and len(value) > 1000:  # a huge run: one style, drawn once
        styles = [styles[0]] * len(value)
    body = "".join(_escape(c, s) for c, s in zip(value, styles, strict=True))
    return ('"' + body + '"').encode("utf-8")


def _decoded(raw: bytes) -> str:
    """What a standard JSON parser makes of the string literal (lone surrogates included)."""
    import json

    return json.loads(raw.decode("utf-8"))


@pytest.fixture
def pg_client(tiny_model: Path, pg_url: str, tmp_path: Path):
    app = create_app(make_settings(tmp_path, model_path=tiny_model, database_url=pg_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _check_refusal(response, loc_prefix: list, value: str) -> None:
    assert response.status_code in {413, 422}, response.text
    response.content.decode("utf-8")
    if response.status_code == 413:
        return
    errors = response.json()["detail"]
    assert any(e["loc"][: len(loc_prefix)] == loc_prefix for e in errors), errors
    reason = unstorable_reason(value)
    if reason is not None:
        first = reason.split(" at ")[0]
        assert any(first.split(" (")[0] in e["msg"] for e in errors), (errors, reason)


def test_any_text_is_stored_exactly_or_refused_by_name(pg_client: TestClient, pg_url: str) -> None:
    accepted: dict[str, str] = {}
    statuses: dict[str, int] = {}

    @given(data=st.data(), value=texts)
    @settings(max_examples=250, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def predict(data: st.DataObject, value: str) -> None:
        literal = data.draw(json_string(value))
        assert _decoded(literal) == value
        wrap = data.draw(st.sampled_from(["single", "batch"]))
        if wrap == "single":
            body, path, loc = b'{"text": ' + literal + b"}", "/predict", ["body", "text"]
        else:
            body = b'{"texts": ["fine", ' + literal + b"]}"
            path, loc = "/predict/batch", ["body", "texts", 1]
        response = pg_client.post(path, content=body, headers=JSON)
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
        assert response.status_code < 500, response.text
        expected_ok = (
            unstorable_reason(value) is None
            and 1 <= len(value) <= MAX_TEXT_CHARS
            and NON_BLANK.search(value) is not None
        )
        if expected_ok:
            assert response.status_code == 200, response.text
            answer = response.json()
            answer = answer[1] if isinstance(answer, list) else answer
            accepted[answer["request_id"]] = value
        else:
            _check_refusal(response, loc, value)

    predict()

    @given(data=st.data(), value=st.text(any_character, max_size=40))
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def feedback(data: st.DataObject, value: str) -> None:
        field = data.draw(st.sampled_from(["request_id", "correct_label"]))
        other = b'"positive"' if field == "request_id" else b'"' + b"0" * 32 + b'"'
        literal = data.draw(json_string(value))
        other_field = b"correct_label" if field == "request_id" else b"request_id"
        body = (
            b'{"' + field.encode() + b'": ' + literal + b', "' + other_field + b'": ' + other + b"}"
        )
        response = pg_client.post(
            "/feedback", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code in {404, 422}, response.text
        if response.status_code == 422:
            _check_refusal(response, ["body", field], value)

    feedback()

    runtime = pg_client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 60, "every accepted record flushed")
    assert runtime.flusher.dead_lettered == 0
    assert statuses.get("200", 0) > 20 and statuses.get("422", 0) > 20, statuses
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                text("SELECT request_id, text FROM predictions WHERE request_id = ANY(:ids)"),
                {"ids": list(accepted)},
            ).all()
        )
        assert connection.execute(text("SELECT count(*) FROM dead_letters")).scalar() == 0
    engine.dispose()
    assert stored == accepted  # byte for byte what the client sent
