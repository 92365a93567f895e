"""Behavioural checks in the CheckList style (Ribeiro et al., 2020): what a sentiment model must
get right whatever its accuracy, generated from templates.

Three kinds of check:

- MFT (minimum functionality): each case has an expected label;
- INV (invariance): changing something irrelevant (a name, a place, a number, a typo) must not
  change the label given to the original sentence;
- DIR (directional): a change must move the positive probability the expected way (negating a
  complaint raises it; an intensifier never weakens the sentiment it intensifies).

Each check is a list of cases; the gate requires a minimum share of passing cases per check
(``gate.behaviour`` in params.yaml). All texts of all checks are scored in one batch.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ml.metrics import ProbabilisticModel
from ml.model import LABEL_NAMES, POSITIVE

# Failing cases quoted per check in the report; the count says how many there were in all.
QUOTED_FAILURES = 5

THINGS = ("movie", "film", "story", "plot", "script", "acting", "ending", "cast", "dialogue")
POSITIVE_WORDS = (
    "good", "great", "enjoyable", "funny", "moving", "brilliant", "entertaining", "wonderful",
    "interesting", "clever", "beautiful", "exciting",
)  # fmt: skip
NEGATIVE_WORDS = (
    "bad", "boring", "dull", "awful", "terrible", "stupid", "predictable", "weak", "poor",
    "annoying", "horrible", "pointless",
)  # fmt: skip
PLAIN = "The {thing} was {word}."
NEGATED = (
    "The {thing} was not {word}.",
    "The {thing} is not {word} at all.",
    "I did not think the {thing} was {word}.",
    "I don't think this {thing} is {word}.",
    "The {thing} was never {word}.",
    "I can't say the {thing} was {word}.",
)
INTENSIFIERS = ("very", "really", "extremely", "incredibly", "truly", "so", "absolutely")
# CheckList's own tolerance for intensifiers: near P = 0 or 1 a model cannot move further, and a
# drop of a few hundredths there is noise, not a weakened sentiment.
INTENSIFIER_TOLERANCE = 0.1

OBVIOUS = (
    ("This is one of the best films I have ever seen. Brilliant acting and a wonderful story.", 1),
    ("An absolute masterpiece, moving and beautifully shot. I loved every minute.", 1),
    ("Great performances, a clever script and a perfect ending. Highly recommended.", 1),
    ("A delightful, funny and touching movie that the whole family will enjoy.", 1),
    ("Superb from start to finish; I laughed, I cried, and I will watch it again.", 1),
    ("A gripping thriller with a terrific cast. One of the year's best.", 1),
    ("Beautiful, intelligent and deeply moving. A must see.", 1),
    ("I loved it. The best comedy in years, sharp and hilarious.", 1),
    ("The worst movie I have ever seen. Boring, stupid and a complete waste of time.", 0),
    ("Terrible acting, an awful script and a plot that makes no sense at all.", 0),
    ("Dull, predictable and far too long. I want my two hours back.", 0),
    ("A horrible, pointless mess. Avoid this film at all costs.", 0),
    ("Painfully boring; I fell asleep halfway through this garbage.", 0),
    ("Awful dialogue, wooden acting and a ridiculous ending. Avoid.", 0),
    ("A lazy, unfunny comedy that wastes its cast. Terrible.", 0),
    ("Utterly tedious and badly made. The worst film of the year.", 0),
)

NAME_TEMPLATES = (
    "{x} gives a wonderful performance in this moving film.",
    "{x} is wasted in this boring, badly written mess.",
    "I expected more from {x}; the film is dull and forgettable.",
    "With {x} in the lead, this is a funny and charming comedy.",
    "{x} was brilliant, and the story kept me hooked until the end.",
    "Even {x} could not save this terrible script.",
    "{x} directs with real confidence and the result is a delight.",
    "The worst thing about this film is the awful performance by {x}.",
    "My friend {x} recommended it and I loved every minute.",
    "{x} plays the villain, but the plot is predictable and slow.",
    "A beautiful, touching film, anchored by {x}.",
    "Watching {x} in this was a painful waste of two hours.",
    "{x} and the rest of the cast are superb.",
    "A clumsy, tedious film; {x} looks bored throughout.",
)
NAMES = (
    "Tom Hanks", "Meryl Streep", "Denzel Washington", "Priya Sharma", "Jan Kowalski",
    "Keanu Reeves", "Nicolas Cage", "Julia Roberts", "Chen Wei", "Fatima Al-Sayed",
    "Olu Adebayo", "Maria Garcia", "Hiroshi Tanaka", "Kevin Costner", "Sofia Rossi",
    "Ahmed Khan", "Emma Watson", "Lars Nilsson", "Ana Souza", "David Cohen",
)  # fmt: skip
PLACE_TEMPLATES = (
    "I watched this in a cinema in {x} and loved every minute.",
    "Saw it at a festival in {x}; it was dull and far too long.",
    "The film is set in {x} and the story is gripping from start to finish.",
    "Set in {x}, this clumsy drama wastes a talented cast.",
    "The scenes in {x} are beautifully shot and the music is lovely.",
    "Even the shots of {x} could not save this boring film.",
    "A charming, funny story about a family in {x}.",
    "A tedious thriller set in {x} with a ridiculous ending.",
    "The best film about {x} I have ever seen.",
    "The people of {x} deserve a better film than this awful mess.",
)
PLACES = (
    "Paris", "New York", "Mumbai", "Lagos", "Tokyo", "Berlin", "Rio de Janeiro", "Ohio",
    "Cairo", "Sydney", "Toronto", "Warsaw", "Seoul", "Mexico City", "Dublin", "Nairobi",
)  # fmt: skip
TIMES = ("2", "3", "4", "5", "7", "10", "12", "20")
MINUTES = ("85", "90", "95", "102", "110", "118", "125", "134")
YEARS = ("1962", "1975", "1988", "1994", "2001", "2009", "2015", "2021")
PEOPLE = ("2", "3", "4", "5", "6", "8", "10", "15")
NUMBER_TEMPLATES = (
    ("I have seen this film {x} times and it gets better every time.", TIMES),
    ("I have seen it {x} times and it bores me more every time.", TIMES),
    ("At {x} minutes, it is a tight and thrilling ride.", MINUTES),
    ("At {x} minutes, it is a slow and tedious slog.", MINUTES),
    ("Released in {x}, this is still one of the best comedies around.", YEARS),
    ("Released in {x}, it has aged badly and was never funny anyway.", YEARS),
    ("{x} of us went to see it and everyone loved it.", PEOPLE),
    ("{x} of us went to see it and we all hated it.", PEOPLE),
)
TYPO_VARIANTS = 3


@dataclass(frozen=True)
class Case:
    """One test case: the texts it scores and the rule its probabilities must satisfy."""

    texts: tuple[str, ...]
    passes: Callable[[list[float]], bool]
    describe: Callable[[list[float]], str]


@dataclass(frozen=True)
class Check:
    name: str
    kind: str  # MFT, INV or DIR
    description: str
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    description: str
    passed: int
    total: int
    failures: list[str] = field(default_factory=list)  # the first QUOTED_FAILURES

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "description": self.description,
            "passed": self.passed,
            "total": self.total,
            "pass_rate": round(self.pass_rate, 4),
            "failures": self.failures,
        }


def _label(probability: float) -> int:
    return int(probability >= 0.5)


def _expect(text: str, label: int) -> Case:
    return Case(
        (text,),
        lambda p: _label(p[0]) == label,
        lambda p: (
            f"{text!r}: expected {LABEL_NAMES[label]}, got {LABEL_NAMES[_label(p[0])]} "
            f"(P(positive) {p[0]:.2f})"
        ),
    )


def _same_label(original: str, changed: str) -> Case:
    return Case(
        (original, changed),
        lambda p: _label(p[0]) == _label(p[1]),
        lambda p: (
            f"{original!r} is {LABEL_NAMES[_label(p[0])]} but {changed!r} is "
            f"{LABEL_NAMES[_label(p[1])]}"
        ),
    )


def _moves(original: str, changed: str, direction: int, tolerance: float = 0.0) -> Case:
    """``changed`` must not move P(positive) against ``direction`` (+1 up, -1 down) by more
    than ``tolerance``."""
    word = "rise" if direction > 0 else "fall"
    slack = f" (or fall by at most {tolerance})" if tolerance and direction > 0 else ""
    slack = f" (or rise by at most {tolerance})" if tolerance and direction < 0 else slack
    return Case(
        (original, changed),
        lambda p: (p[1] - p[0]) * direction >= -tolerance,
        lambda p: (
            f"P(positive) should {word}{slack} from {original!r} ({p[0]:.2f}) to "
            f"{changed!r} ({p[1]:.2f})"
        ),
    )


def _invariance(templates: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[Case, ...]:
    """Each template with its first filler is the original; every other filler must agree."""
    return tuple(
        _same_label(template.format(x=fillers[0]), template.format(x=other))
        for template, fillers in templates
        for other in fillers[1:]
    )


def _with_typo(text: str, variant: int) -> str:
    """Swap two adjacent letters inside one word of 4+ letters, chosen from the text and variant."""
    words = text.split(" ")
    eligible = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not eligible:
        return text
    seed = zlib.crc32(f"{variant}:{text}".encode())
    index = eligible[seed % len(eligible)]
    word = words[index]
    letters = [i for i in range(len(word) - 1) if word[i].isalpha() and word[i + 1].isalpha()]
    at = letters[(seed // 7) % len(letters)]
    words[index] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return " ".join(words)


def build_checks() -> list[Check]:
    """The suite, generated afresh (deterministically) from the templates above."""
    negated_positive = tuple(
        _expect(template.format(thing=thing, word=word), 0)
        for template, thing, word in itertools.product(NEGATED, THINGS, POSITIVE_WORDS)
    )
    negated_negative = tuple(
        _moves(PLAIN.format(thing=thing, word=word), template.format(thing=thing, word=word), +1)
        for template, thing, word in itertools.product(NEGATED, THINGS, NEGATIVE_WORDS)
    )
    intensified = tuple(
        _moves(
            PLAIN.format(thing=thing, word=word),
            PLAIN.format(thing=thing, word=f"{intensifier} {word}"),
            direction,
            INTENSIFIER_TOLERANCE,
        )
        for words, direction in ((POSITIVE_WORDS, +1), (NEGATIVE_WORDS, -1))
        for intensifier, thing, word in itertools.product(INTENSIFIERS, THINGS, words)
    )
    typo_sources = [text for text, _ in OBVIOUS] + [t.format(x=NAMES[0]) for t in NAME_TEMPLATES]
    return [
        Check(
            "obvious",
            "MFT",
            "clearly positive and clearly negative reviews get their label",
            tuple(_expect(text, label) for text, label in OBVIOUS),
        ),
        Check(
            "negation_of_positive",
            "MFT",
            "a negated compliment ('the plot was not clever') is negative",
            negated_positive,
        ),
        Check(
            "negation_of_negative",
            "DIR",
            "negating a complaint ('the plot was not dull') raises P(positive)",
            negated_negative,
        ),
        Check(
            "intensifier",
            "DIR",
            "an intensifier ('very', 'truly', ...) never weakens the sentiment it intensifies",
            intensified,
        ),
        Check(
            "invariance_names",
            "INV",
            "changing a person's name leaves the label unchanged",
            _invariance((t, NAMES) for t in NAME_TEMPLATES),
        ),
        Check(
            "invariance_places",
            "INV",
            "changing a place leaves the label unchanged",
            _invariance((t, PLACES) for t in PLACE_TEMPLATES),
        ),
        Check(
            "invariance_numbers",
            "INV",
            "changing a number (a count, a running time, a year) leaves the label unchanged",
            _invariance(NUMBER_TEMPLATES),
        ),
        Check(
            "typos",
            "INV",
            "a typo (two adjacent letters swapped in one word) leaves the label unchanged",
            tuple(
                _same_label(text, _with_typo(text, variant))
                for text in typo_sources
                for variant in range(TYPO_VARIANTS)
            ),
        ),
    ]


def check_names() -> tuple[str, ...]:
    return tuple(check.name for check in build_checks())


def run_checks(model: ProbabilisticModel, checks: list[Check] | None = None) -> list[CheckResult]:
    """Score every text of every check in one batch, then judge each case."""
    checks = checks if checks is not None else build_checks()
    texts = sorted({text for check in checks for case in check.cases for text in case.texts})
    probabilities = np.asarray(model.predict_proba(np.array(texts, dtype=str)))[:, POSITIVE]
    positive = dict(zip(texts, (float(p) for p in probabilities), strict=True))
    results = []
    for check in checks:
        failures = []
        for case in check.cases:
            scores = [positive[text] for text in case.texts]
            if not case.passes(scores):
                failures.append(case.describe(scores))
        results.append(
            CheckResult(
                check.name,
                check.kind,
                check.description,
                len(check.cases) - len(failures),
                len(check.cases),
                failures[:QUOTED_FAILURES],
            )
        )
    return results
