"""Integrity end to end against a real MLflow server: a model trained, gated and exported for real,
then its pickle, its card (the export's, or the registry's tags) and its code tampered with, on
both MODEL_PATH and MODEL_URI. Every refusal names what differed with both digests; the service
refuses to start (a real uvicorn process exits non-zero); ml.export and the image build refuse
too. The server is this module's own, so tampering with its artifact store disturbs no other test.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from app.backend.model import ModelIntegrityError
from ml import integrity
from tests.conftest import REPO_ROOT, running_mlflow_server, stop_process
from tests.ml.conftest import run_module, write_params
from tests.support.network import free_port

pytestmark = pytest.mark.integration

MODEL = "imdb-sentiment-integrity-test"


@dataclass(frozen=True)
class Registry:
    uri: str
    artifacts: Path
    project: Path
    export: Path
    version: str
    model_sha256: str
    code_sha256: str
    env: dict[str, str]

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def stored(self, relative: str) -> Path:
        """The version's file in the server's artifact store (found by the recorded digest)."""
        for pickle_path in self.artifacts.rglob("model.pkl"):
            if integrity.sha256_bytes(pickle_path.read_bytes()) == self.model_sha256:
                return pickle_path.parent / relative
        raise AssertionError(f"no stored model.pkl with sha256 {self.model_sha256}")


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, venv_bin: Path, subprocess_env: dict[str, str]
) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("integrity-server")
    with running_mlflow_server(root, venv_bin, subprocess_env) as uri:
        project = tmp_path_factory.mktemp("integrity-project")
        write_params(project)
        env = {**subprocess_env, "MLFLOW_TRACKING_URI": uri, "RP_MODEL_NAME": MODEL}
        for module, *args in (
            ("ml.data", "--version", "1"),
            ("ml.tune",),
            ("ml.train",),
            ("ml.promote",),
            ("ml.export", "--out", "build/model"),
        ):
            result = run_module(module, *args, cwd=project, env=env)
            assert result.returncode == 0, f"{module}: {result.stderr}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        version = client.get_model_version_by_alias(MODEL, "champion")
        yield Registry(
            uri=uri,
            artifacts=root / "artifacts",
            project=project,
            export=project / "build" / "model",
            version=str(version.version),
            model_sha256=version.tags["model_sha256"],
            code_sha256=version.tags["code_sha256"],
            env=env,
        )


@contextlib.contextmanager
def tampered(path: Path, change: Callable[[bytes], bytes]) -> Iterator[Path]:
    """Change a file for the duration of a test, then put the original back."""
    original = path.read_bytes()
    path.write_bytes(change(original))
    try:
        yield path
    finally:
        path.write_bytes(original)


@pytest.fixture
def export(registry: Registry, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(registry.export, folder)
    return folder


def _refusal(app_factory: Callable[..., TestClient], **settings: object) -> str:
    with pytest.raises(ModelIntegrityError) as refused:
        app_factory(**settings)
    return str(refused.value)


def _deployed(registry: Registry) -> dict[str, str]:
    """What the deploy passes: the registry's digests."""
    return {"model_sha256": registry.model_sha256, "model_code_sha256": registry.code_sha256}


# --- MODEL_PATH, as deployed: the export baked into the image and the registry's digests ------


def test_the_export_serves_with_the_registry_s_digests(
    registry: Registry, app_factory: Callable[..., TestClient]
) -> None:
    client = app_factory(model_path=registry.export, **_deployed(registry))
    shown = client.get("/version").json()
    assert shown["integrity"]["model_sha256"] == registry.model_sha256
    assert shown["integrity"]["code_sha256"] == registry.code_sha256
    assert shown["integrity"]["verified_against"]["model"].startswith("MODEL_SHA256")
    assert shown["gate"]["passed"] is True
    assert client.post("/predict", json={"text": "A wonderful film."}).json()["label"] == "positive"


def test_path_a_tampered_pickle_is_refused(
    registry: Registry, export: Path, app_factory: Callable[..., TestClient]
) -> None:
    with tampered(export / "model.pkl", lambda b: b + b"\0") as path:
        actual = integrity.sha256_bytes(path.read_bytes())
        message = _refusal(app_factory, model_path=export, **_deployed(registry))
    assert f"{export / 'model.pkl'} has sha256 {actual}" in message
    assert f"is {registry.model_sha256}: refusing to unpickle it" in message


def test_path_a_pickle_and_card_swapped_together_are_refused(
    registry: Registry, export: Path, app_factory: Callable[..., TestClient]
) -> None:
    (export / "model.pkl").write_bytes(pickle.dumps({"not": "the registered model"}))
    card = json.loads((export / "model_card.json").read_text())
    card["model_sha256"] = integrity.sha256_bytes((export / "model.pkl").read_bytes())
    (export / "model_card.json").write_text(json.dumps(card))

    message = _refusal(app_factory, model_path=export, **_deployed(registry))

    assert f"model_card.json model_sha256 is {card['model_sha256']}" in message
    assert f"MODEL_SHA256 (set by the deployment) is {registry.model_sha256}" in message


def test_path_tampered_code_is_refused(
    registry: Registry, export: Path, app_factory: Callable[..., TestClient]
) -> None:
    with tampered(export / "code" / "ml" / "text.py", lambda b: b + b"\nX = 1\n"):
        message = _refusal(app_factory, model_path=export, **_deployed(registry))
    assert f"{export / 'code' / 'ml'} has code digest" in message
    assert f"is {registry.code_sha256} (changed: text.py)" in message


