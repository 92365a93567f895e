"""The page's states through Streamlit's AppTest, backed by the fake API in a thread."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.frontend.batch import read_reviews_csv
from app.frontend.views.analyze import PREDICTION_KEY
from tests.conftest import REPO_ROOT
from tests.support.network import free_port

from .conftest import MODEL_CARD, FakeBackend

APP = str(REPO_ROOT / "app" / "frontend" / "app.py")
POSITIVE = "A great film. I loved every minute, the best of the year."


def start_page(monkeypatch: pytest.MonkeyPatch, api_url: str, **env: str) -> AppTest:
    monkeypatch.setenv("API_URL", api_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    page = AppTest.from_file(APP, default_timeout=15)
    page.run()
    assert not page.exception, page.exception
    return page


def texts(elements: object) -> str:
    return "\n".join(str(element.value) for element in elements)


def analyze(page: AppTest, review: str) -> AppTest:
    page.text_area(key="review_text").input(review)
    page.button[0].click()  # the first button on the page is Analyze
    page.run()
    assert not page.exception, page.exception
    return page


def test_title_version_and_lineage(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = start_page(page_env, fake_backend.url)
    assert page.title[0].value == "Movie Review Sentiment Analyzer"
    assert "imdb-sentiment v7" in texts(page.markdown)
    assert page.expander[0].label == "Model lineage and metrics"
    lineage = page.expander[0].table[0].value
    assert lineage.loc["Git commit", "value"] == MODEL_CARD["git_sha"]
    assert lineage.loc["Data md5 (DVC)", "value"] == MODEL_CARD["data_md5"]
    assert lineage.loc["MLflow run id", "value"] == MODEL_CARD["run_id"]
    assert lineage.loc["Trained at", "value"] == MODEL_CARD["trained_at"]
    metrics = page.expander[0].table[1].value
    assert metrics.loc["accuracy", "value"] == "0.9123"
    assert not page.error


def test_the_internal_api_address_is_never_shown(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    """API_URL is the page's own route to the API (in a deployment a container or Service name
    such as http://rotten-potatoes-backend:8000), which the user's browser cannot open."""
    page = start_page(page_env, fake_backend.url)
    shown = "\n".join(
        texts(elements) for elements in (page.caption, page.markdown, page.info, page.text)
    )
    assert fake_backend.url not in shown
    assert "API:" not in shown


