"""The compiled scorer gives the pipeline's own probabilities, or is not used at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from app.backend.linear import compile_scorer
from app.backend.model import load_folder

REVIEWS = [
    "An absolute delight from start to finish.",
    "Not good at all, I did not enjoy a minute of it.",
    "<b>Terrible</b> acting.<br /><br />A waste of time!",
    "It's fine. Nothing special, nothing awful.",
    "",
]


def test_tiny_model_scores_match_predict_proba(tiny_model: Path) -> None:
    predictor = load_folder(tiny_model)
    assert predictor.fast_path
    expected = predictor.pipeline.predict_proba(np.array(REVIEWS, dtype=object))[:, 1]
    np.testing.assert_allclose(predictor.positive_probabilities(REVIEWS), expected, atol=1e-6)


def test_other_pipelines_fall_back_to_predict_proba(tiny_model: Path) -> None:
    predictor = load_folder(tiny_model)
    two_steps = Pipeline([predictor.pipeline.steps[0], predictor.pipeline.steps[2]])
    assert compile_scorer(two_steps) is None


def test_a_disagreeing_scorer_is_refused(tiny_model: Path) -> None:
    pipeline = load_folder(tiny_model).pipeline
    original = pipeline.predict_proba
    # A pipeline whose predict_proba no longer matches its own weights: the compiled scorer
    # would serve different numbers, so it must not be used.
    pipeline.predict_proba = lambda texts: 1 - original(texts)  # type: ignore[method-assign]
    assert compile_scorer(pipeline) is None


@pytest.mark.integration
def test_exported_model_agrees_on_the_hold_out(exported_model: Path, repo_root: Path) -> None:
    predictor = load_folder(exported_model)
    assert predictor.fast_path
    test_csv = exported_model.parent.parent / "data" / "test.csv"
    reviews = pd.read_csv(test_csv)["review"].astype(str).tolist()[:1000]
    fast = np.array(predictor.positive_probabilities(reviews))
    slow = predictor.pipeline.predict_proba(np.array(reviews, dtype=object))[:, 1]
    assert np.abs(fast - slow).max() < 1e-6
    assert ((fast >= 0.5) == (slow >= 0.5)).all()
