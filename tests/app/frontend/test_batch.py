"""CSV batch logic, without Streamlit: parsing, the 256-row chunks, row numbers, the export."""

from __future__ import annotations

import io

import httpx
import pandas as pd
import pytest

from app.frontend.batch import (
    BatchInputError,
    chunks,
    label_counts,
    predict_in_batches,
    read_reviews_csv,
    results_csv,
)
from app.frontend.client import ApiClient, ApiError

from .conftest import FakeBackend


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The CSV file is empty"),
        (b"  \n\n", "The CSV file is empty"),
        (b"id,comment\n1,x\n", "no `review` or `text` column (columns found: `id`, `comment`)"),
        (b"review\n", "has a `review` column but no rows"),
        (b"review\n \n\n", "Every row of the `review` column is blank"),
        (b"review\n\xff\xfe\x00bad\n", "not UTF-8 text"),
        (b'review\n"unterminated\n', "not a readable CSV"),
        (b"review\nGood, funny, moving\n", "Line 2 has 3 fields but the header has 1"),
        (b"id,review\n1,fine\n2,loud, long\n", "Line 3 has 3 fields but the header has 2"),
    ],
)
def test_bad_files_are_refused_with_a_reason(content: bytes, message: str):
    with pytest.raises(BatchInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_reviews_csv(content, max_rows=100)


def test_review_column_wins_and_blank_rows_are_skipped():
    content = b"\xef\xbb\xbfText,Review,other\nt1,great,x\nt2,,y\nt3,bad,z\n"
    batch = read_reviews_csv(content, max_rows=100)
    assert batch.column == "Review"
    assert batch.texts == ("great", "bad")
    assert batch.rows == (1, 3)
    assert batch.skipped_blank == 1


def test_text_column_and_quoted_commas_and_newlines():
    frame = pd.DataFrame({"text": ['Good, "really" good', "line one\nline two"]})
    batch = read_reviews_csv(frame.to_csv(index=False).encode(), max_rows=100)
    assert batch.texts == ('Good, "really" good', "line one\nline two")


def test_more_than_max_rows_is_refused():
    content = ("review\n" + "fine\n" * 11).encode()
    with pytest.raises(BatchInputError, match="11 reviews; this page analyses at most 10"):
        read_reviews_csv(content, max_rows=10)


def test_chunks():
    assert chunks(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert chunks(list("ab"), 256) == [["a", "b"]]
    with pytest.raises(ValueError, match="at least 1"):
        chunks(["a"], 0)


def test_600_rows_go_in_256_row_batches(fake_backend: FakeBackend):
    content = ("review\n" + "".join(f"great film {i}\n" for i in range(600))).encode()
    batch = read_reviews_csv(content, max_rows=1000)
    progress: list[tuple[int, int]] = []
    with ApiClient(fake_backend.url) as client:
        results = predict_in_batches(
            client, batch, batch_size=256, on_progress=lambda *a: progress.append(a)
        )
    assert progress == [(256, 600), (512, 600), (600, 600)]
    assert len(results) == 600
    assert list(results["row"][:2]) == [1, 2]
    assert results["review"].iloc[-1] == "great film 599"
    assert set(results["label"]) == {"positive"}


def test_a_failing_chunk_names_its_rows_and_maps_field_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"detail": [{"loc": ["body", "texts", 1], "msg": "too long"}]}
        return httpx.Response(422, json=body)

    batch = read_reviews_csv(b"review\na\n\nb\nc\n", max_rows=10)
    with (
        ApiClient("http://api.test", transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ApiError) as caught,
    ):
        predict_in_batches(client, batch, batch_size=2)
    assert caught.value.message.startswith("Rows 1-3 of the file:")
    assert [str(field) for field in caught.value.field_errors] == ["row 3: too long"]


def test_label_counts_and_csv_export():
    results = pd.DataFrame(
        {
            "row": [1, 2, 3],
            "review": ["a", "b", "c"],
            "label": ["positive", "positive", "positive"],
            "probability": [0.9, 0.8, 0.7],
            "model_version": ["1", "1", "1"],
            "request_id": ["x", "y", "z"],
        }
    )
    counts = label_counts(results)
    assert counts.to_dict() == {"reviews": {"positive": 3, "negative": 0}}
    exported = pd.read_csv(io.BytesIO(results_csv(results)))
    assert list(exported.columns) == list(results.columns)
    assert exported["probability"].tolist() == [0.9, 0.8, 0.7]
