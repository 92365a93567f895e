"""Train and register a candidate: ``python -m ml.train``.

Fits the pipeline from params.yaml on ``data/train.csv``, scores it on the fixed hold-out, logs
params, metrics, plots and the model to MLflow, registers a new version of the model with its
lineage tags, and points the ``candidate`` alias at it.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

from ml import lineage, plots, tracking
from ml.contract import CANDIDATE_ALIAS
from ml.data import read as dataset
from ml.errors import PipelineError, run_cli
from ml.feedback.lineage import feedback_tags
from ml.files import atomic_write
from ml.metrics import Evaluation, evaluate
from ml.model import build_pipeline
from ml.params import Params, load_params
from ml.settings import MLSettings

log = logging.getLogger(__name__)

# Pickle, not skops: for this pipeline skops files are an order of magnitude larger and slower
# to load. The export records a sha256 of the pickle so consumers can verify it.
SERIALIZATION_FORMAT = "cloudpickle"
INPUT_EXAMPLE = np.array(["A moving, beautifully acted film.", "Dull and far too long."])


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_version: str
    fit_seconds: float
    evaluation: Evaluation


def _pip_requirements() -> list[str]:
    # Explicit, so logging never spawns a subprocess to infer them (slow, and needs the network).
    return [
        f"{name}=={package_version(name)}"
        for name in ("scikit-learn", "numpy", "scipy", "cloudpickle", "pandas")
    ]


def _package_source(destination: Path) -> Path:
    """A copy of this package's sources (no caches) to log beside the model."""
    package = Path(__file__).parent
    target = destination / package.name
    target.mkdir(parents=True)
    for source in sorted(package.glob("*.py")):
        shutil.copy2(source, target / source.name)
    return target


def _lineage_tags(settings: MLSettings, manifest: dict[str, Any]) -> dict[str, str]:
    data_dir = settings.data_dir
    return {
        "git_sha": lineage.git_sha(settings.project_dir),
        "git_dirty": str(lineage.git_dirty(settings.project_dir)).lower(),
        "data_md5": lineage.file_digest(data_dir / "train.csv"),
        "test_md5": lineage.file_digest(data_dir / "test.csv"),
        "data_version": str(manifest.get("data_version", "unknown")),
        "data_source": str(manifest.get("source", "unknown")),
        "train_rows": str(manifest.get("train_rows", "unknown")),
    }


def train_and_register(settings: MLSettings, params: Params) -> TrainingResult:
    """Fit, score, log and register; returns what was registered."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    train_frame = dataset.read_split(settings.data_dir, "train")
    test_frame = dataset.read_split(settings.data_dir, "test")
    manifest = dataset.read_manifest(settings.data_dir)
    if len(train_frame) != manifest.get("train_rows"):
        raise PipelineError(
            f"{settings.data_dir / 'train.csv'} has {len(train_frame)} rows but the manifest says "
            f"{manifest.get('train_rows')}; prepare the data again"
        )
    client = tracking.connect(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    tags = {**_lineage_tags(settings, manifest), **feedback_tags(manifest)}

    pipeline = build_pipeline(params.train)
    started = time.perf_counter()
    pipeline.fit(train_frame["review"].to_numpy(dtype=str), train_frame["label"].to_numpy())
    fit_seconds = round(time.perf_counter() - started, 3)
    evaluation = evaluate(pipeline, test_frame)
    log.info("fitted in %.1f s; hold-out %s", fit_seconds, evaluation.scores.as_dict())

    signature = infer_signature(INPUT_EXAMPLE, pipeline.predict_proba(INPUT_EXAMPLE))
    with (
        tempfile.TemporaryDirectory(prefix="rp-code-") as staging,
        mlflow.start_run(experiment_id=experiment_id, tags=tags) as run,
    ):
        mlflow.log_params(
            {
                **params.train.model_dump(),
                "data_version": tags["data_version"],
                "train_rows": tags["train_rows"],
            }
        )
        mlflow.log_metrics({**evaluation.scores.as_dict(), "fit_seconds": fit_seconds})
        mlflow.log_figure(plots.confusion_figure(evaluation), "plots/confusion_matrix.png")
        mlflow.log_figure(plots.roc_figure(evaluation), "plots/roc.png")
        model_info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format=SERIALIZATION_FORMAT,
            signature=signature,
            input_example=INPUT_EXAMPLE,
            pyfunc_predict_fn="predict_proba",
            # The pickle refers to ml.text and ml.features; ship them so it loads anywhere.
            code_paths=[str(_package_source(Path(staging)))],
            pip_requirements=_pip_requirements(),
            registered_model_name=settings.model_name,
        )
    version = str(model_info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(settings.model_name, version, key, value)
    client.set_registered_model_alias(settings.model_name, CANDIDATE_ALIAS, version)
    return TrainingResult(run.info.run_id, version, fit_seconds, evaluation)


def write_report(path: Path, result: TrainingResult, model_name: str) -> None:
    report = {
        "model_name": model_name,
        "model_version": result.model_version,
        "run_id": result.run_id,
        "fit_seconds": result.fit_seconds,
        **result.evaluation.scores.as_dict(),
    }
    atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    settings = MLSettings()
    params = load_params(settings.path(settings.params_file))
    result = train_and_register(settings, params)
    write_report(settings.reports_dir / "train.json", result, settings.model_name)
    log.info(
        "registered %s version %s (run %s) as @%s",
        settings.model_name,
        result.model_version,
        result.run_id,
        CANDIDATE_ALIAS,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.train", main, None))
