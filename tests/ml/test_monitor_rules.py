"""The monitor's thresholds and signals on small inputs (no database, no Evidently)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from ml.monitor.drift import DriftResult
from ml.monitor.reference import signals_frame
from ml.monitor.signals import VocabularyProbe, confidence
from ml.monitor.verdict import distribution_checks, feedback_check, verdict_of
from ml.params import MonitorParams
from ml.text import TOKEN_PATTERN, model_text
from tests.ml.conftest import TEST_PARAMS

PARAMS = MonitorParams(**TEST_PARAMS["monitor"])


def _signals(positive: list[float], length: int = 900) -> pd.DataFrame:
    count = len(positive)
    return signals_frame(
        np.full(count, length), np.full(count, 0.1), np.asarray(positive, dtype=np.float64)
    )


def _drift(length: float = 0.01, oov: float = 0.01, conf: float = 0.01, ks: float = 0.5):
    return DriftResult(
        psi={"review_length": length, "oov_rate": oov, "confidence": conf},
        confidence_ks_pvalue=ks,
        snapshot=None,
    )


def _by_name(checks: list) -> dict:
    return {check.name: check for check in checks}


def test_quiet_measurements_flag_nothing() -> None:
    reference = _signals([0.9, 0.2] * 50)
    checks = distribution_checks(reference, _signals([0.8, 0.3] * 50), _drift(), PARAMS)
    assert not any(check.flagged for check in checks)
    assert verdict_of(checks, enough_data=True) == "no_drift"


def test_each_psi_above_its_threshold_flags() -> None:
    reference = _signals([0.9, 0.2] * 50)
    checks = _by_name(
        distribution_checks(reference, reference, _drift(length=0.5, oov=0.25), PARAMS)
    )
    assert checks["review_length"].flagged and checks["oov_rate"].flagged
    assert "median 900 characters (reference 900)" in checks["review_length"].detail
    assert verdict_of(list(checks.values()), enough_data=True) == "retrain_advised"


@pytest.mark.parametrize(
    ("psi", "ks", "flagged"), [(0.5, 0.001, True), (0.5, 0.2, False), (0.1, 0.0, False)]
)
def test_confidence_needs_both_psi_and_ks(psi: float, ks: float, flagged: bool) -> None:
    reference = _signals([0.9, 0.2] * 50)
    checks = distribution_checks(reference, reference, _drift(conf=psi, ks=ks), PARAMS)
    assert _by_name(checks)["confidence"].flagged is flagged


def test_positive_share_shift() -> None:
    reference = _signals([0.9] * 50 + [0.1] * 50)
    current = _signals([0.9] * 70 + [0.1] * 30)
    check = _by_name(distribution_checks(reference, current, _drift(), PARAMS))["positive_share"]
    assert check.value == pytest.approx(0.2)
    assert check.flagged
    assert check.detail == "70.0% positive (reference 50.0%)"


def test_feedback_accuracy_is_judged_only_with_enough_verdicts() -> None:
    def window(right: int, wrong: int, unjudged: int = 10) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "label": ["positive"] * (right + wrong + unjudged),
                "feedback_label": ["positive"] * right + ["negative"] * wrong + [None] * unjudged,
            }
        )

    few, count = feedback_check(window(10, 5), 0.9, PARAMS)
    assert (few.value, few.flagged, count) == (None, False, 15)
    assert "15 verdicts in the window, fewer than 30" in few.detail
    bad, _ = feedback_check(window(30, 10), 0.9, PARAMS)
    assert bad.value == pytest.approx(0.15) and bad.flagged
    good, _ = feedback_check(window(38, 2), 0.9, PARAMS)
    assert not good.flagged
    assert verdict_of([bad], enough_data=False) == "insufficient_data"


def test_out_of_vocabulary_rate_uses_the_models_tokens() -> None:
    vectorizer = TfidfVectorizer(
        preprocessor=model_text, token_pattern=TOKEN_PATTERN, ngram_range=(1, 2)
    ).fit(["a good film", "not good at all", "a bad film"])
    probe = VocabularyProbe(vectorizer)
    rates = probe.oov_rates(["good film", "not good", "zebra film", "!!!"])
    # "not good" is "not not_good" to the model: both tokens are in the vocabulary.
    np.testing.assert_allclose(rates[:3], [0.0, 0.0, 0.5])
    assert np.isnan(rates[3])
    np.testing.assert_allclose(confidence(np.array([0.2, 0.5, 0.9])), [0.8, 0.5, 0.9])
