"""Loading the model once, verified, and the predictor the routes call.

Nothing is unpickled, and none of the model's code runs, before both digests check out:

- ``MODEL_PATH`` (an ``ml.export`` folder, baked into the image): ``model.pkl`` must match the
  card's ``model_sha256`` and ``code/ml`` its ``code_sha256``; when the deployment sets
  ``MODEL_SHA256`` / ``MODEL_CODE_SHA256`` (the registry's values, passed by the deploy), the
  card must say the same, so a pickle swapped together with its card is refused too.
- ``MODEL_URI`` (``models:/name@alias`` or ``models:/name/N``): resolved through the MLflow
  server and downloaded into the data dir; both files must match the version's registry tags
  (and ``MODEL_SHA256`` / ``MODEL_CODE_SHA256`` when set).

The pickle is then loaded against the preprocessing code it was trained with (``code/ml``, under
a private module name; ml/integrity.py), not against the ``ml`` this image ships. A mismatch is a
``ModelIntegrityError``: the service refuses to start, naming the file, both digests and where
the expected one came from. Other failures (nothing configured, registry unreachable, unknown
alias) leave the service up but not ready.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.backend import lean_imports
from app.backend.linear import Explanation, ScorerChoice, compile_scorer
from ml import integrity
from ml.contract import (
    CARD_NAME,
    CODE_FILES_TAG,
    CODE_SHA256_TAG,
    MODEL_FILE,
    MODEL_SHA256_TAG,
    TEST_MD5_TAG,
)

log = logging.getLogger(__name__)

Label = Literal["positive", "negative"]
# Lineage tags copied from the registry into the card of a MODEL_URI model.
LINEAGE_TAGS = ("git_sha", "git_dirty", "data_md5", "data_version", "train_rows", TEST_MD5_TAG)


class ModelLoadError(RuntimeError):
    """The model cannot be served; the message says why. The service stays up, not ready."""


class ExplanationUnavailableError(RuntimeError):
    """The served model has no compiled scorer, so no exact per-term explanation."""


class ModelIntegrityError(ModelLoadError):
    """The model's files differ from what was recorded (or cannot be checked): refuse to start."""


@dataclass(frozen=True)
class Deployed:
    """The digests the deployment expects (MODEL_SHA256, MODEL_CODE_SHA256), when it sets them."""

    model_sha256: str | None = None
    code_sha256: str | None = None

    def model(self) -> integrity.Expected | None:
        if not self.model_sha256:
            return None
        return integrity.Expected(self.model_sha256, "MODEL_SHA256 (set by the deployment)")

    def code(self) -> integrity.Expected | None:
        if not self.code_sha256:
            return None
        return integrity.Expected(self.code_sha256, "MODEL_CODE_SHA256 (set by the deployment)")


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    probability: float  # of the returned label
    positive_probability: float


