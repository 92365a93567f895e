"""Fixtures for the ML suites: small parameter sets, prepared projects and a real MLflow server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sklearn.pipeline import Pipeline

from ml.data.prepare import PreparedData, RawData, prepare, read_embedded
from ml.model import build_pipeline
from ml.params import DataParams, TrainParams

# Big enough for a model that passes the behavioural checks, small enough to train in seconds.
GOOD_VERSION = 1
GOOD_ROWS = 3000
# Far too little data: the gate must refuse what this trains.
WEAK_VERSION = 9
WEAK_ROWS = 40
# The whole pool plus the exported feedback (ml.feedback).
FEEDBACK_VERSION = 3

TEST_PARAMS = {
    "data": {
        "raw_csv": "data/raw/IMDB Dataset.csv",
        "version": GOOD_VERSION,
        "versions": {
            GOOD_VERSION: GOOD_ROWS,
            2: None,
            FEEDBACK_VERSION: None,
            WEAK_VERSION: WEAK_ROWS,
        },
        "test_fraction": 0.2,
        "seed": 42,
    },
    "train": {
        "ngram_max": 2,
        "min_df": 2,
        "max_df": 0.9,
        "negation": True,
        "nb_alpha": 0.5,
        "C": 100.0,
        "max_iter": 1000,
    },
    # Two candidates, three folds: the stage runs for real in a few seconds on 3,000 reviews.
    "tune": {"folds": 3, "seed": 42, "jobs": 0, "grid": {"C": [30.0, 100.0]}},
    "gate": {
        "min_accuracy": 0.85,
        "min_f1": 0.85,
        "min_roc_auc": 0.9,
        "min_class_recall": 0.8,
        "paired": {
            "alpha": 0.05,
            "max_regression": 0.005,
            "bootstrap_resamples": 5000,
            "seed": 7,
        },
        # A 3,000-review model's rates, with a margin (docs/benchmarks.md has the v2 model's).
        "behaviour": {
            "obvious": 1.0,
            "negation_of_positive": 0.6,
            "negation_of_negative": 0.85,
            "intensifier": 0.8,
            "invariance_names": 0.9,
            "invariance_places": 0.85,
            "invariance_numbers": 0.85,
            "typos": 0.85,
        },
    },
    "feedback": {"data_version": FEEDBACK_VERSION, "min_rows": 20, "conflict_rule": "majority"},
    "monitor": {
        "window_hours": 24,
        "min_window_rows": 200,
        "oov_sample": 20000,
        "psi_bins": 10,
        "psi_threshold": 0.2,
        "ks_pvalue": 0.01,
        "max_positive_share_shift": 0.15,
        "min_feedback_rows": 30,
        "max_accuracy_drop": 0.05,
    },
}


def write_params(project: Path, **overrides: dict) -> Path:
    """params.yaml from TEST_PARAMS, each section updated (one level deep) by ``overrides``."""
    params = {
        section: {**values, **overrides.get(section, {})} for section, values in TEST_PARAMS.items()
    }
    path = project / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_raw() -> RawData:
    return read_embedded()


@pytest.fixture(scope="session")
def fitted(embedded_raw: RawData) -> tuple[Pipeline, PreparedData]:
    """The pipeline with the test settings, fitted on data version GOOD_VERSION (3,000 reviews)."""
    prepared = prepare(embedded_raw, DataParams.model_validate(TEST_PARAMS["data"]), GOOD_VERSION)
    pipeline = build_pipeline(TrainParams.model_validate(TEST_PARAMS["train"]))
    pipeline.fit(prepared.train["review"].to_numpy(dtype=str), prepared.train["label"].to_numpy())
    return pipeline, prepared


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with the test parameters."""
    write_params(tmp_path)
    return tmp_path


def run_module(
    module: str,
    *args: str,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module`` the way an operator would, capturing its output."""
    return subprocess.run(
        [shutil.which("python", path=env["PATH"]) or "python", "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
