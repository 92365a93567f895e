"""Fixtures for the ML suites: small parameter sets, prepared projects and a real MLflow server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ml.data import RawData, read_embedded

# Big enough for a model that passes the behavioural checks, small enough to train in seconds.
GOOD_VERSION = 1
GOOD_ROWS = 3000
# Far too little data: the gate must refuse what this trains.
WEAK_VERSION = 9
WEAK_ROWS = 40

TEST_PARAMS = {
    "data": {
        "raw_csv": "data/raw/IMDB Dataset.csv",
        "version": GOOD_VERSION,
        "versions": {GOOD_VERSION: GOOD_ROWS, 2: None, WEAK_VERSION: WEAK_ROWS},
        "test_fraction": 0.2,
        "seed": 42,
    },
    "train": {
        "ngram_max": 2,
        "min_df": 2,
        "max_df": 0.9,
        "nb_alpha": 0.5,
        "C": 100.0,
        "max_iter": 1000,
    },
    "gate": {
        "min_accuracy": 0.85,
        "min_f1": 0.85,
        "min_roc_auc": 0.9,
        "max_regression": 0.005,
        "min_behaviour_pass_rate": 1.0,
    },
}


def write_params(project: Path, **overrides: dict) -> Path:
    params = {
        section: {**values, **overrides.get(section, {})} for section, values in TEST_PARAMS.items()
    }
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_raw() -> RawData:
    return read_embedded()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with the test parameters."""
    write_params(tmp_path)
    return tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, deadline_seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http only
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {deadline_seconds} s")


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, venv_bin: Path, subprocess_env: dict[str, str]
) -> Iterator[str]:
    """A real tracking server on 127.0.0.1: sqlite backend, proxied artifact store."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log_file = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(venv_bin / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=subprocess_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{uri}/health", 120, process)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


def run_module(
    module: str,
    *args: str,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module`` the way an operator would, capturing its output."""
    return subprocess.run(
        [shutil.which("python", path=env["PATH"]) or "python", "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
