"""ml.tune: k-fold cross-validation on the training pool alone, with exactly the pipeline's
features, choosing the best mean accuracy; ml.train then uses what it chose."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.errors import PipelineError
from ml.model import build_vectorizer
from ml.params import TrainParams, TuneParams, load_params
from ml.tune import _counts, choose, cross_validate, expand_grid, fold_features, read_choice
from tests.ml.conftest import TEST_PARAMS, run_module, write_params

TRAIN = TrainParams.model_validate(TEST_PARAMS["train"])
TUNE = TuneParams.model_validate(TEST_PARAMS["tune"])


@pytest.mark.parametrize(
    "settings",
    [{}, {"negation": False}, {"ngram_max": 1, "min_df": 1}, {"min_df": 3, "max_df": 0.5}],
    ids=["default", "no-negation", "unigrams", "pruned"],
)
def test_fold_features_are_what_the_pipeline_s_vectorizer_fits(fitted, settings: dict) -> None:
    _, prepared = fitted
    texts = prepared.train["review"].to_numpy(dtype=str)[:600]
    params = TRAIN.model_copy(update=settings)
    rows = np.arange(len(texts))
    fit_rows, other_rows = rows[rows % 3 != 0], rows[rows % 3 == 0]

    features, held = fold_features(_counts(texts, params), fit_rows, other_rows, params)

    vectorizer = build_vectorizer(params).fit(texts[fit_rows])
    expected_fit = vectorizer.transform(texts[fit_rows])
    expected_held = vectorizer.transform(texts[other_rows])
    assert features.shape == expected_fit.shape and held.shape == expected_held.shape
    assert abs(features - expected_fit).max() < 1e-6
    assert abs(held - expected_held).max() < 1e-6


def test_the_grid_expands_in_a_fixed_order_over_the_train_settings() -> None:
    candidates = expand_grid(TRAIN, {"nb_alpha": [0.5, 1.0], "C": [1.0, 10.0]})
    assert [c.settings for c in candidates] == [
        {"C": 1.0, "nb_alpha": 0.5},
        {"C": 1.0, "nb_alpha": 1.0},
        {"C": 10.0, "nb_alpha": 0.5},
        {"C": 10.0, "nb_alpha": 1.0},
    ]
    assert candidates[3].params == TRAIN.model_copy(update={"C": 10.0, "nb_alpha": 1.0})


def test_cross_validation_scores_every_candidate_on_every_fold(fitted) -> None:
    _, prepared = fitted
    frame = prepared.train.iloc[:900]
    result = cross_validate(
        frame["review"].to_numpy(dtype=str),
        frame["label"].to_numpy(),
        TRAIN,
        TUNE,
        {"C": [0.01, 100.0], "negation": [True, False]},
    )
    assert len(result.candidates) == 4
    assert all(len(c.fold_scores) == TUNE.folds for c in result.candidates)
    assert result.best.mean == max(c.mean for c in result.candidates)
    # A hundredfold weaker regularisation than 0.01 must show in the scores.
    weak = [c for c in result.candidates if c.settings["C"] == 0.01]
    assert max(c.mean for c in weak) < result.best.mean


def test_too_few_reviews_of_a_label_for_the_folds_is_a_clear_error() -> None:
    with pytest.raises(PipelineError, match="3-fold cross-validation needs at least 3 reviews"):
        cross_validate(["good", "bad", "fine", "great"], np.array([1, 1, 1, 0]), TRAIN, TUNE)


def test_a_grid_setting_that_is_not_a_train_setting_is_refused(tmp_path: Path) -> None:
    write_params(tmp_path, tune={"grid": {"learning_rate": [0.1]}})
    with pytest.raises(PipelineError, match=r"tune\.grid has unknown settings \['learning_rate'\]"):
        load_params(tmp_path / "params.yaml")
    write_params(tmp_path, tune={"grid": {"ngram_max": [2, 7]}})
    with pytest.raises(PipelineError, match=r"tune\.grid\.ngram_max value 7"):
        load_params(tmp_path / "params.yaml")


def test_train_refuses_a_choice_made_on_other_data(tmp_path: Path) -> None:
    report = tmp_path / "tune.json"
    report.write_text(json.dumps({"data_md5": "a" * 32, "best": {"settings": {"C": 1.0}}}))
    with pytest.raises(PipelineError, match=r"was tuned on training data with md5 a{32}"):
        read_choice(report, "b" * 32)
    chosen = read_choice(report, "a" * 32)
    assert choose(TRAIN, chosen) == TRAIN.model_copy(update={"C": 1.0})


@pytest.mark.integration
def test_the_stage_never_reads_the_hold_out(project: Path, subprocess_env: dict) -> None:
    """With data/test.csv gone, ml.tune still runs: it cannot have looked at it."""
    result = run_module("ml.data", "--version", "1", cwd=project, env=subprocess_env)
    assert result.returncode == 0, result.stderr
    (project / "data" / "test.csv").unlink()

    result = run_module("ml.tune", cwd=project, env=subprocess_env)

    assert result.returncode == 0, result.stderr
    report = json.loads((project / "reports" / "tune.json").read_text())
    assert [c["settings"] for c in report["candidates"]] == [{"C": 30.0}, {"C": 100.0}]
    assert report["best"]["settings"] in ({"C": 30.0}, {"C": 100.0})
    assert report["mlflow_run_id"]
    assert "chosen {'C'" in result.stderr
