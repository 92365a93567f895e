"""The MLflow tracking server and model registry, with errors an operator can act on."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import integrity
from ml.contract import CODE_FILES_TAG, CODE_SHA256_TAG, MODEL_SHA256_TAG
from ml.errors import PipelineError
from ml.settings import MLSettings

log = logging.getLogger(__name__)

# MLflow's client retries a dead server for minutes by default; a pipeline should fail fast.
_FAST_FAIL_ENVIRONMENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    # Progress bars would flood CI logs.
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def ensure_reachable(uri: str, timeout_seconds: float) -> None:
    """Fail in seconds, naming the URL, when an HTTP tracking server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout_seconds) as response:  # noqa: S310 - http(s) only, checked above
            if response.status != 200:
                raise PipelineError(f"MLflow tracking server {uri} answered {response.status}")
    except urllib.error.HTTPError as error:
        raise PipelineError(
            f"MLflow tracking server {uri} answered {error.code} on /health"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PipelineError(
            f"MLflow tracking server {uri} cannot be reached ({reason}); "
            "start it or set MLFLOW_TRACKING_URI"
        ) from None


def connect(settings: MLSettings) -> MlflowClient:
    """Point MLflow at the configured store and return a client for it."""
    import mlflow

    for name, value in _FAST_FAIL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    uri = settings.resolved_tracking_uri
    ensure_reachable(uri, settings.tracking_timeout_seconds)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, settings: MLSettings) -> str:
    """The experiment's id, creating it (with a project-local artifact root when serverless)."""
    existing = client.get_experiment_by_name(settings.experiment_name)
    if existing is not None:
        return existing.experiment_id
    artifact_location = None if settings.tracking_uri else settings.local_artifact_root
    return client.create_experiment(settings.experiment_name, artifact_location=artifact_location)


def find_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version behind an alias, or None when the model or the alias does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
            return None
        raise PipelineError(f"model registry error for {name}@{alias}: {error.message}") from None


def resolve_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion:
    """The version behind an alias; a missing one is an error that lists the aliases there are."""
    version = find_alias(client, name, alias)
    if version is not None:
        return version
    try:
        known = sorted(client.get_registered_model(name).aliases)
    except MlflowException:
        raise PipelineError(
            f"registered model '{name}' does not exist; train one with python -m ml.train"
        ) from None
    listing = ", ".join(known) if known else "none"
    raise PipelineError(f"model '{name}' has no alias '{alias}' (aliases: {listing})")


def get_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return client.get_model_version(name, version)
    except MlflowException as error:
        raise PipelineError(f"cannot read {name} version {version}: {error.message}") from None


def recorded_digests(
    version: ModelVersion,
) -> tuple[integrity.Expected, integrity.Expected, dict[str, str] | None]:
    """The pickle's and the code's digests that ml.train recorded as the version's tags."""
    tags = version.tags or {}
    where = f"registry tag {{}} of {version.name} version {version.version}"
    missing = [tag for tag in (MODEL_SHA256_TAG, CODE_SHA256_TAG) if not tags.get(tag)]
    if missing:
        raise integrity.IntegrityError(
            f"{version.name} version {version.version} has no {' or '.join(missing)} tag, so "
            "its files cannot be verified: it was registered before ml.train recorded them, or "
            "the tags were removed; train it again"
        )
    try:
        code_files = json.loads(tags[CODE_FILES_TAG]) if tags.get(CODE_FILES_TAG) else None
    except json.JSONDecodeError:
        code_files = None
    return (
        integrity.Expected(tags[MODEL_SHA256_TAG], where.format(MODEL_SHA256_TAG)),
        integrity.Expected(tags[CODE_SHA256_TAG], where.format(CODE_SHA256_TAG)),
        code_files if isinstance(code_files, dict) else None,
    )


def download_model(name: str, version: str, destination: Path) -> None:
    """The files of a registered version (pickle, code/, MLmodel, ...) into ``destination``."""
    import mlflow.artifacts

    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(destination)
        )
    except MlflowException as error:
        raise PipelineError(f"cannot download {name} version {version}: {error.message}") from None


def download_verified(version: ModelVersion, destination: Path) -> integrity.VerifiedModel:
    """Download a version and verify its pickle and code against its registry tags."""
    model, code, code_files = recorded_digests(version)
    download_model(version.name, str(version.version), destination)
    return integrity.verify_folder(destination, model, code, code_files)


def load_verified(version: ModelVersion) -> Any:  # noqa: ANN401 - a fitted sklearn Pipeline
    """A registered version's pipeline, verified, loaded against the code it was trained with."""
    # The pickle is in memory once loaded; the download is only needed until then.
    with tempfile.TemporaryDirectory(prefix="rp-model-") as download_dir:
        return integrity.unpickle(download_verified(version, Path(download_dir)))


def load_unverified(name: str, version: str) -> Any:  # noqa: ANN401 - a fitted sklearn Pipeline
    """MLflow's own load, for a version registered before integrity tags existed."""
    import mlflow.sklearn

    uri = f"models:/{name}/{version}"
    # MLflow leaves its download behind unless given a folder; the pickle is in memory after load.
    with tempfile.TemporaryDirectory(prefix="rp-model-") as download_dir:
        try:
            return mlflow.sklearn.load_model(uri, dst_path=download_dir)
        except MlflowException as error:
            raise PipelineError(f"cannot load {uri}: {error.message}") from None
