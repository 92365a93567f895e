"""Train and register a candidate: ``python -m ml.train``.

Fits the pipeline with the settings ml.tune chose (``reports/tune.json``, over params.yaml's
train section) on ``data/train.csv``, scores it once on the fixed hold-out, logs params,
metrics, plots and the model to MLflow, registers a new version of the model with its lineage
and integrity tags, and points the ``candidate`` alias at it.

Integrity: beside the pickle goes ``code/ml``, only the preprocessing modules the pickle refers
to. The pickle's sha256 and the code's digest, read back from what the registry stores, become
the version's tags; every consumer (ml.evaluate, ml.promote, ml.export, the service) verifies
them before it loads anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

import ml
from ml import integrity, lineage, plots, tracking, tune
from ml.contract import (
    CANDIDATE_ALIAS,
    CODE_FILES_TAG,
    CODE_SHA256_TAG,
    MODEL_SHA256_TAG,
    TEST_MD5_TAG,
)
from ml.data import read as dataset
from ml.errors import PipelineError, run_cli
from ml.feedback.lineage import feedback_tags
from ml.files import atomic_write
from ml.metrics import Evaluation, evaluate
from ml.model import build_pipeline
from ml.params import Params, TrainParams, load_params
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
    params: TrainParams
    model_sha256: str
    code_sha256: str


def _pip_requirements() -> list[str]:
    # Explicit, so logging never spawns a subprocess to infer them (slow, and needs the network).
    return [
        f"{name}=={package_version(name)}"
        for name in ("scikit-learn", "numpy", "scipy", "cloudpickle", "pandas")
    ]


def _lineage_tags(settings: MLSettings, manifest: dict[str, Any]) -> dict[str, str]:
    data_dir = settings.data_dir
    return {
        "git_sha": lineage.git_sha(settings.project_dir),
        "git_dirty": str(lineage.git_dirty(settings.project_dir)).lower(),
        "data_md5": lineage.file_digest(data_dir / "train.csv"),
        TEST_MD5_TAG: lineage.file_digest(data_dir / "test.csv"),
        "data_version": str(manifest.get("data_version", "unknown")),
        "data_source": str(manifest.get("source", "unknown")),
        "train_rows": str(manifest.get("train_rows", "unknown")),
    }


def _stored_digests(
    name: str, version: str, code: dict[str, bytes]
) -> tuple[str, integrity.VerifiedModel]:
    """Read the version back from the registry: the pickle's sha256 as stored, and the check
    that the stored code is byte for byte the code staged for it and holds every module the
    pickle refers to."""
    with tempfile.TemporaryDirectory(prefix="rp-stored-") as download_dir:
        folder = Path(download_dir)
        tracking.download_model(name, version, folder)
        stored = integrity.sha256_bytes((folder / "model.pkl").read_bytes())
        verified = integrity.verify_folder(
            folder,
            integrity.Expected(stored, "the pickle just stored"),
            integrity.Expected(integrity.code_digest(code), "the code staged for it"),
            integrity.file_manifest(code),
        )
    integrity.unpickle(verified)  # every ml.* global resolves in the stored code, or this raises
    log.info(
        "stored: pickle sha256 %s, code %s (it loads with that code)", stored, verified.code_sha256
    )
    return stored, verified


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
    tags = {**_lineage_tags(settings, manifest), **feedback_tags(manifest)}
    tuned = tune.read_choice(settings.reports_dir / tune.REPORT, tags["data_md5"])
    train_params = tune.choose(params.train, tuned)
    client = tracking.connect(settings)
    experiment_id = tracking.ensure_experiment(client, settings)

    pipeline = build_pipeline(train_params)
    started = time.perf_counter()
    pipeline.fit(train_frame["review"].to_numpy(dtype=str), train_frame["label"].to_numpy())
    fit_seconds = round(time.perf_counter() - started, 3)
    # The one time this model sees the hold-out: its settings were chosen without it.
    evaluation = evaluate(pipeline, test_frame)
    log.info(
        "%s fitted in %.1f s; hold-out %s",
        tuned["best"]["settings"],
        fit_seconds,
        evaluation.scores.as_dict(),
    )

    signature = infer_signature(INPUT_EXAMPLE, pipeline.predict_proba(INPUT_EXAMPLE))
    run_tags = {**tags, "tune_run_id": str(tuned.get("mlflow_run_id", ""))}
    with (
        tempfile.TemporaryDirectory(prefix="rp-code-") as staging,
        mlflow.start_run(experiment_id=experiment_id, tags=run_tags) as run,
    ):
        code_dir = integrity.stage_code(
            pickle.dumps(pipeline), Path(ml.__file__).parent, Path(staging)
        )
        code = integrity.read_code(code_dir)
        mlflow.log_params(
            {
                **train_params.model_dump(),
                "data_version": tags["data_version"],
                "train_rows": tags["train_rows"],
                "tuned": ",".join(sorted(tuned["best"]["settings"])),
            }
        )
        mlflow.log_metrics(
            {
                **evaluation.scores.as_dict(),
                "fit_seconds": fit_seconds,
                "cv_accuracy": tuned["best"]["cv_mean"],
                "cv_accuracy_std": tuned["best"]["cv_std"],
            }
        )
        mlflow.log_dict(tuned, "tune/tune.json")
        mlflow.log_figure(plots.confusion_figure(evaluation), "plots/confusion_matrix.png")
        mlflow.log_figure(plots.roc_figure(evaluation), "plots/roc.png")
        model_info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format=SERIALIZATION_FORMAT,
            signature=signature,
            input_example=INPUT_EXAMPLE,
            pyfunc_predict_fn="predict_proba",
            # Only the preprocessing modules the pickle refers to (ml.text, ml.features).
            code_paths=[str(code_dir)],
            pip_requirements=_pip_requirements(),
            registered_model_name=settings.model_name,
        )
    version = str(model_info.registered_model_version)
    model_sha256, verified = _stored_digests(settings.model_name, version, code)
    integrity_tags = {
        MODEL_SHA256_TAG: model_sha256,
        CODE_SHA256_TAG: verified.code_sha256,
        CODE_FILES_TAG: json.dumps(verified.code_files, sort_keys=True),
        "cv_accuracy": f"{tuned['best']['cv_mean']:.6f}",
    }
    for key, value in {**run_tags, **integrity_tags}.items():
        client.set_model_version_tag(settings.model_name, version, key, value)
    client.set_registered_model_alias(settings.model_name, CANDIDATE_ALIAS, version)
    return TrainingResult(
        run.info.run_id,
        version,
        fit_seconds,
        evaluation,
        train_params,
        model_sha256,
        verified.code_sha256,
    )


def write_report(path: Path, result: TrainingResult, model_name: str) -> None:
    report = {
        "model_name": model_name,
        "model_version": result.model_version,
        "run_id": result.run_id,
        "fit_seconds": result.fit_seconds,
        "model_sha256": result.model_sha256,
        "code_sha256": result.code_sha256,
        "params": result.params.model_dump(),
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
