"""The ``explanation`` of a prediction, shaped for the response (schemas.ExplanationOut)."""

from __future__ import annotations

import math
from typing import Any

from app.backend.linear import Explanation


def as_output(explanation: Explanation, top: int) -> dict[str, Any]:
    """The ``top`` strongest terms per label, and the rest summed, so that the parts add up."""
    positive, negative = explanation.strongest(top)
    listed = math.fsum(value for _, value in positive) + math.fsum(value for _, value in negative)
    logit = explanation.logit
    return {
        "positive": [{"term": term, "contribution": value} for term, value in positive],
        "negative": [{"term": term, "contribution": value} for term, value in negative],
        "intercept": explanation.intercept,
        "other": logit - explanation.intercept - listed,
        "logit": logit,
    }
