"""The retraining decision from the monitor's and the feedback export's outcomes, and its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.errors import PipelineError
from ml.retrain import cli
from ml.retrain.decision import StepResult, decide

DRIFT = StepResult(
    "python -m ml.monitor",
    3,
    {"verdict": "retrain_advised", "flagged": ["review_length", "oov_rate"]},
)
NO_DRIFT = StepResult("python -m ml.monitor", 0, {"verdict": "no_drift", "flagged": []})
SNAPSHOT = StepResult(
    "python -m ml.feedback",
    0,
    {"rows": 260, "data_version": 3, "counts": {"usable_reviews": 240}},
)
TOO_FEW = StepResult(
    "python -m ml.feedback",
    3,
    message="ml.feedback: error: 12 usable feedback reviews, fewer than the minimum 200",
)


@pytest.mark.parametrize("monitor", [DRIFT, NO_DRIFT])
def test_a_feedback_snapshot_retrains_with_or_without_drift(monitor: StepResult) -> None:
    decision = decide(monitor, SNAPSHOT)
    assert decision.retrain
    assert decision.outcome == "retrain"
    assert "260 verdicts written, 240 usable reviews for data version 3" in decision.reasons[1]


def test_drift_without_enough_feedback_waits_and_says_why() -> None:
    decision = decide(DRIFT, TOO_FEW)
    assert not decision.retrain
    assert decision.outcome == "waiting_for_feedback"
    assert decision.reasons[0] == "monitor: retrain_advised (review_length, oov_rate)"
    assert "fewer than the minimum 200" in decision.reasons[1]
    assert "nothing new to train on" in decision.reasons[2]


def test_no_drift_and_too_little_feedback_is_nothing_to_do() -> None:
    decision = decide(NO_DRIFT, TOO_FEW)
    assert decision.outcome == "nothing_to_do"
    assert decision.reasons[0] == "monitor: no_drift"


@pytest.mark.parametrize(
    ("monitor", "feedback", "named"),
    [
        (StepResult("python -m ml.monitor", 2, message="no database at sqlite://"), SNAPSHOT,
         "python -m ml.monitor exited 2: no database at sqlite://"),
        (NO_DRIFT, StepResult("python -m ml.feedback", 2, message="unknown label 'meh' (4 rows)"),
         "python -m ml.feedback exited 2: unknown label 'meh' (4 rows)"),
        (NO_DRIFT, StepResult("python -m ml.feedback", -9), "exited -9: no message"),
    ],
)  # fmt: skip
def test_a_failed_step_stops_the_decision_with_its_message(
    monitor: StepResult, feedback: StepResult, named: str
) -> None:
    with pytest.raises(PipelineError, match=named.replace("(", r"\(").replace(")", r"\)")):
        decide(monitor, feedback)


@pytest.mark.parametrize(
    ("steps", "status", "outcome"),
    [((DRIFT, SNAPSHOT), 0, "retrain"), ((DRIFT, TOO_FEW), 3, "waiting_for_feedback")],
)
def test_the_report_and_the_exit_status(
    steps: tuple[StepResult, StepResult],
    status: int,
    outcome: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = {"ml.monitor": steps[0], "ml.feedback": steps[1]}
    calls: list[tuple[str, ...]] = []

    def fake_step(module: str, *args: str, cwd: Path) -> StepResult:
        calls.append((module, *args))
        return answers[module]

    monkeypatch.delenv("RP_PROJECT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "run_step", fake_step)
    assert cli.main([]) == status
    assert calls == [("ml.monitor", "--model", "build/model"), ("ml.feedback",)]
    report = json.loads((tmp_path / "reports" / "retrain.json").read_text())
    assert report["outcome"] == outcome
    assert report["monitor"]["exit_code"] == 3
    assert report["feedback"] == steps[1].as_dict()
    assert report["reasons"] == decide(*steps).reasons
    assert f"ml.retrain: {outcome}" in capsys.readouterr().out


def test_a_failed_step_is_in_the_report_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = StepResult("python -m ml.monitor", 2, message="ml.monitor: error: no model")
    monkeypatch.delenv("RP_PROJECT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        cli, "run_step", lambda module, *args, cwd: failed if module == "ml.monitor" else TOO_FEW
    )
    with pytest.raises(PipelineError, match="no model"):
        cli.main([])
    report = json.loads((tmp_path / "reports" / "retrain.json").read_text())
    assert report["outcome"] == "error"
    assert report["reasons"] == ["python -m ml.monitor exited 2: ml.monitor: error: no model"]


def test_both_failed_steps_are_named() -> None:
    with pytest.raises(PipelineError) as raised:
        decide(
            StepResult("python -m ml.monitor", 2, message="no model"),
            StepResult("python -m ml.feedback", 2, message="no store"),
        )
    assert str(raised.value) == (
        "python -m ml.monitor exited 2: no model; python -m ml.feedback exited 2: no store"
    )
