"""The review as HTML with its words tinted by the model's explanation (``explain: true``).

The review is hostile input: every piece of it is HTML-escaped, and the only markup is the spans
built here. The model sees lower-cased words, negation-marked (``not_good``) and joined into
n-grams (``loved it``); each word of the review is tinted by the summed contributions of the
listed terms it takes part in (``not_good`` tints "good"), green toward positive, red toward
negative, stronger for larger shares. Words the listed terms do not contain stay plain.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from app.frontend.client import Explanation, TermContribution

# The vectoriser's words (ml/text.py, which the frontend image does not ship), without the quotes
# around a quoted word ('great'): apostrophes count only inside one (didn't).
WORD = re.compile(r"\w+(?:'\w+)*")
NEGATED_PREFIX = "not_"
POSITIVE_RGB = "22, 163, 74"  # green
NEGATIVE_RGB = "220, 38, 38"  # red
# The faintest tint still readable as a colour, and the strongest that keeps black text legible.
MIN_ALPHA = 0.2
MAX_ALPHA = 0.75


def word_weights(terms: Iterable[TermContribution]) -> dict[str, float]:
    """Each word's summed share of the listed terms it is part of."""
    weights: dict[str, float] = {}
    for item in terms:
        for part in item.term.split(" "):
            word = part.removeprefix(NEGATED_PREFIX)
            if word:
                weights[word] = weights.get(word, 0.0) + item.contribution
    return weights


def _span(word: str, weight: float, strongest: float) -> str:
    rgb, css_class = (POSITIVE_RGB, "rp-positive") if weight > 0 else (NEGATIVE_RGB, "rp-negative")
    alpha = MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * abs(weight) / strongest
    return (
        f'<span class="{css_class}" title="{weight:+.3f}" '
        f'style="background-color: rgba({rgb}, {alpha:.2f}); border-radius: 3px; '
        f'padding: 0 2px">{html.escape(word)}</span>'
    )


def highlight_html(text: str, explanation: Explanation) -> str:
    """``text``, escaped, with the explanation's words in tinted spans, in a pre-wrap block."""
    weights = {
        word: value
        for word, value in word_weights([*explanation.positive, *explanation.negative]).items()
        if value != 0
    }
    strongest = max((abs(value) for value in weights.values()), default=1.0)
    pieces: list[str] = []
    last = 0
    for match in WORD.finditer(text):
        weight = weights.get(match.group().lower())
        if weight is None:
            continue
        pieces.append(html.escape(text[last : match.start()]))
        pieces.append(_span(match.group(), weight, strongest))
        last = match.end()
    pieces.append(html.escape(text[last:]))
    return (
        '<div class="rp-explained" style="white-space: pre-wrap; line-height: 1.8">'
        + "".join(pieces)
        + "</div>"
    )