def test_a_real_service_exits_non_zero_naming_both_digests(
    registry: Registry, export: Path, venv_bin: Path, subprocess_env: dict, tmp_path: Path
) -> None:
    (export / "model.pkl").write_bytes((export / "model.pkl").read_bytes() + b"\0")
    actual = integrity.sha256_bytes((export / "model.pkl").read_bytes())
    env = {
        **subprocess_env,
        "MODEL_PATH": str(export),
        "MODEL_SHA256": registry.model_sha256,
        "DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen(
        [str(venv_bin / "uvicorn"), "--factory", "app.backend.main:create_app",
         "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            stop_process(process)
    assert process.returncode != 0
    refusal = next(line for line in output.splitlines() if "refusing to start" in line)
    assert '"level":"CRITICAL"' in refusal
    assert actual in refusal and registry.model_sha256 in refusal


# --- MODEL_URI: the registry's tags are the card --------------------------------------------------


def _uri_settings(registry: Registry) -> dict[str, str]:
    return {"model_uri": f"models:/{MODEL}@champion", "mlflow_tracking_uri": registry.uri}


def test_uri_a_tampered_pickle_in_the_artifact_store_is_refused(
    registry: Registry, app_factory: Callable[..., TestClient]
) -> None:
    with tampered(registry.stored("model.pkl"), lambda b: b[:-1] + b"\0"):
        message = _refusal(app_factory, **_uri_settings(registry))
    assert "model.pkl has sha256" in message
    assert (
        f"registry tag model_sha256 of {MODEL} version {registry.version} is "
        f"{registry.model_sha256}" in message
    )


def test_uri_tampered_code_in_the_artifact_store_is_refused(
    registry: Registry, app_factory: Callable[..., TestClient]
) -> None:
    with tampered(registry.stored("code/ml/features.py"), lambda b: b + b"\n# changed\n"):
        message = _refusal(app_factory, **_uri_settings(registry))
    assert f"registry tag code_sha256 of {MODEL} version {registry.version}" in message
    assert "(changed: features.py)" in message


def test_uri_a_tampered_tag_is_refused(
    registry: Registry, app_factory: Callable[..., TestClient]
) -> None:
    client = registry.client
    client.set_model_version_tag(MODEL, registry.version, "model_sha256", "f" * 64)
    try:
        message = _refusal(app_factory, **_uri_settings(registry))
    finally:
        client.set_model_version_tag(MODEL, registry.version, "model_sha256", registry.model_sha256)
    tag = f"registry tag model_sha256 of {MODEL} version {registry.version}"
    assert f"{tag} is {'f' * 64}" in message
    assert f"has sha256 {registry.model_sha256}" in message


def test_uri_a_registry_that_disagrees_with_the_deployment_is_refused(
    registry: Registry, app_factory: Callable[..., TestClient]
) -> None:
    message = _refusal(app_factory, **_uri_settings(registry), model_sha256="e" * 64)
    assert f"registry tag model_sha256 of {MODEL} version {registry.version} is " in message
    assert f"MODEL_SHA256 (set by the deployment) is {'e' * 64}" in message


def test_uri_a_damaged_cached_copy_is_downloaded_again(
    registry: Registry, app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = app_factory(data_dir=data_dir, **_uri_settings(registry), **_deployed(registry))
    assert first.get("/ready").status_code == 200
    cached = data_dir / "models" / f"{MODEL}-v{registry.version}" / "model.pkl"
    cached.write_bytes(b"damaged")

    again = app_factory(data_dir=data_dir, **_uri_settings(registry), **_deployed(registry))

    assert again.get("/version").json()["integrity"]["model_sha256"] == registry.model_sha256
    assert integrity.sha256_bytes(cached.read_bytes()) == registry.model_sha256


# --- ml.export and the image build -------------------------------------------------------------


def test_export_refuses_a_tampered_artifact_and_keeps_the_last_export(registry: Registry) -> None:
    out = registry.project / "build" / "model"
    before = (out / "model_card.json").read_text()
    with tampered(registry.stored("model.pkl"), lambda b: b + b"\0"):
        result = run_module(
            "ml.export", "--out", "build/model", cwd=registry.project, env=registry.env
        )
    assert result.returncode == 3, result.stderr
    assert f"registry tag model_sha256 of {MODEL} version {registry.version}" in result.stderr
    assert "refusing to unpickle it" in result.stderr
    assert (out / "model_card.json").read_text() == before


def test_the_image_build_refuses_an_export_the_registry_does_not_vouch_for(
    registry: Registry, export: Path, tmp_path: Path, subprocess_env: dict
) -> None:
    def build(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REPO_ROOT / "scripts" / "build-images.sh")],
            env={**subprocess_env, "DOCKER": "/bin/false", "MODEL_DIR": str(export), **env},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    wrong = build(EXPECTED_MODEL_SHA256="d" * 64, EXPECTED_CODE_SHA256=registry.code_sha256)
    assert wrong.returncode != 0
    assert f"model_card.json says model_sha256 {registry.model_sha256}" in wrong.stderr
    assert f"the registry's is {'d' * 64}" in wrong.stderr

    (export / "code" / "ml" / "text.py").write_text("# not the trained code\n")
    changed = build(
        EXPECTED_MODEL_SHA256=registry.model_sha256, EXPECTED_CODE_SHA256=registry.code_sha256
    )
    assert changed.returncode != 0
    assert f"but model_card.json code_sha256 is {registry.code_sha256}" in changed.stderr
