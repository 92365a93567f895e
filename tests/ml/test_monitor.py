"""ml.monitor for real: a served model, windows stored in the service's schema, the command.

The reference is one half of the model's hold-out; the calm window is the other half, the
shifted window Rotten Tomatoes sentences (one line each, a tenth of an IMDB review's length).
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.ml.conftest import run_module
from tests.ml.feedback_data import rotten_tomatoes
from tests.support.postgres import PostgresCluster, throwaway_cluster
from tests.support.prediction_store import (
    migrated_store,
    scored_predictions,
    spread_over,
    store_predictions,
)

pytestmark = pytest.mark.integration

WINDOW = 1000
WITH_FEEDBACK = 100
EXIT_RETRAIN_ADVISED = 3


@pytest.fixture(scope="module")
def served(exported_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The exported model, its hold-out split in two: the reference and the calm window."""
    project = exported_model.parent.parent
    holdout = pd.read_csv(project / "data" / "test.csv", keep_default_na=False)
    half = len(holdout) // 2
    folder = tmp_path_factory.mktemp("monitor-reference")
    reference = folder / "reference.csv"
    holdout.iloc[:half].to_csv(reference, index=False)
    pipeline = pickle.loads((exported_model / "model.pkl").read_bytes())  # noqa: S301 - ours
    return {
        "model": exported_model,
        "reference": reference,
        "calm": holdout.iloc[half:].sample(n=WINDOW, random_state=3),
        "pipeline": pipeline,
    }


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_cluster("rp-monitor-pg-") as cluster:
        yield cluster


def _store(
    url: str, pipeline: object, reviews: pd.DataFrame, end: datetime, *, keep_text: bool = True
) -> None:
    migrated_store(url)
    items = scored_predictions(
        pipeline,
        reviews["review"].tolist(),
        spread_over(len(reviews), 12, end),
        reviews["label"].tolist(),
    )
    # Verdicts on the first WITH_FEEDBACK only, as users give them on a few predictions.
    items = [
        replace(item, feedback_label=item.feedback_label if index < WITH_FEEDBACK else None,
                keep_text=keep_text)
        for index, item in enumerate(items)
    ]  # fmt: skip
    store_predictions(url, items)


def _monitor(served: dict, url: str, project: Path, env: dict[str, str], *args: str):
    return run_module(
        "ml.monitor",
        "--model", str(served["model"]),
        "--reference", str(served["reference"]),
        "--out", str(project / "out"),
        *args,
        cwd=project,
        env={**env, "DATABASE_URL": url},
    )  # fmt: skip


