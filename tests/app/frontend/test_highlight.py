"""The review's words tinted by the explanation, with the review's own text never markup."""

from __future__ import annotations

import re

from app.frontend.client import Explanation
from app.frontend.highlight import NEGATIVE_RGB, POSITIVE_RGB, highlight_html, word_weights


def _explanation(positive: dict[str, float], negative: dict[str, float]) -> Explanation:
    return Explanation.model_validate(
        {
            "positive": [{"term": t, "contribution": c} for t, c in positive.items()],
            "negative": [{"term": t, "contribution": c} for t, c in negative.items()],
            "intercept": 0.0,
            "other": 0.0,
            "logit": sum(positive.values()) + sum(negative.values()),
        }
    )


SPAN = re.compile(r'<span class="([\w-]+)" title="[^"]*" style="([^"]*)">([^<]*)</span>')


def _spans(markup: str) -> list[tuple[str, str, str]]:
    """(class, style, text) of every tinted span."""
    return SPAN.findall(markup)


def test_words_are_green_toward_positive_and_red_toward_negative() -> None:
    markup = highlight_html(
        "A Great film, but the ending was awful.", _explanation({"great": 1.5}, {"awful": -0.5})
    )
    spans = _spans(markup)
    assert [(kind, text) for kind, _, text in spans] == [
        ("rp-positive", "Great"),
        ("rp-negative", "awful"),
    ]
    assert f"rgba({POSITIVE_RGB}, 0.75)" in spans[0][1]  # the strongest gets the full tint
    assert f"rgba({NEGATIVE_RGB}," in spans[1][1]
    assert markup.startswith('<div class="rp-explained"') and markup.endswith("</div>")
    assert re.sub(r"<[^>]+>", "", markup) == "A Great film, but the ending was awful."


def test_negated_terms_and_ngrams_tint_their_words() -> None:
    explanation = _explanation({"loved it": 0.8}, {"not_good": -1.0})
    assert word_weights(explanation.positive) == {"loved": 0.8, "it": 0.8}
    markup = highlight_html("Not good. I loved it.", explanation)
    assert [(kind, text) for kind, _, text in _spans(markup)] == [
        ("rp-negative", "good"),
        ("rp-positive", "loved"),
        ("rp-positive", "it"),
    ]


def test_the_review_is_escaped_everywhere() -> None:
    hostile = (
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> great '
        "[link](javascript:alert(3)) & \"quotes\" 'great' <b>bad</b>"
    )
    markup = highlight_html(hostile, _explanation({"great": 1.0}, {"bad": -1.0}))
    tags = re.findall(r"<(/?\w+)", markup)
    assert set(tags) <= {"div", "/div", "span", "/span"}
    assert "<script" not in markup and "<img" not in markup and "<b>" not in markup
    assert "&lt;script&gt;" in markup and "&quot;alert(2)&quot;" in markup
    assert [text for _, _, text in _spans(markup)] == ["great", "great", "bad"]


def test_no_listed_terms_leaves_the_review_plain() -> None:
    markup = highlight_html("zzzz <i>qqqq</i>", _explanation({}, {}))
    assert _spans(markup) == []
    assert "&lt;i&gt;qqqq&lt;/i&gt;" in markup
