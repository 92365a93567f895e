"""Every reason a candidate falls short; an empty list means it passes."""

from __future__ import annotations

from collections.abc import Sequence

from ml.errors import PipelineError
from ml.gate import paired
from ml.gate.behaviour import CheckResult, check_names
from ml.metrics import Scores
from ml.params import GateParams


def check_thresholds_cover_the_suite(thresholds: GateParams) -> None:
    """params.yaml must state a minimum pass rate for each check, and only for those."""
    suite = set(check_names())
    missing = sorted(suite - set(thresholds.behaviour))
    unknown = sorted(set(thresholds.behaviour) - suite)
    if missing or unknown:
        problems = [f"no minimum pass rate for {', '.join(missing)}"] if missing else []
        problems += [f"unknown checks {', '.join(unknown)}"] if unknown else []
        raise PipelineError(
            f"gate.behaviour in params.yaml: {'; '.join(problems)} (the suite's checks: "
            f"{', '.join(sorted(suite))})"
        )


def floors(candidate: Scores, thresholds: GateParams) -> list[str]:
    return [
        f"{name} {value:.4f} is below the minimum {floor:.4f}"
        for name, value, floor in (
            ("accuracy", candidate.accuracy, thresholds.min_accuracy),
            ("f1", candidate.f1, thresholds.min_f1),
            ("roc_auc", candidate.roc_auc, thresholds.min_roc_auc),
            ("recall of negative reviews", candidate.recall_negative, thresholds.min_class_recall),
            ("recall of positive reviews", candidate.recall_positive, thresholds.min_class_recall),
        )
        if value < floor
    ]


def behaviour(results: Sequence[CheckResult], thresholds: GateParams) -> list[str]:
    reasons = []
    for result in results:
        minimum = thresholds.behaviour[result.name]
        if result.pass_rate < minimum:
            examples = "; ".join(result.failures)
            reasons.append(
                f"behaviour '{result.name}' ({result.kind}) passed {result.passed}/"
                f"{result.total} = {result.pass_rate:.1%}, below its minimum {minimum:.0%}; "
                f"e.g. {examples}"
            )
    return reasons


def judge(
    candidate: Scores,
    comparison: paired.PairedComparison | None,
    results: Sequence[CheckResult],
    thresholds: GateParams,
) -> list[str]:
    """Floors, then the paired comparison with the champion (if any), then behaviour."""
    reasons = floors(candidate, thresholds)
    if comparison is not None:
        reasons += paired.reasons(comparison)
    return reasons + behaviour(results, thresholds)
