"""What ``explain: true`` costs per review: ``make bench-explain`` (``python -m bench.explain``).

Trains and exports a data-v2 model in a scratch project (bench/serve.py's ``export_model``, not
timed), loads it the way the service does, then on hold-out reviews, review by review in one
loop, times side by side:
- the default path: ``Predictor.positive_probabilities`` (what ``/predict`` scores with);
- the extra work of ``explain: true``: ``Predictor.explain`` plus shaping the response's
  ``explanation`` (top terms per label, the rest summed), exactly what the route adds.
The figure is the median of the per-review cost of the explanation (target < 1 ms), with both
paths' p50 / p99 and their ratio. ``make bench-serve`` reports the same measurement. Results go
to ``bench/results/explain.json`` and a Markdown table on stdout for docs/benchmarks.md.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "explain.json"
CALLS = 4000
TARGET_EXPLAIN_P50_MS = 1.0


def _quantiles_ms(seconds: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(seconds, n=100)
    return round(statistics.median(seconds) * 1000, 4), round(cuts[98] * 1000, 4)


def explain_overhead(model_dir: Path, reviews: list[str], calls: int = CALLS) -> dict[str, object]:
    """Default scoring and the explanation's extra work, one review per call, interleaved."""
    from app.backend.explanations import as_output
    from app.backend.model import load_folder
    from app.backend.schemas import EXPLAIN_TOP_TERMS

    predictor = load_folder(model_dir)
    if not predictor.fast_path:
        return {"fast_path": False, "reason": predictor.scorer.reason}
    default: list[float] = []
    explained: list[float] = []
    terms: list[int] = []
    for index in range(calls):
        batch = [reviews[index % len(reviews)]]
        started = time.perf_counter()
        predictor.positive_probabilities(batch)
        scored = time.perf_counter()
        (explanation,) = predictor.explain(batch)
        as_output(explanation, EXPLAIN_TOP_TERMS)
        finished = time.perf_counter()
        default.append(scored - started)
        explained.append(finished - scored)
        terms.append(len(explanation.contributions))
    default_p50, default_p99 = _quantiles_ms(default)
    explain_p50, explain_p99 = _quantiles_ms(explained)
    return {
        "fast_path": True,
        "calls": calls,
        "review_terms_median": statistics.median(terms),
        "default_p50_ms": default_p50,
        "default_p99_ms": default_p99,
        "explain_extra_p50_ms": explain_p50,
        "explain_extra_p99_ms": explain_p99,
        "explain_to_default_p50_ratio": round(explain_p50 / default_p50, 2),
    }


def markdown(result: dict[str, object]) -> str:
    met = "met" if float(result["explain_extra_p50_ms"]) < TARGET_EXPLAIN_P50_MS else "MISSED"
    return "\n".join(
        [
            "| measure (one hold-out review per call) | p50 (ms) | p99 (ms) |",
            "|---|---|---|",
            f"| default path: `Predictor.positive_probabilities` | {result['default_p50_ms']} | "
            f"{result['default_p99_ms']} |",
            f"| added by `explain: true`: `Predictor.explain` + the response's `explanation` | "
            f"**{result['explain_extra_p50_ms']}** | {result['explain_extra_p99_ms']} |",
            "",
            f"Explanation / default p50: {result['explain_to_default_p50_ratio']}x over "
            f"{result['calls']} calls (median {result['review_terms_median']} known n-grams per "
            f"review). Target: explain adds < {TARGET_EXPLAIN_P50_MS} ms p50 per review: "
            f"**{met}**.",
        ]
    )


def main() -> int:
    from bench.serve import export_model

    with tempfile.TemporaryDirectory(prefix="rp-bench-explain-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir = export_model(scratch)
        reviews = pd.read_csv(scratch / "data" / "test.csv")["review"].astype(str).tolist()
        result = explain_overhead(model_dir, reviews)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if not result["fast_path"]:
        print(f"bench-explain: no compiled scorer ({result['reason']})", file=sys.stderr)
        return 1
    print(markdown(result))
    return 0 if float(result["explain_extra_p50_ms"]) < TARGET_EXPLAIN_P50_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
