"""Whether to retrain, from what ``ml.monitor`` and ``ml.feedback`` answered.

Retraining needs something new to learn from: a feedback snapshot (``ml.feedback`` exit 0),
which makes data v3. Drift alone (``ml.monitor`` exit 3) with too little feedback retrains on the
same data, so it is reported as waiting for feedback, not run. Either command failing on bad
input (exit 2, or any status it does not define) stops the decision with its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ml.errors import PipelineError

MONITOR_NO_DRIFT = 0
MONITOR_RETRAIN_ADVISED = 3
FEEDBACK_WRITTEN = 0
FEEDBACK_TOO_FEW = 3

Outcome = Literal["retrain", "waiting_for_feedback", "nothing_to_do"]


@dataclass(frozen=True)
class StepResult:
    """One command's exit status, its JSON summary (stdout) and its last stderr line."""

    command: str
    exit_code: int
    summary: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "message": self.message,
        }


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: list[str]

    @property
    def retrain(self) -> bool:
        return self.outcome == "retrain"


def _failure(step: StepResult, known: tuple[int, ...]) -> str | None:
    if step.exit_code in known:
        return None
    return f"{step.command} exited {step.exit_code}: {step.message or 'no message'}"


def _monitor_reason(monitor: StepResult) -> str:
    verdict = monitor.summary.get("verdict", "unknown")
    flagged = monitor.summary.get("flagged") or []
    detail = f" ({', '.join(flagged)})" if flagged else ""
    return f"monitor: {verdict}{detail}"


def _feedback_reason(feedback: StepResult) -> str:
    if feedback.exit_code == FEEDBACK_WRITTEN:
        usable = feedback.summary.get("counts", {}).get("usable_reviews", "?")
        return (
            f"feedback: snapshot of {feedback.summary.get('rows', '?')} verdicts written, "
            f"{usable} usable reviews for data version {feedback.summary.get('data_version', '?')}"
        )
    return f"feedback: {feedback.message or 'too few usable reviews'}"


def decide(monitor: StepResult, feedback: StepResult) -> Decision:
    failures = [
        failure
        for failure in (
            _failure(monitor, (MONITOR_NO_DRIFT, MONITOR_RETRAIN_ADVISED)),
            _failure(feedback, (FEEDBACK_WRITTEN, FEEDBACK_TOO_FEW)),
        )
        if failure is not None
    ]
    if failures:
        raise PipelineError("; ".join(failures))
    reasons = [_monitor_reason(monitor), _feedback_reason(feedback)]
    if feedback.exit_code == FEEDBACK_WRITTEN:
        return Decision("retrain", reasons)
    if monitor.exit_code == MONITOR_RETRAIN_ADVISED:
        reasons.append(
            "the monitor advises retraining, but without a feedback snapshot there is nothing "
            "new to train on: collect more verdicts"
        )
        return Decision("waiting_for_feedback", reasons)
    return Decision("nothing_to_do", reasons)
