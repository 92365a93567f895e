"""Text normalisation shared by data preparation and the model pipeline.

The model applies ``model_text`` itself, so a served model sees exactly what it was trained on,
whatever HTML the client sends.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]*>")
_WHITESPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[\w']+|[.,!?;:()]")
_NEGATOR = re.compile(r"not|no|never|nothing|nobody|none|neither|nor|cannot|\w+n't")
_SCOPE_END = frozenset(".,!?;:()")
NEGATED_PREFIX = "not_"
# The vectoriser's token pattern: words (with apostrophes and the negation prefix), no punctuation.
TOKEN_PATTERN = r"[\w']+"  # noqa: S105 - a regex, not a secret


def clean_text(text: str) -> str:
    """Strip HTML tags (IMDB's ``<br />``) and entities, and collapse whitespace."""
    without_tags = _TAG.sub(" ", text)
    return _WHITESPACE.sub(" ", html.unescape(without_tags)).strip()


def model_text(text: str) -> str:
    """What the vectoriser sees: cleaned, lower-cased, with negation scope marked.

    Every word after a negator up to the next punctuation mark gets the ``not_`` prefix, so
    "not good at all" becomes "not not_good not_at not_all" and no longer shares features with
    "good". A bag of n-grams cannot otherwise tell the two apart.
    """
    words: list[str] = []
    negated = False
    for token in _TOKEN.findall(clean_text(text).lower()):
        if token in _SCOPE_END:
            negated = False
            continue
        words.append(NEGATED_PREFIX + token if negated else token)
        if _NEGATOR.fullmatch(token):
            negated = True
    return " ".join(words)


def plain_model_text(text: str) -> str:
    """``model_text`` without negation marking: the alternative ml.tune weighs it against."""
    return " ".join(t for t in _TOKEN.findall(clean_text(text).lower()) if t not in _SCOPE_END)
