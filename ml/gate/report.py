"""The gate's verdict with its evidence, as JSON (reports/gate.json, the model card) and Markdown
(an MLflow artifact of the candidate's run, and gate_report.md in the export)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.gate.behaviour import CheckResult
from ml.gate.paired import PairedComparison
from ml.metrics import Scores
from ml.params import GateParams

SCORE_NAMES = ("accuracy", "f1", "roc_auc", "recall_negative", "recall_positive")


@dataclass(frozen=True)
class GateReport:
    model_name: str
    candidate_version: str
    candidate_run_id: str
    champion_version: str | None
    test_md5: str
    decided_at: str
    thresholds: GateParams
    reasons: list[str]
    hold_out_reviews: int | None = None
    candidate: Scores | None = None
    champion: Scores | None = None
    comparison: PairedComparison | None = None
    behaviour: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "model_name": self.model_name,
            "candidate_version": self.candidate_version,
            "candidate_run_id": self.candidate_run_id,
            "champion_version": self.champion_version,
            "test_md5": self.test_md5,
            "hold_out_reviews": self.hold_out_reviews,
            "decided_at": self.decided_at,
            "candidate": self.candidate.as_dict() if self.candidate else None,
            "champion": self.champion.as_dict() if self.champion else None,
            "paired": self.comparison.as_dict() if self.comparison else None,
            "behaviour": {
                result.name: {**result.as_dict(), "minimum": self.thresholds.behaviour[result.name]}
                for result in self.behaviour
            },
            "thresholds": self.thresholds.model_dump(),
            "reasons": self.reasons,
            "notes": self.notes,
        }

    def markdown(self) -> str:
        verdict = "**passed**" if self.passed else "**refused**"
        lines = [
            f"# Gate report: {self.model_name} version {self.candidate_version}",
            "",
            f"- Verdict: {verdict} ({self.decided_at})",
            f"- Candidate: version {self.candidate_version}, run `{self.candidate_run_id}`",
            f"- Champion at the time: {self._champion_line()}",
            f"- Hold-out: {self.hold_out_reviews or 'not scored'} reviews, md5 `{self.test_md5}`",
        ]
        lines += [f"- Note: {note}" for note in self.notes]
        if self.reasons:
            lines += ["", "## Reasons", ""] + [f"- {reason}" for reason in self.reasons]
        if self.candidate is not None:
            lines += ["", "## Hold-out scores", "", *self._scores_table()]
        if self.comparison is not None:
            lines += ["", "## Paired comparison with the champion", "", *self._paired_lines()]
        if self.behaviour:
            lines += ["", "## Behavioural checks", "", *self._behaviour_table()]
        return "\n".join(lines) + "\n"

    def _champion_line(self) -> str:
        if self.champion_version is None:
            return "none (first candidate: floors and behaviour only)"
        return f"version {self.champion_version}"

    def _scores_table(self) -> list[str]:
        floors = {
            "accuracy": self.thresholds.min_accuracy,
            "f1": self.thresholds.min_f1,
            "roc_auc": self.thresholds.min_roc_auc,
            "recall_negative": self.thresholds.min_class_recall,
            "recall_positive": self.thresholds.min_class_recall,
        }
        candidate = self.candidate.as_dict() if self.candidate else {}
        champion = self.champion.as_dict() if self.champion else {}
        rows = ["| metric | candidate | champion | floor |", "|---|---|---|---|"]
        for name in SCORE_NAMES:
            theirs = f"{champion[name]:.4f}" if name in champion else "-"
            rows.append(f"| {name} | {candidate[name]:.4f} | {theirs} | {floors[name]:.4f} |")
        return rows

    def _paired_lines(self) -> list[str]:
        c = self.comparison
        assert c is not None  # noqa: S101 - only called with a comparison
        confidence = f"{1 - c.alpha:.0%}"
        return [
            "| measure | value |",
            "|---|---|",
            f"| accuracy difference (candidate - champion) | {c.difference:+.4f} |",
            f"| one standard error of accuracy | {c.accuracy_standard_error:.4f} |",
            f"| reviews only the candidate gets right (b) | {c.candidate_only} |",
            f"| reviews only the champion gets right (c) | {c.champion_only} |",
            f"| McNemar exact, one-sided p (candidate worse) | {c.mcnemar_p_worse:.3g} "
            f"(refuse below {c.alpha}) |",
            f"| paired bootstrap {confidence} bounds ({c.resamples} resamples) | "
            f"[{c.bootstrap_lower:+.4f}, {c.bootstrap_upper:+.4f}] |",
            f"| non-inferiority margin | lower bound must be >= -{c.max_regression:.4f} |",
            f"| significantly worse / non-inferior | {c.significantly_worse} / {c.non_inferior} |",
        ]

    def _behaviour_table(self) -> list[str]:
        rows = [
            "| check | kind | passed | pass rate | minimum | what it tests |",
            "|---|---|---|---|---|---|",
        ]
        examples = []
        for result in self.behaviour:
            minimum = self.thresholds.behaviour[result.name]
            mark = "" if result.pass_rate >= minimum else " **below**"
            rows.append(
                f"| {result.name} | {result.kind} | {result.passed}/{result.total} | "
                f"{result.pass_rate:.1%}{mark} | {minimum:.0%} | {result.description} |"
            )
            if result.failures:
                examples.append(f"- {result.name}: " + "; ".join(result.failures[:2]))
        if examples:
            rows += ["", "Failing examples (the first two of each check):", "", *examples]
        return rows
