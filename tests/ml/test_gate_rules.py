"""The gate's decision rules, on fixed scores."""

from ml.behaviour import SuiteResult
from ml.metrics import Scores
from ml.params import GateParams
from ml.promote import judge
from tests.ml.conftest import TEST_PARAMS

THRESHOLDS = GateParams.model_validate(TEST_PARAMS["gate"])
GOOD = Scores(accuracy=0.90, f1=0.90, roc_auc=0.96)
ALL_PASS = [SuiteResult("obvious", 8, 8), SuiteResult("negation", 4, 4)]


def test_first_candidate_passes_on_absolute_thresholds() -> None:
    assert judge(GOOD, None, ALL_PASS, THRESHOLDS) == []


def test_each_absolute_floor_is_reported() -> None:
    weak = Scores(accuracy=0.6, f1=0.5, roc_auc=0.7)
    reasons = judge(weak, None, ALL_PASS, THRESHOLDS)
    assert reasons == [
        "accuracy 0.6000 is below the minimum 0.8500",
        "f1 0.5000 is below the minimum 0.8500",
        "roc_auc 0.7000 is below the minimum 0.9000",
    ]


def test_regression_against_the_champion_beyond_tolerance_fails() -> None:
    champion = Scores(accuracy=0.92, f1=0.92, roc_auc=0.97)
    reasons = judge(GOOD, champion, ALL_PASS, THRESHOLDS)
    assert reasons == ["accuracy 0.9000 is more than 0.0050 below the champion's 0.9200"]


def test_regression_within_tolerance_passes() -> None:
    champion = Scores(accuracy=0.904, f1=0.9, roc_auc=0.96)
    assert judge(GOOD, champion, ALL_PASS, THRESHOLDS) == []


def test_failed_behaviour_case_is_quoted() -> None:
    negation = SuiteResult("negation", 3, 4, ["'not good at all': expected negative, got positive"])
    reasons = judge(GOOD, None, [negation], THRESHOLDS)
    assert reasons == [
        "behaviour 'negation' passed 3/4: 'not good at all': expected negative, got positive"
    ]