@dataclass
class Predictor:
    """A verified, loaded sklearn pipeline whose ``predict_proba`` takes a 1-D array of str."""

    pipeline: Any
    card: dict[str, Any]
    verified: integrity.VerifiedModel
    scorer: ScorerChoice = field(init=False)
    load_seconds: dict[str, float] = field(default_factory=dict)
    verified_at: str = field(
        default_factory=lambda: datetime.now(tz=UTC).isoformat(timespec="seconds")
    )

    def __post_init__(self) -> None:
        self.name = str(self.card.get("name", "unknown"))
        self.version = str(self.card.get("version", "unknown"))
        classes = [int(c) for c in getattr(self.pipeline, "classes_", [0, 1])]
        if sorted(classes) != [0, 1]:
            raise ModelLoadError(f"the model's classes are {classes}, expected 0/1")
        self._positive_column = classes.index(1)
        started = time.perf_counter()
        self.scorer = compile_scorer(self.pipeline)
        self.load_seconds["scorer"] = time.perf_counter() - started
        if not self.scorer.fast_path:
            log.warning("fast scorer off, serving predict_proba: %s", self.scorer.reason)

    @property
    def fast_path(self) -> bool:
        """Whether predictions use the compiled linear scorer (same numbers, less overhead)."""
        return self.scorer.fast_path

    def describe(self) -> dict[str, Any]:
        """The card for ``/version``: its digests are the verified ones, and say against what."""
        return {
            **self.card,
            MODEL_SHA256_TAG: self.verified.model_sha256,
            CODE_SHA256_TAG: self.verified.code_sha256,
            CODE_FILES_TAG: self.verified.code_files,
            "integrity": {
                MODEL_SHA256_TAG: self.verified.model_sha256,
                CODE_SHA256_TAG: self.verified.code_sha256,
                "verified_against": {
                    "model": self.verified.model_source,
                    "code": self.verified.code_source,
                },
                "verified_at": self.verified_at,
            },
            "scorer": self.scorer.as_dict(),
        }

    def positive_probabilities(self, texts: list[str]) -> list[float]:
        scorer = self.scorer.scorer
        if scorer is not None:
            return [scorer.positive_probability(text) for text in texts]
        probabilities = self.pipeline.predict_proba(np.array(texts, dtype=object))
        return [float(row) for row in probabilities[:, self._positive_column].tolist()]

    @property
    def cannot_explain(self) -> str | None:
        """Why this model gives no explanations, or None when it does."""
        if self.scorer.fast_path:
            return None
        return (
            "explanations need the compiled linear scorer, which is off for model "
            f"{self.name} version {self.version} ({self.scorer.reason}); "
            "send the request without explain"
        )

    def explain(self, texts: list[str]) -> list[Explanation]:
        """Each text's logit split into per-n-gram contributions (the compiled scorer's own)."""
        scorer = self.scorer.scorer
        if scorer is None:
            raise ExplanationUnavailableError(self.cannot_explain)
        return [scorer.explain(text) for text in texts]

    def predict(self, texts: list[str]) -> list[Prediction]:
        results = []
        for positive in self.positive_probabilities(texts):
            if positive >= 0.5:
                results.append(Prediction("positive", positive, positive))
            else:
                results.append(Prediction("negative", 1.0 - positive, positive))
        return results


def _refused(error: integrity.IntegrityError) -> ModelIntegrityError:
    return ModelIntegrityError(str(error))


def verify_and_load(
    folder: Path,
    model: integrity.Expected,
    code: integrity.Expected,
    card: dict[str, Any],
    code_files: dict[str, str] | None = None,
) -> Predictor:
    """The service's load path: verify (read + hash), unpickle against the trained code, compile
    the scorer. Each step is timed in ``Predictor.load_seconds`` (bench/train.py reports them)."""
    started = time.perf_counter()
    try:
        verified = integrity.verify_folder(folder, model, code, code_files)
    except integrity.IntegrityError as error:
        raise _refused(error) from None
    verified_at = time.perf_counter()
    try:
        with lean_imports.hidden():
            pipeline = integrity.unpickle(verified)
    except integrity.IntegrityError as error:
        raise _refused(error) from None
    except Exception as error:
        raise ModelLoadError(f"cannot unpickle {folder / MODEL_FILE}: {error!r}") from None
    unpickled_at = time.perf_counter()
    # The pickle's bytes (14 MB for data v2) were hashed and loaded; the digests stay, the bytes
    # are not needed again and would otherwise stay resident for the life of the process.
    verified = dataclasses.replace(verified, pickle_bytes=b"")
    predictor = Predictor(pipeline, card, verified)
    predictor.load_seconds.update(
        {"verify": verified_at - started, "unpickle": unpickled_at - verified_at}
    )
    return predictor


def read_card(folder: Path) -> dict[str, Any]:
    card_path = folder / CARD_NAME
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"no {CARD_NAME} in {folder}: cannot verify {MODEL_FILE}; refusing to unpickle it"
        ) from None
    except (OSError, ValueError) as error:
        raise ModelIntegrityError(f"unreadable {card_path}: {error}") from None
    if not isinstance(card, dict):
        raise ModelIntegrityError(f"{card_path} is not a JSON object")
    return card


def _card_digest(card: dict[str, Any], key: str, card_path: Path) -> integrity.Expected:
    value = card.get(key)
    if not isinstance(value, str) or not value:
        raise ModelIntegrityError(f"{card_path} has no {key}: refusing to load the model")
    return integrity.Expected(value, f"{card_path.name} {key}")


