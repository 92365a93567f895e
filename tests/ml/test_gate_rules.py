"""The gate's decision rules, on fixed scores and check results."""

import pytest

from ml.errors import PipelineError
from ml.gate.behaviour import CheckResult, check_names
from ml.gate.rules import check_thresholds_cover_the_suite, judge
from ml.metrics import Scores
from ml.params import GateParams
from tests.ml.conftest import TEST_PARAMS

THRESHOLDS = GateParams.model_validate(TEST_PARAMS["gate"])
GOOD = Scores(accuracy=0.90, f1=0.90, roc_auc=0.96, recall_negative=0.89, recall_positive=0.91)
ALL_PASS = [CheckResult(name, "MFT", "", 10, 10) for name in check_names()]


def test_first_candidate_passes_on_absolute_thresholds() -> None:
    assert judge(GOOD, None, ALL_PASS, THRESHOLDS) == []


def test_each_absolute_floor_is_reported() -> None:
    weak = Scores(accuracy=0.6, f1=0.5, roc_auc=0.7, recall_negative=0.95, recall_positive=0.3)
    reasons = judge(weak, None, ALL_PASS, THRESHOLDS)
    assert reasons == [
        "accuracy 0.6000 is below the minimum 0.8500",
        "f1 0.5000 is below the minimum 0.8500",
        "roc_auc 0.7000 is below the minimum 0.9000",
        "recall of positive reviews 0.3000 is below the minimum 0.8000",
    ]


def test_one_class_carried_by_the_other_is_refused() -> None:
    lopsided = Scores(
        accuracy=0.90, f1=0.91, roc_auc=0.96, recall_negative=0.79, recall_positive=0.99
    )
    assert judge(lopsided, None, ALL_PASS, THRESHOLDS) == [
        "recall of negative reviews 0.7900 is below the minimum 0.8000"
    ]


def test_a_check_below_its_minimum_is_quoted_with_its_rate() -> None:
    results = [
        CheckResult(name, "MFT", "", 10, 10)
        if name != "negation_of_positive"
        else CheckResult(
            name, "MFT", "", 5, 10, ["'not good at all': expected negative, got positive"]
        )
        for name in check_names()
    ]
    reasons = judge(GOOD, None, results, THRESHOLDS)
    assert reasons == [
        "behaviour 'negation_of_positive' (MFT) passed 5/10 = 50.0%, below its minimum 60%; "
        "e.g. 'not good at all': expected negative, got positive"
    ]


def test_the_thresholds_must_name_every_check_and_only_those() -> None:
    check_thresholds_cover_the_suite(THRESHOLDS)
    missing = THRESHOLDS.model_copy(
        update={"behaviour": {k: v for k, v in THRESHOLDS.behaviour.items() if k != "typos"}}
    )
    with pytest.raises(PipelineError, match="no minimum pass rate for typos"):
        check_thresholds_cover_the_suite(missing)
    extra = THRESHOLDS.model_copy(update={"behaviour": {**THRESHOLDS.behaviour, "sarcasm": 0.5}})
    with pytest.raises(PipelineError, match="unknown checks sarcasm"):
        check_thresholds_cover_the_suite(extra)


def test_a_champion_from_before_the_integrity_tags_is_compared_with_a_note(monkeypatch) -> None:
    from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

    from ml import promote, tracking

    legacy = ModelVersion("imdb-sentiment", "3", 0, tags=[ModelVersionTag("test_md5", "x")])
    monkeypatch.setattr(tracking, "load_unverified", lambda name, version: (name, version))
    model, notes = promote._load_champion(legacy)
    assert model == ("imdb-sentiment", "3")
    assert notes == [
        "champion version 3 predates the integrity tags; it was loaded unverified, with the "
        "current code, for the comparison only"
    ]
