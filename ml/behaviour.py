"""Behavioural checks: what a sentiment model must get right regardless of its accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.metrics import ProbabilisticModel
from ml.model import LABEL_NAMES, POSITIVE

OBVIOUS = (
    ("This is one of the best films I have ever seen. Brilliant acting and a wonderful story.", 1),
    ("An absolute masterpiece, moving and beautifully shot. I loved every minute.", 1),
    ("Great performances, a clever script and a perfect ending. Highly recommended.", 1),
    ("A delightful, funny and touching movie that the whole family will enjoy.", 1),
    ("The worst movie I have ever seen. Boring, stupid and a complete waste of time.", 0),
    ("Terrible acting, an awful script and a plot that makes no sense at all.", 0),
    ("Dull, predictable and far too long. I want my two hours back.", 0),
    ("A horrible, pointless mess. Avoid this film at all costs.", 0),
)

NEGATION = (
    ("This movie was not good at all.", 0),
    ("I did not enjoy this film and I would not recommend it.", 0),
    ("Not a good movie. The story is not interesting and the acting is not convincing.", 0),
    ("This film is not bad at all, it is actually a great watch.", 1),
)

INVARIANCE_TEMPLATES = (
    "{name} gives a wonderful performance in this moving film.",
    "{name} is wasted in this boring, badly written mess.",
    "I expected more from {name}; the film is dull and forgettable.",
    "With {name} in the lead, this is a funny and charming comedy.",
)
INVARIANCE_NAMES = (
    "Tom Hanks",
    "Meryl Streep",
    "Denzel Washington",
    "Priya Sharma",
    "Jan Kowalski",
)


@dataclass(frozen=True)
class SuiteResult:
    name: str
    passed: int
    total: int
    failures: list[str] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


def _labels(model: ProbabilisticModel, texts: list[str]) -> list[int]:
    probability = np.asarray(model.predict_proba(np.array(texts, dtype=str)))[:, POSITIVE]
    return [int(p >= 0.5) for p in probability]


def _expectation_suite(
    name: str, model: ProbabilisticModel, cases: tuple[tuple[str, int], ...]
) -> SuiteResult:
    predicted = _labels(model, [text for text, _ in cases])
    failures = [
        f"{text!r}: expected {LABEL_NAMES[want]}, got {LABEL_NAMES[got]}"
        for (text, want), got in zip(cases, predicted, strict=True)
        if want != got
    ]
    return SuiteResult(name, len(cases) - len(failures), len(cases), failures)


def _invariance_suite(model: ProbabilisticModel) -> SuiteResult:
    failures = []
    for template in INVARIANCE_TEMPLATES:
        predicted = _labels(model, [template.format(name=n) for n in INVARIANCE_NAMES])
        if len(set(predicted)) > 1:
            detail = ", ".join(
                f"{n}={LABEL_NAMES[p]}" for n, p in zip(INVARIANCE_NAMES, predicted, strict=True)
            )
            failures.append(f"{template!r} changes label with the name: {detail}")
    total = len(INVARIANCE_TEMPLATES)
    return SuiteResult("invariance", total - len(failures), total, failures)


def run_behaviour_checks(model: ProbabilisticModel) -> list[SuiteResult]:
    """Run every suite; each result lists the cases that failed."""
    return [
        _expectation_suite("obvious", model, OBVIOUS),
        _expectation_suite("negation", model, NEGATION),
        _invariance_suite(model),
    ]
