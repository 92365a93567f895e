"""Candidate against champion on the same hold-out, review by review.

Two models scored on the same reviews are compared through the reviews on which they disagree
(``b``: only the candidate is right; ``c``: only the champion is right); reviews both get right
or both get wrong say nothing about which is better. Two tests, both one-sided at ``alpha``:

- McNemar's exact test: is the candidate significantly worse? (``P[X <= b]`` for
  ``X ~ Binomial(b + c, 1/2)``.)
- A paired bootstrap of the accuracy difference (candidate - champion): its lower bound must
  stay above ``-max_regression`` (non-inferiority). Resampling reviews with replacement only
  moves counts between the disagreement cells, so the bootstrap draws those counts from a
  multinomial directly: the same distribution, without materialising resampled index arrays.

The first refuses a clear regression, however small; the second refuses a candidate that is not
shown to be within the margin, which a point comparison would let through on noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binomtest

from ml.params import PairedParams


@dataclass(frozen=True)
class PairedComparison:
    reviews: int
    candidate_accuracy: float
    champion_accuracy: float
    candidate_only: int  # b: reviews only the candidate gets right
    champion_only: int  # c: reviews only the champion gets right
    difference: float  # candidate - champion accuracy
    accuracy_standard_error: float  # of the champion's accuracy, sqrt(p (1 - p) / n)
    mcnemar_p_worse: float  # one-sided exact p-value that the candidate is worse
    bootstrap_lower: float  # one-sided (1 - alpha) lower bound of the difference
    bootstrap_upper: float  # one-sided (1 - alpha) upper bound of the difference
    alpha: float
    max_regression: float
    resamples: int

    @property
    def significantly_worse(self) -> bool:
        return self.mcnemar_p_worse < self.alpha

    @property
    def non_inferior(self) -> bool:
        return self.bootstrap_lower >= -self.max_regression

    def as_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "significantly_worse": self.significantly_worse,
            "non_inferior": self.non_inferior,
        }


def compare(
    candidate_correct: np.ndarray, champion_correct: np.ndarray, params: PairedParams
) -> PairedComparison:
    """Compare two models from their per-review correctness on the same hold-out."""
    candidate_correct = np.asarray(candidate_correct, dtype=bool)
    champion_correct = np.asarray(champion_correct, dtype=bool)
    if candidate_correct.shape != champion_correct.shape or candidate_correct.ndim != 1:
        raise ValueError("both models must be scored on the same reviews")
    reviews = int(candidate_correct.size)
    if reviews == 0:
        raise ValueError("no reviews to compare on")
    only_candidate = int(np.sum(candidate_correct & ~champion_correct))
    only_champion = int(np.sum(~candidate_correct & champion_correct))
    disagreements = only_candidate + only_champion
    p_worse = (
        float(binomtest(only_candidate, disagreements, 0.5, alternative="less").pvalue)
        if disagreements
        else 1.0
    )
    generator = np.random.default_rng(params.seed)
    shares = [only_candidate / reviews, only_champion / reviews]
    draws = generator.multinomial(
        reviews, [*shares, max(0.0, 1.0 - sum(shares))], size=params.bootstrap_resamples
    )
    differences = (draws[:, 0] - draws[:, 1]) / reviews
    lower, upper = np.quantile(differences, [params.alpha, 1 - params.alpha])
    champion_accuracy = float(champion_correct.mean())
    return PairedComparison(
        reviews=reviews,
        candidate_accuracy=round(float(candidate_correct.mean()), 6),
        champion_accuracy=round(champion_accuracy, 6),
        candidate_only=only_candidate,
        champion_only=only_champion,
        difference=round((only_candidate - only_champion) / reviews, 6),
        accuracy_standard_error=round(
            math.sqrt(champion_accuracy * (1 - champion_accuracy) / reviews), 6
        ),
        mcnemar_p_worse=p_worse,
        bootstrap_lower=round(float(lower), 6),
        bootstrap_upper=round(float(upper), 6),
        alpha=params.alpha,
        max_regression=params.max_regression,
        resamples=params.bootstrap_resamples,
    )


def reasons(comparison: PairedComparison) -> list[str]:
    """Why the paired comparison refuses the candidate; empty when it does not."""
    found = []
    counts = (
        f"{comparison.candidate_only} reviews only the candidate gets right, "
        f"{comparison.champion_only} only the champion"
    )
    if comparison.significantly_worse:
        found.append(
            f"the candidate is significantly worse than the champion: McNemar's exact test "
            f"p = {comparison.mcnemar_p_worse:.2g} < {comparison.alpha} ({counts})"
        )
    if not comparison.non_inferior:
        found.append(
            f"the candidate is not shown to be within {comparison.max_regression:.4f} of the "
            f"champion's accuracy: accuracy difference {comparison.difference:+.4f}, paired "
            f"bootstrap {1 - comparison.alpha:.0%} lower bound {comparison.bootstrap_lower:+.4f} "
            f"< -{comparison.max_regression:.4f} ({counts})"
        )
    return found
