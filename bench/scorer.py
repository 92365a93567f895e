"""Where the compiled scorer's time goes, stage by stage, on hold-out reviews (in process).

``python -m bench.scorer MODEL_DIR TEST_CSV``; ``make bench-serve`` reports the same
(``scorer_stages`` in bench/results/serve.json). Each stage is timed over every review, one
review per call, single thread: the model's preprocessing (``ml.text.model_text``: markup,
lower-casing, negation marking), the token pattern, the n-grams the way sklearn's analyzer
builds them and the way ``linear.word_ngrams`` does, the vocabulary lookups and counting, and the
whole ``positive_probability`` before (the analyzer's terms) and after (the inlined ones).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def _per_review_us(function: Callable[[Any], object], inputs: list[Any]) -> float:
    started = time.perf_counter()
    for item in inputs:
        function(item)
    return round((time.perf_counter() - started) / len(inputs) * 1e6, 1)


def stages(model_dir: Path, reviews: list[str]) -> dict[str, float]:
    from app.backend import linear
    from app.backend.model import load_folder

    predictor = load_folder(model_dir)
    scorer = predictor.scorer.scorer
    if scorer is None:
        raise RuntimeError(f"the compiled scorer is off: {predictor.scorer.reason}")
    vectorizer = predictor.pipeline.steps[0][1]
    preprocess = vectorizer.preprocessor
    findall = re.compile(vectorizer.token_pattern).findall
    high = vectorizer.ngram_range[1]
    inline = linear.word_ngrams(preprocess, vectorizer.token_pattern, high)
    texts = [preprocess(review) for review in reviews]
    tokens = [findall(text) for text in texts]
    terms = [scorer._analyzer(review) for review in reviews]
    vocabulary = vectorizer.vocabulary_
    plain = linear.LinearTextScorer(
        scorer._analyzer, scorer._vocabulary, scorer._idf, scorer._weights, scorer._intercept,
        sublinear_tf=scorer._sublinear_tf,
    )  # fmt: skip
    for review in reviews[:200]:  # warm caches
        scorer.positive_probability(review)
    return {
        "preprocess_us": _per_review_us(preprocess, reviews),
        "tokenise_us": _per_review_us(findall, texts),
        "ngrams_sklearn_us": _per_review_us(vectorizer._word_ngrams, tokens),
        "ngrams_inlined_us": _per_review_us(lambda r: list(inline(r)), reviews)
        - _per_review_us(lambda r: findall(preprocess(r)), reviews),
        "lookup_count_before_us": _per_review_us(
            lambda ts: Counter(vocabulary[t] for t in ts if t in vocabulary), terms
        ),
        "lookup_count_after_us": _per_review_us(
            lambda ts: Counter(filter(linear._is_index, map(vocabulary.get, ts))), terms
        ),
        "score_before_us": _per_review_us(plain.positive_probability, reviews),
        "score_after_us": _per_review_us(scorer.positive_probability, reviews),
    }


def main() -> int:
    model_dir, test_csv = Path(sys.argv[1]), Path(sys.argv[2])
    reviews = pd.read_csv(test_csv)["review"].astype(str).tolist()
    print(json.dumps(stages(model_dir, reviews), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
