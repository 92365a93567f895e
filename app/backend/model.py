"""Loading the exported model once, and the predictor the routes call.

``MODEL_PATH`` points at an ``ml.export`` folder: ``model_card.json`` carries the sha256 of
``model.pkl``, checked before anything is unpickled. ``MODEL_URI`` (``models:/name@alias``) is
resolved through the MLflow server and downloaded into the data dir, then loaded the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import pickle
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.backend.linear import compile_scorer
from ml.contract import CARD_NAME, MODEL_FILE

log = logging.getLogger(__name__)

Label = Literal["positive", "negative"]


class ModelLoadError(RuntimeError):
    """The model cannot be served; the message says why."""


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    probability: float  # of the returned label
    positive_probability: float


class Predictor:
    """A loaded sklearn pipeline whose ``predict_proba`` takes a 1-D array of str."""

    def __init__(self, pipeline: Any, card: dict[str, Any]) -> None:  # noqa: ANN401 - any pipeline
        self.pipeline = pipeline
        self.card = card
        self.name = str(card.get("name", "unknown"))
        self.version = str(card.get("version", "unknown"))
        classes = [int(c) for c in getattr(pipeline, "classes_", [0, 1])]
        if sorted(classes) != [0, 1]:
            raise ModelLoadError(f"the model's classes are {classes}, expected 0/1")
        self._positive_column = classes.index(1)
        self._scorer = compile_scorer(pipeline)

    @property
    def fast_path(self) -> bool:
        """Whether predictions use the compiled linear scorer (same numbers, less overhead)."""
        return self._scorer is not None

    def positive_probabilities(self, texts: list[str]) -> list[float]:
        if self._scorer is not None:
            return [self._scorer.positive_probability(text) for text in texts]
        probabilities = self.pipeline.predict_proba(np.array(texts, dtype=object))
        return [float(row) for row in probabilities[:, self._positive_column].tolist()]

    def predict(self, texts: list[str]) -> list[Prediction]:
        results = []
        for positive in self.positive_probabilities(texts):
            if positive >= 0.5:
                results.append(Prediction("positive", positive, positive))
            else:
                results.append(Prediction("negative", 1.0 - positive, positive))
        return results


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _ensure_ml_importable(folder: Path) -> None:
    """The pickle references ``ml.text``/``ml.features``; use the export's code/ if needed."""
    if importlib.util.find_spec("ml") is not None:
        return
    code = folder / "code"
    if (code / "ml").is_dir():
        sys.path.append(str(code))


def load_folder(folder: Path, *, verify: bool = True) -> Predictor:
    """Load an export folder, refusing a pickle whose checksum differs from the card's."""
    card_path = folder / CARD_NAME
    pickle_path = folder / MODEL_FILE
    if not pickle_path.is_file():
        raise ModelLoadError(f"no {MODEL_FILE} in {folder}")
    card: dict[str, Any] = {}
    if card_path.is_file():
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"unreadable {card_path}: {error}") from None
    elif verify:
        raise ModelLoadError(f"no {CARD_NAME} in {folder}: cannot verify {MODEL_FILE}")
    actual = _sha256(pickle_path)
    if verify:
        expected = card.get("model_sha256")
        if not expected:
            raise ModelLoadError(f"{card_path} has no model_sha256: refusing to unpickle")
        if actual != expected:
            raise ModelLoadError(
                f"checksum mismatch for {pickle_path}: card says {expected}, file is {actual}"
            )
    card.setdefault("model_sha256", actual)
    _ensure_ml_importable(folder)
    try:
        with pickle_path.open("rb") as handle:
            pipeline = pickle.load(handle)  # noqa: S301 - integrity checked above
    except Exception as error:
        raise ModelLoadError(f"cannot unpickle {pickle_path}: {error!r}") from None
    return Predictor(pipeline, card)


def load_uri(uri: str, tracking_uri: str | None, download_dir: Path) -> Predictor:
    """Resolve ``models:/name@alias`` (or ``models:/name/N``) and load it.

    Needs the ``mlflow`` package, which the backend image does not ship: images bake an export.
    """
    try:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise ModelLoadError("MODEL_URI needs the mlflow package; use MODEL_PATH") from None
    if not uri.startswith("models:/"):
        raise ModelLoadError(f"MODEL_URI must look like models:/name@alias, got {uri!r}")
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    spec = uri.removeprefix("models:/")
    try:
        if "@" in spec:
            name, alias = spec.split("@", 1)
            version = client.get_model_version_by_alias(name, alias)
        else:
            name, number = spec.rsplit("/", 1)
            alias = None
            version = client.get_model_version(name, number)
        target = download_dir / f"{name}-v{version.version}"
        if not (target / MODEL_FILE).is_file():
            staging = download_dir / f".{name}-v{version.version}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version.version}", dst_path=str(staging)
            )
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
    except MlflowException as error:
        raise ModelLoadError(f"cannot resolve {uri}: {error.message}") from None
    except OSError as error:
        raise ModelLoadError(f"cannot download {uri}: {error}") from None
    predictor = load_folder(target, verify=(target / CARD_NAME).is_file())
    predictor.card.update(
        {"name": name, "version": str(version.version), "run_id": version.run_id, "uri": uri}
    )
    if alias:
        predictor.card["alias"] = alias
    predictor.name, predictor.version = name, str(version.version)
    return predictor