def load_folder(folder: Path, deployed: Deployed | None = None) -> Predictor:
    """Load an export folder, verified against its card and the deployment's digests."""
    deployed = deployed or Deployed()
    if not (folder / MODEL_FILE).is_file():
        raise ModelLoadError(f"no {MODEL_FILE} in {folder}")
    card = read_card(folder)
    card_path = folder / CARD_NAME
    try:
        model = integrity.check_agrees(
            f"{folder / MODEL_FILE}",
            _card_digest(card, MODEL_SHA256_TAG, card_path),
            deployed.model(),
        )
        code = integrity.check_agrees(
            f"{folder / 'code/ml'}", _card_digest(card, CODE_SHA256_TAG, card_path), deployed.code()
        )
    except integrity.IntegrityError as error:
        raise _refused(error) from None
    code_files = card.get(CODE_FILES_TAG)
    return verify_and_load(
        folder, model, code, card, code_files if isinstance(code_files, dict) else None
    )


def load_uri(
    uri: str, tracking_uri: str | None, download_dir: Path, deployed: Deployed | None = None
) -> Predictor:
    """Resolve ``models:/name@alias`` (or ``models:/name/N``), download, verify against the
    version's registry tags, and load.

    Needs the ``mlflow`` package, which the backend image does not ship: images bake an export.
    """
    deployed = deployed or Deployed()
    try:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        from ml import tracking
    except ImportError:
        raise ModelLoadError("MODEL_URI needs the mlflow package; use MODEL_PATH") from None
    if not uri.startswith("models:/"):
        raise ModelLoadError(f"MODEL_URI must look like models:/name@alias, got {uri!r}")
    if tracking_uri:
        # Both: the registry would otherwise stay wherever the process pointed it before.
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    spec = uri.removeprefix("models:/")
    alias: str | None = None
    try:
        if "@" in spec:
            name, alias = spec.split("@", 1)
            version = client.get_model_version_by_alias(name, alias)
        else:
            name, number = spec.rsplit("/", 1)
            version = client.get_model_version(name, number)
    except MlflowException as error:
        raise ModelLoadError(f"cannot resolve {uri}: {error.message}") from None
    except ValueError:
        raise ModelLoadError(f"MODEL_URI must look like models:/name@alias, got {uri!r}") from None
    try:
        recorded_model, recorded_code, code_files = tracking.recorded_digests(version)
        model = integrity.check_agrees(
            f"{name} version {version.version}", recorded_model, deployed.model()
        )
        code = integrity.check_agrees(
            f"{name} version {version.version} code", recorded_code, deployed.code()
        )
    except integrity.IntegrityError as error:
        raise _refused(error) from None
    card: dict[str, Any] = {
        "name": name,
        "version": str(version.version),
        "run_id": version.run_id,
        "uri": uri,
        **({"alias": alias} if alias else {}),
        **{tag: version.tags[tag] for tag in LINEAGE_TAGS if tag in version.tags},
    }
    target = download_dir / f"{name}-v{version.version}"
    if (target / MODEL_FILE).is_file():
        try:
            return verify_and_load(target, model, code, card, code_files)
        except ModelIntegrityError as error:
            # The registry is the reference: a damaged cached copy is replaced, then checked.
            log.warning("cached copy of %s fails verification (%s); downloading again", uri, error)
    _download(mlflow, MlflowException, name, str(version.version), download_dir, target, uri)
    return verify_and_load(target, model, code, card, code_files)


def _download(
    mlflow: Any,  # noqa: ANN401 - the mlflow module, imported by the caller
    mlflow_exception: type[Exception],
    name: str,
    version: str,
    download_dir: Path,
    target: Path,
    uri: str,
) -> None:
    staging = download_dir / f".{name}-v{version}.partial"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(staging)
        )
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    except mlflow_exception as error:
        raise ModelLoadError(f"cannot download {uri}: {getattr(error, 'message', error)}") from None
    except OSError as error:
        raise ModelLoadError(f"cannot download {uri}: {error}") from None
