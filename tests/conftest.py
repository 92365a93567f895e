"""Fixtures shared by every suite."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.network import free_port, wait_for_http

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _mlflow_process_uris_restored() -> Iterator[None]:
    """Put MLflow's process-wide tracking and registry URIs back after each test.

    ml.tracking.connect sets them for the process (MLflow also copies them into os.environ),
    so a test that connects in-process would otherwise point every later client built with
    only a tracking URI at its registry.
    """
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    before = {name: os.environ.get(name) for name in names}
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(before["MLFLOW_TRACKING_URI"])
        mlflow.set_registry_uri(before["MLFLOW_REGISTRY_URI"])
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The bin folder of the interpreter running the tests (the project's .venv under make)."""
    return Path(sys.executable).parent


@pytest.fixture(scope="session")
def subprocess_env(venv_bin: Path) -> dict[str, str]:
    """Environment for child commands: the venv first on PATH, no analytics, no user overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "RP_", "DVC_"))
    }
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@contextlib.contextmanager
def running_mlflow_server(root: Path, venv_bin: Path, env: dict[str, str]) -> Iterator[str]:
    """A real tracking server on 127.0.0.1: sqlite backend, proxied artifact store under root."""
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
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{uri}/health", 120, process)
        yield uri
    finally:
        stop_process(process)
        log_file.close()


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, 20 s to exit, then SIGKILL: every server a test starts is stopped this way."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def running_backend(model: Path, root: Path, venv_bin: Path, env: dict[str, str]) -> Iterator[str]:
    """The real API (uvicorn, one worker) on 127.0.0.1, sqlite storage under root; its URL."""
    port = free_port()
    backend_env = {
        **env,
        "MODEL_PATH": str(model),
        "DATA_DIR": str(root),
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite'}",
        "SPOOL_PATH": str(root / "spool.sqlite3"),
        "API_KEY": "",
    }
    log = root / "backend.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(venv_bin / "uvicorn"),
                "--factory",
                "app.backend.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=REPO_ROOT,
            env=backend_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/ready", 90, process)
        except RuntimeError as error:
            pytest.fail(f"{error}\n--- backend log ---\n{log.read_text()[-4000:]}")
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, venv_bin: Path, subprocess_env: dict[str, str]
) -> Iterator[str]:
    """One tracking server shared by the whole session."""
    root = tmp_path_factory.mktemp("mlflow-server")
    with running_mlflow_server(root, venv_bin, subprocess_env) as uri:
        yield uri


@pytest.fixture(scope="session")
def exported_model(
    tmp_path_factory: pytest.TempPathFactory, subprocess_env: dict[str, str]
) -> Path:
    """A real export (``ml.export``) of a small champion, for the service's tests.

    Tuned and trained on 3,000 reviews with the embedded sqlite MLflow store, promoted through
    the real gate, then exported exactly as the image build does.
    """
    from tests.ml.conftest import run_module, write_params

    project = tmp_path_factory.mktemp("model-project")
    write_params(project)
    for module, *args in (
        ("ml.data", "--version", "1"),
        ("ml.tune",),
        ("ml.train",),
        ("ml.promote",),
        ("ml.export", "--alias", "champion", "--out", "build/model"),
    ):
        result = run_module(module, *args, cwd=project, env=subprocess_env)
        assert result.returncode == 0, f"{module}: {result.stderr}"
    return project / "build" / "model"
