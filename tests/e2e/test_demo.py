"""`make demo` end to end, exactly as a newcomer runs it, then `make demo-down`.

The demo takes the default ports (5000, 8000, 8501 on 127.0.0.1) and the sandbox name, so this
module refuses to start when a demo is already up instead of tearing it down. Every check goes
through the URLs the demo printed. Before `make demo-down`, the secret values the demo generated
are looked for (and must be absent) in every layer of the application images, the rendered
manifests, the output of both runs and the logs of the sandbox's containers. Run times are
written to build/test-results/demo-times.json for docs/benchmarks.md, never asserted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.app.frontend.test_e2e import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import REPO_ROOT
from tests.e2e.leak_scan import (
    MIN_SECRET_LENGTH,
    names_in_text,
    needles,
    scan_image,
    secret_values,
)
from tests.manifests.conftest import kubectl
from tests.playbooks.conftest import ansible_playbook, recap_changed

pytestmark = [pytest.mark.integration, pytest.mark.demo]

SANDBOX = "rp-sandbox"
SECRETS_DIR = Path.home() / ".local/share/rotten-potatoes/sandbox-secrets"
DVC_STORE = Path.home() / ".cache/rotten-potatoes/sandbox-dvc-store"
TIMES = REPO_ROOT / "build" / "test-results" / "demo-times.json"
URL_LINE = re.compile(r"^\s*(web page|API docs|MLflow UI)\s+(http://\S+)\s*$", re.MULTILINE)
POSITIVE = "An absolute masterpiece: moving, funny and beautifully acted. I loved every minute."
NEGATIVE = "Dreadful, boring and badly acted. A complete waste of two hours, I hated it."


@dataclass(frozen=True)
class DemoRun:
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    urls: dict[str, str]
    images: dict[str, str]


def _make(target: str, timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    started = time.monotonic()
    result = subprocess.run(
        ["make", target],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result, time.monotonic() - started


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def _get(url: str, *, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the demo's own http URLs
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoRun]:
    if _docker("inspect", SANDBOX).returncode == 0:
        pytest.fail(f"a demo is already up ({SANDBOX}): run `make demo-down` first")
    try:
        first, first_seconds = _make("demo", timeout=1800)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
        second, second_seconds = _make("demo", timeout=900)
        assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
        TIMES.parent.mkdir(parents=True, exist_ok=True)
        TIMES.write_text(
            json.dumps(
                {
                    "first_seconds": round(first_seconds, 1),
                    "second_seconds": round(second_seconds, 1),
                    "second_changed": recap_changed(second.stdout),
                },
                indent=2,
            )
            + "\n"
        )
        urls = dict(URL_LINE.findall(second.stdout))
        images = json.loads((REPO_ROOT / "build" / "images.json").read_text())
        yield DemoRun(first, second, urls, images)
    finally:
        _make("demo-down", timeout=600)


def test_both_runs_print_the_three_urls_on_loopback(demo: DemoRun) -> None:
    for run in (demo.first, demo.second):
        printed = dict(URL_LINE.findall(run.stdout))
        assert set(printed) == {"web page", "API docs", "MLflow UI"}, run.stdout[-3000:]
        for url in printed.values():
            assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", url


def test_the_second_run_changes_nothing(demo: DemoRun) -> None:
    assert recap_changed(demo.second.stdout) == 0, demo.second.stdout[-8000:]


def test_the_api_predicts_with_the_version_it_reports(demo: DemoRun) -> None:
    docs_status, docs = _get(demo.urls["API docs"])
    assert docs_status == 200 and "swagger" in docs.lower()
    api = demo.urls["API docs"].removesuffix("/docs")
    status, body = _get(f"{api}/version")
    assert status == 200, body
    version = str(json.loads(body)["version"])  # /version answers with the model card
    assert version == demo.images["model_version"]
    for review, label in ((POSITIVE, "positive"), (NEGATIVE, "negative")):
        status, body = _get(f"{api}/predict", body={"text": review})
        assert status == 200, body
        prediction = json.loads(body)
        assert prediction["label"] == label, prediction
        assert prediction["model_version"] == version


def test_mlflow_shows_the_served_version_as_champion(demo: DemoRun) -> None:
    ui_status, ui = _get(demo.urls["MLflow UI"])
    assert ui_status == 200 and "mlflow" in ui.lower()
    query = urllib.parse.urlencode({"name": "imdb-sentiment", "alias": "champion"})
    base = demo.urls["MLflow UI"].rstrip("/")
    status, body = _get(f"{base}/api/2.0/mlflow/registered-models/alias?{query}")
    assert status == 200, body
    assert json.loads(body)["model_version"]["version"] == demo.images["model_version"]


def test_the_served_model_is_the_registry_s_verified_and_gated(demo: DemoRun) -> None:
    """The backend verified its model against the digests the deploy passed (the registry's),
    and the card carries the gate's verdict, whose report the export keeps beside it."""
    query = urllib.parse.urlencode({"name": "imdb-sentiment", "alias": "champion"})
    base = demo.urls["MLflow UI"].rstrip("/")
    status, body = _get(f"{base}/api/2.0/mlflow/registered-models/alias?{query}")
    assert status == 200, body
    tags = {t["key"]: t["value"] for t in json.loads(body)["model_version"]["tags"]}
    api = demo.urls["API docs"].removesuffix("/docs")
    status, body = _get(f"{api}/version")
    assert status == 200, body
    card = json.loads(body)
    verified = card["integrity"]
    assert verified["model_sha256"] == tags["model_sha256"] == demo.images["model_sha256"]
    assert verified["code_sha256"] == tags["code_sha256"] == demo.images["code_sha256"]
    assert verified["verified_against"]["model"].startswith("MODEL_SHA256 (set by the deployment)")
    assert card["scorer"]["fast_path"] is True, card["scorer"]
    assert card["gate"]["passed"] is True
    report = (REPO_ROOT / "build" / "model" / "gate_report.md").read_text()
    assert f"version {card['version']}" in report and "Verdict: **passed**" in report


def test_the_page_loads_and_shows_the_model_version(demo: DemoRun) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: make test-tools installs it")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(demo.urls["web page"])
            expect(page.get_by_text("Movie Review Sentiment Analyzer").first).to_be_visible()
            expect(page.get_by_text("Model version:").first).to_be_visible()
            body = page.inner_text("body")
        finally:
            browser.close()
    assert demo.images["model_version"] in body
    assert "Traceback" not in body


def test_a_short_stress_run_reports_no_failures(demo: DemoRun, tmp_path: Path) -> None:
    # `make stress`'s playbook on the demo's inventory, a few users for a few seconds. The report
    # and its chart stay in build/test-results/stress for CI to archive.
    reports = REPO_ROOT / "build" / "test-results" / "stress"
    shutil.rmtree(reports, ignore_errors=True)
    result = ansible_playbook(
        "playbooks/stress.yml",
        inventory="inventories/sandbox",
        extra_vars={
            "stress_test_users": 5,
            "stress_test_spawn_rate": 5,
            "stress_test_duration": 15,
            "stress_test_reports_dir": str(reports),
        },
        tmp_path=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    [report_path] = sorted(reports.glob("stress-*.json"))
    report = json.loads(report_path.read_text())
    api = demo.urls["API docs"].removesuffix("/docs")
    assert report["target"] == {"url": api, "kind": "docker"}
    assert report["totals"]["requests"] > 0
    assert report["totals"]["failures"] == 0
    assert report["totals"]["p95_ms"] > 0
    assert report["series"]
    assert report["scaling"] == "not sampled: docker target has no HPA"
    assert report_path.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# --- No secret value anywhere it could leak (before demo-down removes the evidence) ---------------


@pytest.fixture(scope="module")
def demo_secrets(demo: DemoRun) -> dict[bytes, str]:
    """The byte patterns of every secret the demo generated (sandbox_secrets_dir), by name."""
    values = secret_values(SECRETS_DIR)
    assert "postgres_password" in values, f"no postgres_password in {SECRETS_DIR}"
    short = sorted(name for name, value in values.items() if len(value) < MIN_SECRET_LENGTH)
    assert not short, f"secrets too short to scan for without false matches: {short}"
    return needles(values)


def test_no_secret_in_any_image_layer(demo: DemoRun, demo_secrets: dict[bytes, str]) -> None:
    images = [demo.images[key] for key in ("backend", "frontend", "postgres") if key in demo.images]
    assert len(images) >= 2, demo.images
    leaks = {image: scan_image(image, demo_secrets) for image in images}
    assert not {image: hits for image, hits in leaks.items() if hits}, leaks


@pytest.mark.parametrize("overlay", ["minikube", "production"])
def test_no_secret_in_the_rendered_manifests(
    demo: DemoRun, demo_secrets: dict[bytes, str], overlay: str
) -> None:
    rendered = subprocess.run(
        [kubectl(), "kustomize", f"manifests/overlays/{overlay}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Deployment" in rendered.stdout
    assert names_in_text(rendered.stdout, demo_secrets) == set()


def test_no_secret_in_the_output_of_make_demo(
    demo: DemoRun, demo_secrets: dict[bytes, str]
) -> None:
    for label, run in (("first", demo.first), ("second", demo.second)):
        output = run.stdout + run.stderr
        assert "PLAY RECAP" in output, f"the {label} run's output was not captured"
        assert names_in_text(output, demo_secrets) == set(), f"make demo ({label} run)"


def _sandbox_docker(*args: str) -> subprocess.CompletedProcess[str]:
    return _docker("exec", SANDBOX, "docker", *args)


def test_no_secret_in_the_container_logs(demo: DemoRun, demo_secrets: dict[bytes, str]) -> None:
    listed = _sandbox_docker("ps", "--all", "--format", "{{.Names}}")
    assert listed.returncode == 0, listed.stderr
    containers = listed.stdout.split()
    assert {"rotten-potatoes-backend", "rotten-potatoes-frontend"} <= set(containers), containers
    logs = {name: _sandbox_docker("logs", name) for name in containers}
    logs[f"{SANDBOX} (the sandbox itself)"] = _docker("logs", SANDBOX)
    for name, result in logs.items():
        assert result.returncode == 0, f"docker logs {name}: {result.stderr}"
        assert names_in_text(result.stdout + result.stderr, demo_secrets) == set(), name
    assert any(logs[name].stdout for name in containers), "every container log is empty"


def test_demo_down_leaves_nothing_behind(demo: DemoRun) -> None:
    down, _ = _make("demo-down", timeout=600)
    assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
    assert _docker("inspect", SANDBOX).returncode != 0
    assert _docker("volume", "inspect", f"{SANDBOX}-docker").returncode != 0
    for image in (demo.images["backend"], demo.images["frontend"]):
        assert _docker("image", "inspect", image).returncode != 0, image
    assert not SECRETS_DIR.exists()
    assert not DVC_STORE.exists()
    assert not (REPO_ROOT / "build" / "images.json").exists()
    for url in demo.urls.values():
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - nothing may answer any more
