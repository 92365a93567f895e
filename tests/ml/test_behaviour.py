"""The behavioural suite: its checks fail the models they are meant to catch."""

from __future__ import annotations

import numpy as np

from ml.gate.behaviour import NAMES, OBVIOUS, _with_typo, build_checks, check_names, run_checks


class _Keywords:
    """A toy model: P(positive) from counting words, with optional blind spots."""

    GOOD = frozenset(
        [
            "best",
            "brilliant",
            "wonderful",
            "great",
            "loved",
            "superb",
            "masterpiece",
            "delightful",
            "beautiful",
            "gripping",
            "hilarious",
            "moving",
            "funny",
            "charming",
            "good",
            "clever",
            "enjoyable",
            "interesting",
            "exciting",
            "entertaining",
            "delight",
            "lovely",
            "thrilling",
            "tight",
            "terrific",
            "touching",
            "better",
            "confidence",
        ]
    )

    def __init__(self, *, negation: bool = True, penalised: str | None = None) -> None:
        self.negation = negation
        self.penalised = penalised

    def _score(self, text: str) -> float:
        words = text.lower().replace(".", " .").replace(",", " ,").split()
        score, negated = 0.0, False
        for word in words:
            if word in {".", ",", ";"}:
                negated = False
            elif word in {"not", "never", "don't", "can't"} and self.negation:
                negated = True
            elif word.strip("'!?;") in self.GOOD:
                score += -1.0 if negated else 1.0
            else:
                score -= 0.2 if not negated else 0.0
        if self.penalised and self.penalised in text:
            score -= 100
        return 1 / (1 + np.exp(-(score + 0.5)))

    def predict_proba(self, texts: np.ndarray) -> np.ndarray:
        positive = np.array([self._score(str(t)) for t in texts])
        return np.column_stack([1 - positive, positive])


def _rates(model) -> dict[str, float]:
    return {r.name: r.pass_rate for r in run_checks(model)}


def test_the_suite_is_large_and_every_check_has_cases() -> None:
    checks = build_checks()
    assert check_names() == tuple(c.name for c in checks)
    sizes = {c.name: len(c.cases) for c in checks}
    assert sizes["invariance_names"] == 14 * (len(NAMES) - 1)
    assert sum(sizes.values()) > 3000
    assert {c.kind for c in checks} == {"MFT", "INV", "DIR"}


def test_a_model_blind_to_negation_fails_the_negation_checks() -> None:
    aware, blind = _rates(_Keywords()), _rates(_Keywords(negation=False))
    assert aware["negation_of_positive"] > 0.9
    assert blind["negation_of_positive"] < 0.1
    assert blind["negation_of_negative"] < aware["negation_of_negative"]


def test_a_model_that_dislikes_a_name_fails_name_invariance() -> None:
    rates = _rates(_Keywords(penalised="Nicolas Cage"))
    assert rates["invariance_names"] < 1.0
    failures = next(
        r for r in run_checks(_Keywords(penalised="Nicolas Cage")) if r.name == "invariance_names"
    ).failures
    assert all("Nicolas Cage" in f for f in failures)


def test_typos_swap_two_adjacent_letters_in_one_word() -> None:
    text = OBVIOUS[0][0]
    for variant in range(3):
        changed = _with_typo(text, variant)
        assert changed != text and sorted(changed) == sorted(text)
        differing = [a for a, b in zip(text.split(), changed.split(), strict=True) if a != b]
        assert len(differing) == 1
    assert _with_typo("a b c", 0) == "a b c"