def test_the_public_api_address_is_shown_with_its_docs(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    page = start_page(page_env, fake_backend.url, FRONTEND_PUBLIC_API_URL="http://127.0.0.1:8000/ ")
    assert "API: http://127.0.0.1:8000 · [docs](http://127.0.0.1:8000/docs)" in texts(page.caption)
    assert fake_backend.url not in texts(page.caption)


def test_a_malformed_public_api_address_is_reported(page_env: pytest.MonkeyPatch):
    page = start_page(page_env, "http://127.0.0.1:9", FRONTEND_PUBLIC_API_URL="backend:8000")
    assert "FRONTEND_PUBLIC_API_URL: Value error, must start with http://" in texts(page.error)


def test_backend_down_shows_a_banner_and_no_exception(page_env: pytest.MonkeyPatch):
    url = f"http://127.0.0.1:{free_port()}"
    page = start_page(page_env, url)
    banner = texts(page.error)
    assert "backend is unavailable" in banner
    assert url in banner
    assert "Connection refused" in banner
    assert "Recent predictions are not available" in texts(page.info)

    page = analyze(page, POSITIVE)
    assert f"Cannot reach the API at {url} (POST /predict)" in texts(page.error)
    assert PREDICTION_KEY not in page.session_state
    assert not page.exception


def test_slow_backend_times_out_with_a_banner(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    fake_backend.override("GET", "/version", 200, MODEL_CARD, delay=1.5)
    page = start_page(page_env, fake_backend.url, FRONTEND_REQUEST_TIMEOUT="0.3")
    banner = texts(page.error)
    assert "did not answer GET /version in time" in banner
    assert fake_backend.url in banner
    # After a timeout the page does not queue more slow calls.
    assert ("GET", "/predictions") not in [(m, p) for m, p, _ in fake_backend.requests]


def test_no_model_shows_a_warning(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    fake_backend.override("GET", "/version", 503, {"detail": "No model is loaded"})
    page = start_page(page_env, fake_backend.url)
    assert "No model is loaded" in texts(page.warning)
    assert not page.error


def test_successful_analysis_shows_label_probability_and_version(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    assert ":green[:material/sentiment_satisfied: POSITIVE]" in texts(page.markdown)
    assert page.get("progress")[0].proto.value == 93
    assert "Probability: 93.0%" in page.get("progress")[0].proto.text
    assert "Model version `7`" in texts(page.caption)
    assert not page.error


def test_negative_analysis_is_red(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = analyze(start_page(page_env, fake_backend.url), "Awful, boring, the worst film.")
    assert ":red[:material/sentiment_dissatisfied: NEGATIVE]" in texts(page.markdown)


def test_validation_error_shows_the_field_and_reason(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    page = analyze(start_page(page_env, fake_backend.url), "   ")
    message = texts(page.error)
    assert "the API rejected the input" in message
    assert "text: Value error, text is blank" in message


def test_413_shows_the_backend_detail(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    fake_backend.override("POST", "/predict", 413, {"detail": "Request body too large"})
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    assert "HTTP 413): Request body too large" in texts(page.error)


@pytest.mark.parametrize(("button", "sent"), [(1, "positive"), (2, "negative")])
def test_thumbs_send_feedback(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend, button: int, sent: str
):
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    request_id = page.session_state[PREDICTION_KEY].request_id
    page.button(key="feedback_up" if button == 1 else "feedback_down").click().run()
    assert not page.exception
    assert fake_backend.feedback == [{"request_id": request_id, "correct_label": sent}]
    assert f"Feedback recorded: this review is **{sent}**" in texts(page.success)


def test_feedback_failure_is_shown(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    fake_backend.override("POST", "/feedback", 404, {"detail": "Unknown request_id"})
    page.button(key="feedback_up").click().run()
    assert "Sending feedback failed" in texts(page.error)
    assert "Unknown request_id" in texts(page.error)
    assert not page.success


def test_recent_predictions_are_listed(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    fake_backend.predictions[0]["feedback_label"] = "negative"
    page.button(key="recent_refresh").click().run()
    table = page.dataframe[0].value
    assert list(table["label"]) == ["positive"]
    assert list(table["feedback"]) == ["negative"]
    assert table["text"][0] == POSITIVE


def test_invalid_settings_are_reported(page_env: pytest.MonkeyPatch):
    page = start_page(page_env, "not-a-url", FRONTEND_BATCH_SIZE="1000")
    message = texts(page.error)
    assert "API_URL: Value error, must start with http:// or https://" in message
    assert "FRONTEND_BATCH_SIZE: Input should be less than or equal to 256" in message


def test_api_key_is_sent(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    start_page(page_env, fake_backend.url, API_KEY="k3y")
    assert {headers.get("X-API-Key") for _, _, headers in fake_backend.requests} == {"k3y"}


# -- batch ------------------------------------------------------------------------------------


def upload(page: AppTest, content: bytes, name: str = "reviews.csv") -> AppTest:
    page.file_uploader(key="batch_file").set_value((name, content, "text/csv")).run()
    assert not page.exception, page.exception
    return page


def test_batch_upload_table_chart_and_download(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    rows = ["great fun", "awful", "", "loved it", "boring and bad"]
    content = ("id,review\n" + "".join(f"{i},{r}\n" for i, r in enumerate(rows))).encode()
    page = start_page(page_env, fake_backend.url, FRONTEND_BATCH_SIZE="2")
    page = upload(page, content)
    assert "4 reviews found in column `review`. 1 blank row(s) will be skipped." in texts(page.info)
    page.button(key="batch_analyze").click().run()
    assert not page.exception, page.exception
    assert not page.error
    batch_calls = [path for method, path, _ in fake_backend.requests if path == "/predict/batch"]
    assert len(batch_calls) == 2  # four reviews in chunks of two
    results = page.dataframe[0].value
    assert list(results["row"]) == [1, 2, 4, 5]
    assert list(results["label"]) == ["positive", "negative", "positive", "negative"]
    assert [metric.value for metric in page.metric] == ["2", "2"]
    assert page.get("arrow_vega_lite_chart") or page.get("vega_lite_chart")
    download = page.get("download_button")
    assert download
    assert download[0].proto.label == "Download results CSV"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,comment\n1,great\n", "no `review` or `text` column (columns found: `id`, `comment`)"),
        (b"", "The CSV file is empty"),
        (b"review\n", "has a `review` column but no rows"),
    ],
)
def test_batch_bad_files_are_explained(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend, content: bytes, message: str
):
    page = upload(start_page(page_env, fake_backend.url), content)
    assert message in texts(page.error)
    assert [button for button in page.button if button.key == "batch_analyze"] == []


def test_batch_too_many_rows_is_refused(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    content = ("text\n" + "good\n" * 6).encode()
    page = upload(start_page(page_env, fake_backend.url, FRONTEND_MAX_UPLOAD_ROWS="5"), content)
    assert "The CSV has 6 reviews; this page analyses at most 5 per file" in texts(page.error)


def test_batch_api_error_names_the_rows(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    fake_backend.override(
        "POST",
        "/predict/batch",
        422,
        {"detail": [{"loc": ["body", "texts", 1], "msg": "String should have at most 20000"}]},
    )
    page = upload(start_page(page_env, fake_backend.url), b"text\ngood\n\nbad\n")
    page.button(key="batch_analyze").click().run()
    message = texts(page.error)
    assert "Batch analysis: the API rejected the input" in message
    assert "row 3: String should have at most 20000" in message
    assert not page.dataframe


def test_read_reviews_csv_is_what_the_page_uses():
    batch = read_reviews_csv(b"Text\nfine\n", max_rows=10)
    assert batch.column == "Text"
    assert batch.texts == ("fine",)


def explanation_tables(page: AppTest) -> list[object]:
    return [table.value for table in page.table if "pushes toward" in table.value.columns]


def test_analysis_explains_the_verdict(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = analyze(start_page(page_env, fake_backend.url), "Great cast, loved it, boring ending.")
    assert page.checkbox(key="explain").value is True
    assert "##### Why" in texts(page.markdown)
    (table,) = explanation_tables(page)
    assert list(table.columns) == ["pushes toward", "contribution"]
    assert table.index.name == "term"
    assert dict(zip(table.index, table["pushes toward"], strict=True)) == {
        "great": "positive",
        "loved": "positive",
        "boring": "negative",
    }
    assert "add up to" in texts(page.caption)
    assert not page.error


def test_explain_can_be_turned_off(page_env: pytest.MonkeyPatch, fake_backend: FakeBackend):
    page = start_page(page_env, fake_backend.url)
    page.checkbox(key="explain").uncheck().run()
    page = analyze(page, POSITIVE)
    assert "##### Why" not in texts(page.markdown)
    assert explanation_tables(page) == []
    assert ":green[:material/sentiment_satisfied: POSITIVE]" in texts(page.markdown)


def test_a_model_that_cannot_explain_still_predicts(
    page_env: pytest.MonkeyPatch, fake_backend: FakeBackend
):
    fake_backend.cannot_explain = True
    page = analyze(start_page(page_env, fake_backend.url), POSITIVE)
    assert ":green[:material/sentiment_satisfied: POSITIVE]" in texts(page.markdown)
    assert "No explanation: " in texts(page.info)
    assert "compiled linear scorer" in texts(page.info)
    assert "##### Why" not in texts(page.markdown)
    assert not page.error
