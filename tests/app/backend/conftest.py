"""Fixtures for the prediction service: a tiny model, app clients, a throwaway PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.backend.main import create_app
from app.backend.settings import Settings
from ml import integrity
from tests.conftest import REPO_ROOT
from tests.support.postgres import PostgresCluster, postgres_bin

POSITIVE = [
    "a wonderful film, great acting and a moving story",
    "I loved it, brilliant and beautiful",
    "excellent movie, the best this year",
    "great fun, superb cast, loved every minute",
    "a masterpiece, wonderful and touching",
    "brilliant direction, great script, excellent",
]
NEGATIVE = [
    "a terrible film, awful acting and a boring story",
    "I hated it, dull and stupid",
    "the worst movie this year, a waste of time",
    "boring, bad cast, awful script",
    "a disaster, terrible and painful",
    "poor direction, bad script, horrible",
]


def write_export(folder: Path, *, version: str = "7", binary: bool = False) -> Path:
    """A small but real ml pipeline exported like ml.export does: the pickle, the preprocessing
    code it refers to (code/ml, staged the way ml.train stages it) and the model card."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from ml.features import NaiveBayesWeighter
    from ml.text import TOKEN_PATTERN, model_text

    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    preprocessor=model_text, token_pattern=TOKEN_PATTERN, binary=binary
                ),
            ),
            ("nb", NaiveBayesWeighter(alpha=0.5)),
            ("clf", LogisticRegression(C=10.0)),
        ]
    )
    pipeline.fit(POSITIVE + NEGATIVE, [1] * len(POSITIVE) + [0] * len(NEGATIVE))
    folder.mkdir(parents=True, exist_ok=True)
    pickle_path = folder / "model.pkl"
    pickle_path.write_bytes(pickle.dumps(pipeline))
    code = integrity.read_code(
        integrity.stage_code(pickle_path.read_bytes(), REPO_ROOT / "ml", folder / "code")
    )
    card = {
        "name": "imdb-sentiment",
        "version": version,
        "alias": "champion",
        "run_id": "0" * 32,
        "git_sha": "test",
        "data_md5": "test",
        "data_version": "1",
        "metrics": {"accuracy": 1.0},
        "trained_at": "2026-01-01T00:00:00+00:00",
        "model_sha256": hashlib.sha256(pickle_path.read_bytes()).hexdigest(),
        "code_sha256": integrity.code_digest(code),
        "code_files": integrity.file_manifest(code),
    }
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("tiny-model") / "model")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "log_level": "WARNING",
        "flush_interval_seconds": 0.05,
        "flush_max_backoff_seconds": 0.5,
        "shutdown_flush_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a started TestClient with settings overrides; everything closes at the end."""
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        data_dir = overrides.pop("data_dir", tmp_path / f"data-{len(clients)}")
        settings = make_settings(data_dir, **overrides)  # type: ignore[arg-type]
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        _until_the_database_was_tried(client)
        return client

    yield build
    for client in reversed(clients):
        client.__exit__(None, None, None)


def _until_the_database_was_tried(client: TestClient, timeout: float = 10.0) -> None:
    """The service answers before its flusher's first pass has migrated the database (the
    /ready database status is `starting` until then); tests begin once it has been tried, as
    a client of a long-running service would find it. A wait, not a check: tests of the
    start itself read /ready on their own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Asked of the runtime, not over HTTP: a request would add a log record to ship.
        _, state = client.app.state.runtime.ready_state()  # type: ignore[attr-defined]
        if state["database"]["status"] != "starting":
            return
        time.sleep(0.02)


@pytest.fixture
def client(app_factory: Callable[..., TestClient], tiny_model: Path) -> TestClient:
    return app_factory(model_path=tiny_model)


def wait_until(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s: {message}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if postgres_bin() is None:
        pytest.fail("PostgreSQL server binaries missing: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="rp-pg-"))
    cluster = PostgresCluster(root)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.running:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> str:
    """A fresh, empty database in the session's cluster (restarted if a test left it down)."""
    if not postgres.running:
        postgres.start()
    return postgres.create_database()
