"""The real page in headless Chromium, backed by the real API serving a real exported model."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.frontend.highlight import NEGATIVE_RGB, POSITIVE_RGB
from tests.conftest import REPO_ROOT, running_backend, stop_process
from tests.support.network import free_port, wait_for_http

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = REPO_ROOT / "build" / "test-results" / "frontend-e2e.png"
POSITIVE_REVIEW = (
    "An absolutely wonderful film. The acting is superb, the story is moving and beautifully "
    "told, and I loved every minute of it. One of the best movies I have seen in years."
)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )


@pytest.fixture(scope="module")
def backend_url(
    exported_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    subprocess_env: dict[str, str],
    venv_bin: Path,
) -> Iterator[str]:
    if not (REPO_ROOT / "app" / "backend" / "main.py").is_file():
        pytest.skip("app/backend/main.py does not exist yet: no real API to test the page against")
    root = tmp_path_factory.mktemp("frontend-e2e-backend")
    with running_backend(exported_model, root, venv_bin, subprocess_env) as url:
        yield url


@pytest.fixture(scope="module")
def page_url(
    backend_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    subprocess_env: dict[str, str],
    venv_bin: Path,
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("frontend-e2e-page")
    port = free_port()
    env = {
        name: value
        for name, value in subprocess_env.items()
        if not name.startswith(("FRONTEND_", "STREAMLIT_")) and name != "API_KEY"
    }
    env["API_URL"] = backend_url
    env["HOME"] = str(root)  # no ~/.streamlit credentials or config from the user
    log = root / "streamlit.log"
    process = _start(
        [
            str(venv_bin / "streamlit"),
            "run",
            str(REPO_ROOT / "app" / "frontend" / "app.py"),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.fileWatcherType",
            "none",
        ],
        env,
        log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/_stcore/health", 60, process)
        except RuntimeError as error:
            pytest.fail(f"{error}\n--- streamlit log ---\n{log.read_text()[-4000:]}")
        yield url
    finally:
        stop_process(process)


def test_positive_review_in_a_real_browser(page_url: str, backend_url: str):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.set_default_timeout(30_000)
            page.goto(page_url)
            expect(page.get_by_text("Movie Review Sentiment Analyzer").first).to_be_visible()
            expect(page.get_by_text("Model version:").first).to_be_visible()

            review = page.locator("textarea[aria-label='Movie review']")
            review.fill(POSITIVE_REVIEW)
            review.press("Control+Enter")  # a text area commits its value on blur or Ctrl+Enter
            page.get_by_role("button", name="Analyze", exact=True).click()

            # The result heading, in capitals: "positive" is also in the model card's hidden
            # "recall_positive" and in the Explain option's hidden tooltip.
            expect(page.get_by_text(re.compile(r"\bPOSITIVE\b")).first).to_be_visible()
            expect(page.get_by_text("Probability:").first).to_be_visible()
            # explain is on by default: the review comes back with its words tinted.
            explained = page.locator(".rp-explained")
            expect(explained).to_be_visible()
            expect(page.get_by_role("columnheader", name="pushes toward")).to_be_visible()
            tints = {
                kind: page.locator(f".rp-explained span.rp-{kind}").evaluate_all(
                    "spans => spans.map(s => [s.textContent, getComputedStyle(s).backgroundColor])"
                )
                for kind in ("positive", "negative")
            }
            explained_text = explained.inner_text()
            body = page.inner_text("body")

            # Thumbs up goes to the real /feedback (its request id comes from the real /predict).
            page.get_by_role("button", name="Correct").click()
            expect(page.get_by_text("Feedback recorded").first).to_be_visible()
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert "NEGATIVE" not in body
    assert "Traceback" not in body
    # The real model's strongest positive words are tinted green, and whatever pulled the other
    # way red; the review reads the same as typed around them.
    assert " ".join(explained_text.split()) == " ".join(POSITIVE_REVIEW.split())
    positive_words = {word.lower() for word, _ in tints["positive"]}
    assert {"wonderful", "superb", "best"} & positive_words, tints
    assert all(color.startswith(f"rgba({POSITIVE_RGB}, ") for _, color in tints["positive"])
    assert all(color.startswith(f"rgba({NEGATIVE_RGB}, ") for _, color in tints["negative"])
    # The page's route to the API is not an address the user could open: never shown.
    assert backend_url not in body
    assert "API:" not in body
    assert SCREENSHOT.stat().st_size > 0


BATCH_CSV = (
    "id,review\n"
    f'1,"{POSITIVE_REVIEW}"\n'
    '2,"A dull, boring mess with terrible acting. The worst film in years, a waste of time."\n'
    "3,\n"
)


def test_batch_results_download_as_csv(page_url: str, tmp_path: Path):
    """Upload a CSV, analyse it through the real API, and download the results in Chromium."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    import pandas as pd
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.goto(page_url)
            page.get_by_role("tab", name="Batch (CSV)").click()
            page.locator("input[type='file']").set_input_files(
                files=[
                    {"name": "reviews.csv", "mimeType": "text/csv", "buffer": BATCH_CSV.encode()}
                ]
            )
            expect(page.get_by_text("2 reviews found in column").first).to_be_visible()
            page.get_by_role("button", name="Analyze file").click()
            button = page.get_by_role("button", name="Download results CSV")
            expect(button).to_be_visible()
            with page.expect_download() as download_info:
                button.click()
            download = download_info.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()
    assert download.suggested_filename == "reviews-predictions.csv"
    results = pd.read_csv(saved)
    assert list(results.columns) == [
        "row", "review", "label", "probability", "model_version", "request_id",
    ]  # fmt: skip
    assert results["row"].tolist() == [1, 2]
    assert results["label"].tolist() == ["positive", "negative"]
    assert results["request_id"].str.fullmatch(r"[0-9a-f]{32}").all()