def _checks(summary: dict) -> dict[str, dict]:
    return {check["name"]: check for check in summary["checks"]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_holdout_window_is_calm(
    served: dict,
    project: Path,
    tmp_path: Path,
    subprocess_env: dict[str, str],
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'calm.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres").create_database()
    )
    _store(url, served["pipeline"], served["calm"], datetime.now(UTC))
    result = _monitor(served, url, project, subprocess_env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary == json.loads((project / "out" / "summary.json").read_text())
    assert summary["verdict"] == "no_drift"
    assert summary["flagged"] == []
    assert summary["window"]["predictions"] == WINDOW
    assert summary["window"]["feedback"] == WITH_FEEDBACK
    checks = _checks(summary)
    for name in ("review_length", "oov_rate", "confidence"):
        assert checks[name]["value"] < 0.1, checks[name]  # PSI: no shift at all
    assert checks["positive_share"]["value"] < 0.05
    assert checks["feedback_accuracy"]["value"] is not None
    page = (project / "out" / "drift.html").read_text()
    assert "No drift: live predictions look like the reference" in page


def test_shifted_window_advises_retraining(
    served: dict, project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'shifted.db'}"
    shifted = rotten_tomatoes().sample(n=WINDOW, random_state=5)
    _store(url, served["pipeline"], shifted, datetime.now(UTC))
    result = _monitor(served, url, project, subprocess_env)
    assert result.returncode == EXIT_RETRAIN_ADVISED, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "retrain_advised"
    assert summary["retrain_advised"] is True
    checks = _checks(summary)
    assert checks["review_length"]["flagged"] and checks["review_length"]["value"] > 1.0
    assert checks["confidence"]["flagged"]
    assert "review_length" in summary["flagged"]
    page = (project / "out" / "drift.html").read_text()
    assert '<section id="rp-monitor-verdict"' in page
    assert "Retrain advised: review length" in page
    assert page.count("<html") == 1
    # Only the window counts: the same reviews stored two days earlier are outside it.
    later = _monitor(
        served,
        url,
        project,
        subprocess_env,
        "--until",
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    )
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["verdict"] == "insufficient_data"


def test_a_window_without_review_text_is_judged_on_the_rest(
    served: dict, project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    """With STORE_TEXT=false the service keeps lengths but no text: no OOV rate, no failure."""
    url = f"sqlite:///{tmp_path / 'textless.db'}"
    shifted = rotten_tomatoes().sample(n=WINDOW, random_state=8)
    _store(url, served["pipeline"], shifted, datetime.now(UTC), keep_text=False)
    result = _monitor(served, url, project, subprocess_env)
    assert result.returncode == EXIT_RETRAIN_ADVISED, result.stderr
    summary = json.loads(result.stdout)
    checks = _checks(summary)
    assert checks["oov_rate"]["value"] is None and not checks["oov_rate"]["flagged"]
    assert "no review text" in checks["oov_rate"]["detail"]
    assert checks["review_length"]["flagged"]  # the stored lengths still show the shift
    assert summary["window"]["with_text"] == 0


def test_too_few_predictions_are_not_judged(
    served: dict, project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'few.db'}"
    _store(url, served["pipeline"], served["calm"].head(50), datetime.now(UTC))
    result = _monitor(served, url, project, subprocess_env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "insufficient_data"
    assert summary["window"]["predictions"] == 50
    assert "fewer than monitor.min_window_rows (200)" in result.stderr
    assert "Not enough predictions in the window" in (project / "out" / "drift.html").read_text()


def test_bad_input(served: dict, project: Path, tmp_path: Path, subprocess_env: dict[str, str]):
    marker = "monitor-pw-5d1"
    url = f"postgresql+psycopg://rp:{marker}@127.0.0.1:9/predictions"
    result = _monitor(served, url, project, subprocess_env)
    assert result.returncode == 2
    assert "postgresql+psycopg://rp:***@127.0.0.1:9/predictions" in result.stderr
    assert marker not in result.stderr + result.stdout

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for name in ("model.pkl", "model_card.json"):
        (tampered / name).write_bytes((served["model"] / name).read_bytes())
    with (tampered / "model.pkl").open("ab") as stream:
        stream.write(b"\0")
    result = run_module(
        "ml.monitor", "--model", str(tampered), cwd=project,
        env={**subprocess_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to load it" in result.stderr
    assert not (project / "out").exists()


_NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname")
_seen: list[tuple[str, tuple]] | None = None


def _record_network(event: str, args: tuple) -> None:
    if _seen is not None and event in _NETWORK_EVENTS:
        _seen.append((event, args))


def test_report_rendering_makes_no_network_connection(tmp_path: Path) -> None:
    """Evidently, imported and rendering, opens no socket (its telemetry stays off)."""
    global _seen
    import numpy as np

    from ml.monitor.drift import measure_drift
    from ml.monitor.report import write_outputs
    from ml.params import MonitorParams
    from tests.ml.conftest import TEST_PARAMS

    rng = np.random.default_rng(0)

    def signals(count: int, scale: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "review_length": rng.normal(900 * scale, 50, count),
                "oov_rate": rng.beta(2, 8, count),
                "confidence": rng.uniform(0.5, 1, count),
                "predicted_label": "positive",
            }
        )

    sys.addaudithook(_record_network)  # audit hooks cannot be removed: it records only below
    _seen = []
    try:
        drift = measure_drift(
            signals(500, 1), signals(500, 0.2), MonitorParams(**TEST_PARAMS["monitor"])
        )
        summary = {
            "verdict": "retrain_advised",
            "window": {"predictions": 500, "from": "a", "to": "b", "model_versions": ["1"]},
            "reference": {"rows": 500, "model_version": "1"},
        }
        write_outputs(tmp_path, summary, [], drift.snapshot)
        seen = list(_seen)
    finally:
        _seen = None
    assert drift.psi["review_length"] > 1
    assert (tmp_path / "drift.html").stat().st_size > 100_000
    assert seen == []


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPORT_PICTURE = Path(__file__).resolve().parents[2] / "build" / "test-results" / "drift-report.png"


def test_report_in_a_real_browser(
    served: dict, project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    """The report opens offline in Chromium: verdict first, Evidently's charts drawn, no
    request leaves the file. Its picture is kept in build/test-results/."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    url = f"sqlite:///{tmp_path / 'shifted.db'}"
    _store(
        url,
        served["pipeline"],
        rotten_tomatoes().sample(n=WINDOW, random_state=5),
        datetime.now(UTC),
    )
    assert _monitor(served, url, project, subprocess_env).returncode == EXIT_RETRAIN_ADVISED
    report = project / "out" / "drift.html"
    REPORT_PICTURE.parent.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            expect(page.locator("#rp-monitor-verdict h1")).to_contain_text("Retrain advised")
            charts = page.locator(".js-plotly-plot")
            expect(charts.first).to_be_visible(timeout=30_000)
            drawn = charts.count()
            page.screenshot(path=str(REPORT_PICTURE))
        finally:
            browser.close()
    assert drawn >= 3  # one distribution per measured signal
    outside = [
        address for address in requests if not address.startswith(("file:", "data:", "blob:"))
    ]
    assert outside == []
