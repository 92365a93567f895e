"""The MLflow tracking server and model registry, with errors an operator can act on."""

from __future__ import annotations

import logging
import os
import tempfile
import urllib.error
import urllib.request
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

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


def load_sklearn(name: str, version: str) -> Any:  # noqa: ANN401 - a fitted sklearn Pipeline
    """Load a registered version's scikit-learn pipeline."""
    import mlflow.sklearn

    uri = f"models:/{name}/{version}"
    # MLflow leaves its download behind unless given a folder; the pickle is in memory after load.
    with tempfile.TemporaryDirectory(prefix="rp-model-") as download_dir:
        try:
            return mlflow.sklearn.load_model(uri, dst_path=download_dir)
        except MlflowException as error:
            raise PipelineError(f"cannot load {uri}: {error.message}") from None
