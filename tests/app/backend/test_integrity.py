"""MODEL_PATH integrity on a small export: the service refuses, naming both digests, every pickle,
card or code that differs from what was recorded, before it unpickles or imports anything; it
loads the pickle against the code it was trained with; /version shows only verified digests.

The same refusals against a real MLflow server (registry tags, MODEL_URI, ml.export, a real
uvicorn process) are in test_integrity_registry.py.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.backend.model import ModelIntegrityError
from ml import integrity
from ml.text import model_text
from tests.app.backend.conftest import write_export


class _OpensAFile:
    """Unpickling this creates the file: proof that a refused pickle was never unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


@pytest.fixture
def export(tmp_path: Path, tiny_model: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    return folder


def _card(folder: Path) -> dict:
    return json.loads((folder / "model_card.json").read_text())


def _write_card(folder: Path, card: dict) -> None:
    (folder / "model_card.json").write_text(json.dumps(card))


def _refusal(app_factory: Callable[..., TestClient], **settings: object) -> str:
    with pytest.raises(ModelIntegrityError) as refused:
        app_factory(**settings)
    return str(refused.value)


def _recode(folder: Path, edit: Callable[[str], str], *, update_card: bool) -> dict[str, str]:
    """Edit code/ml/text.py; with update_card the card records the new code (a consistent swap)."""
    text = folder / "code" / "ml" / "text.py"
    text.write_text(edit(text.read_text()))
    code = integrity.read_code(folder / "code" / "ml")
    if update_card:
        card = _card(folder)
        card["code_sha256"] = integrity.code_digest(code)
        card["code_files"] = integrity.file_manifest(code)
        _write_card(folder, card)
    return integrity.file_manifest(code)


def test_a_substituted_pickle_is_refused_without_being_unpickled(
    app_factory: Callable[..., TestClient], export: Path, tmp_path: Path
) -> None:
    recorded = _card(export)["model_sha256"]
    marker = tmp_path / "unpickled"
    (export / "model.pkl").write_bytes(pickle.dumps(_OpensAFile(marker)))
    actual = integrity.sha256_bytes((export / "model.pkl").read_bytes())

    message = _refusal(app_factory, model_path=export)

    assert f"{export / 'model.pkl'} has sha256 {actual}" in message
    assert f"model_card.json model_sha256 is {recorded}" in message
    assert "refusing to unpickle" in message
    assert not marker.exists()


def test_a_pickle_swapped_with_its_card_is_refused_when_the_deployment_names_the_hash(
    app_factory: Callable[..., TestClient], export: Path, tmp_path: Path
) -> None:
    registry_value = _card(export)["model_sha256"]
    marker = tmp_path / "unpickled"
    (export / "model.pkl").write_bytes(pickle.dumps(_OpensAFile(marker)))
    card = _card(export)
    card["model_sha256"] = integrity.sha256_bytes((export / "model.pkl").read_bytes())
    _write_card(export, card)

    message = _refusal(app_factory, model_path=export, model_sha256=registry_value)

    assert f"model_card.json model_sha256 is {card['model_sha256']}" in message
    assert f"MODEL_SHA256 (set by the deployment) is {registry_value}" in message
    assert not marker.exists()


def test_a_changed_preprocessing_file_is_refused_naming_it(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    recorded = _card(export)["code_sha256"]
    manifest = _recode(export, lambda s: s.replace('"not_"', '"no_"'), update_card=False)

    message = _refusal(app_factory, model_path=export)

    actual = integrity.code_digest(integrity.read_code(export / "code" / "ml"))
    assert f"{export / 'code' / 'ml'} has code digest {actual}" in message
    assert f"model_card.json code_sha256 is {recorded}" in message
    assert "(changed: text.py)" in message
    assert manifest["text.py"] != _card(export)["code_files"]["text.py"]


def test_code_swapped_with_its_card_is_refused_when_the_deployment_names_the_digest(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    registry_value = _card(export)["code_sha256"]
    _recode(export, lambda s: s.replace('"not_"', '"no_"'), update_card=True)

    message = _refusal(app_factory, model_path=export, model_code_sha256=registry_value)

    assert f"MODEL_CODE_SHA256 (set by the deployment) is {registry_value}" in message
    assert f"model_card.json code_sha256 is {_card(export)['code_sha256']}" in message


def test_an_added_code_file_is_refused(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    (export / "code" / "ml" / "sitecustomize.py").write_text("raise SystemExit('ran')\n")
    message = _refusal(app_factory, model_path=export)
    assert "(added: sitecustomize.py)" in message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda f: (f / "model_card.json").unlink(), "no model_card.json in"),
        (lambda f: (f / "model_card.json").write_text("{not json"), "unreadable"),
        (lambda f: _write_card(f, {**_card(f), "model_sha256": ""}), "has no model_sha256"),
        (lambda f: _write_card(f, {**_card(f), "code_sha256": None}), "has no code_sha256"),
        (lambda f: shutil.rmtree(f / "code"), "no preprocessing code at"),
    ],
    ids=["no-card", "bad-card", "no-model-digest", "no-code-digest", "no-code"],
)
def test_what_cannot_be_verified_is_refused(
    app_factory: Callable[..., TestClient],
    export: Path,
    damage: Callable[[Path], None],
    expected: str,
) -> None:
    damage(export)
    assert expected in _refusal(app_factory, model_path=export)


def test_the_model_runs_on_the_code_it_was_trained_with_not_the_service_s(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    # The recorded code reads "wonderful" as "awful"; the service's own ml/text.py does not.
    _recode(
        export,
        lambda s: s.replace(
            '    return " ".join(words)\n\n\ndef plain',
            '    return " ".join(words).replace("wonderful", "awful")\n\n\ndef plain',
        ),
        update_card=True,
    )
    client = app_factory(model_path=export)

    answer = client.post("/predict", json={"text": "wonderful"}).json()

    assert answer["label"] == "negative"
    preprocessor = client.app.state.runtime.predictor.pipeline.steps[0][1].preprocessor
    assert preprocessor.__module__.startswith("_rp_model_code_")
    assert preprocessor("wonderful") == "awful"
    assert model_text("wonderful") == "wonderful"  # the service's own ml is untouched


def test_version_shows_the_verified_digests_and_the_scorer(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    card = _card(export)
    client = app_factory(
        model_path=export,
        model_sha256=card["model_sha256"],
        model_code_sha256=card["code_sha256"],
    )
    shown = client.get("/version").json()

    assert shown["model_sha256"] == card["model_sha256"]
    assert shown["code_sha256"] == card["code_sha256"]
    verified = shown["integrity"]
    assert verified["model_sha256"] == card["model_sha256"]
    assert verified["verified_against"]["model"] == (
        "MODEL_SHA256 (set by the deployment) (= model_card.json model_sha256)"
    )
    assert verified["verified_against"]["code"].startswith("MODEL_CODE_SHA256")
    assert shown["scorer"]["fast_path"] is True
    assert "matches predict_proba" in shown["scorer"]["reason"]
    assert "rp_model_fast_path 1.0" in client.get("/metrics").text


def test_a_card_edited_beyond_its_digests_does_not_change_the_digests_shown(
    app_factory: Callable[..., TestClient], export: Path
) -> None:
    card = _card(export)
    recorded = integrity.file_manifest(integrity.read_code(export / "code" / "ml"))
    _write_card(export, {**card, "code_files": {"text.py": "0" * 64}})

    shown = app_factory(model_path=export).get("/version").json()

    assert shown["code_files"] == recorded
    assert shown["integrity"]["verified_against"]["model"] == "model_card.json model_sha256"


def test_a_fallback_to_predict_proba_is_visible(
    app_factory: Callable[..., TestClient], tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "binary", binary=True)
    client = app_factory(model_path=folder)

    scorer = client.get("/version").json()["scorer"]

    assert scorer["fast_path"] is False
    assert "binary=True" in scorer["reason"]
    assert "rp_model_fast_path 0.0" in client.get("/metrics").text
    assert client.post("/predict", json={"text": "a wonderful film"}).json()["label"] == "positive"
