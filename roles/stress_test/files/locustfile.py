"""The stress_test role's load: real movie reviews POSTed to /predict, each answer checked.

Every simulated user sends a review picked at random from the lists below and marks the request
failed unless the answer is a 200 with a valid prediction (label positive/negative, probability
in [0, 1], a model version).

Two options are added to Locust's own:
  --timeline-file PATH     write, at exit, per-window request and failure counts and a latency
                           histogram (rounded like Locust's) for scripts/stress_report.py
  --timeline-interval S    the window, in seconds (default 5)
Locust's CSV history only has a trailing 10-second percentile and misses the last second, and its
JSON file (--json-file) has no latency over time: the timeline fills that gap.

The API key, when the backend requires one, is read from the file named by STRESS_API_KEY_FILE
(what the stress_test role uses), else from STRESS_API_KEY; never from the command line, which any
local user can read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

API_KEY_ENV = "STRESS_API_KEY"
API_KEY_FILE_ENV = "STRESS_API_KEY_FILE"
LABELS = frozenset({"positive", "negative"})

POSITIVE_REVIEWS = (
    "An absolute masterpiece. The performances are moving, the score is gorgeous and the final "
    "twenty minutes left the whole theatre in tears. I loved every minute of it.",
    "Funny, warm and beautifully shot. The two leads have wonderful chemistry and the script "
    "never talks down to its audience. Easily the best comedy I have seen this year.",
    "I went in expecting a routine thriller and came out stunned. Tight pacing, a clever plot "
    "and a brilliant villain. Highly recommended.",
    "A gentle, thoughtful drama with superb acting from the whole cast. It stayed with me for "
    "days afterwards.",
    "The animation is breathtaking and the story is full of heart. My kids adored it and, "
    "honestly, so did I.",
    "Smart, gripping and surprisingly touching. The director handles the big action scenes and "
    "the quiet moments equally well. A great film.",
    "One of those rare sequels that is better than the original: richer characters, sharper "
    "dialogue and a terrific soundtrack.",
    "A delightful surprise. Charming performances, a clever script and an ending that made me "
    "smile all the way home.",
    "Excellent from start to finish. The cinematography is stunning and the lead gives the "
    "performance of her career.",
    "A wonderful, uplifting film about friendship. Well written, well acted and never "
    "sentimental. I would happily watch it again.",
)

NEGATIVE_REVIEWS = (
    "Dreadful, boring and badly acted. The plot makes no sense and the jokes fall flat. A "
    "complete waste of two hours.",
    "I wanted to like this, but the script is lazy, the pacing is painfully slow and the ending "
    "is an insult. Avoid it.",
    "The worst film I have seen in years. Wooden acting, cheap effects and dialogue so clumsy "
    "that the audience laughed at the serious scenes.",
    "A dull, predictable mess. Every twist is telegraphed long in advance and none of the "
    "characters is worth caring about.",
    "Loud, messy and exhausting. The action scenes are incoherent and the story is an "
    "afterthought. I nearly walked out.",
    "Terrible. The lead looks bored throughout, the editing is sloppy and the whole thing feels "
    "like a first draft nobody bothered to fix.",
    "An awful remake that misses everything that made the original great. Flat, lifeless and "
    "far too long.",
    "Poorly written and badly directed. I kept checking my watch and regretted buying a ticket.",
    "A tedious, pretentious bore with no plot to speak of. The critics who praised it must have "
    "watched a different movie.",
    "Horrible pacing, weak performances and a ridiculous ending. Not even the soundtrack could "
    "save this disaster.",
)

REVIEWS = POSITIVE_REVIEWS + NEGATIVE_REVIEWS


def locust_rounded_ms(response_time: float) -> int:
    """Round a response time (ms) the way Locust's own histogram does: 2 significant digits."""
    if response_time < 100:
        return round(response_time)
    if response_time < 1000:
        return round(response_time, -1)
    if response_time < 10000:
        return round(response_time, -2)
    return round(response_time, -3)


def api_key() -> str:
    """The X-API-Key to send: from STRESS_API_KEY_FILE, else STRESS_API_KEY; empty for none."""
    key_file = os.environ.get(API_KEY_FILE_ENV, "")
    if key_file:
        return Path(key_file).read_text(encoding="utf-8").strip()
    return os.environ.get(API_KEY_ENV, "").strip()


def prediction_problem(status: int, payload: object) -> str | None:
    """Why an answer of POST /predict is not a valid prediction, or None when it is."""
    if status != 200:
        detail = payload.get("detail") if isinstance(payload, dict) else None
        return f"HTTP {status}: {str(detail)[:120]}" if detail else f"HTTP {status}"
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    if payload.get("label") not in LABELS:
        return f"invalid label {payload.get('label')!r}"
    probability = payload.get("probability")
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        return f"invalid probability {probability!r}"
    if not payload.get("model_version"):
        return "no model_version"
    return None


class Timeline:
    """Request counts, failures and a latency histogram per fixed window since the test start."""

    def __init__(self) -> None:
        self.interval = 5.0
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.requests: Counter[int] = Counter()
        self.failures: Counter[int] = Counter()
        self.response_times: dict[int, Counter[int]] = {}

    def start(self, now: float, interval: float) -> None:
        self.interval = interval
        self.started_at = now

    def record(self, now: float, response_time: float, failed: bool) -> None:
        if self.started_at is None:
            self.started_at = now
        window = max(0, int((now - self.started_at) // self.interval))
        self.requests[window] += 1
        if failed:
            self.failures[window] += 1
        self.response_times.setdefault(window, Counter())[locust_rounded_ms(response_time)] += 1

    def to_dict(self, errors: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "interval_s": self.interval,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "windows": [
                {
                    "index": window,
                    "requests": self.requests[window],
                    "failures": self.failures[window],
                    "response_times": {
                        str(ms): count for ms, count in sorted(self.response_times[window].items())
                    },
                }
                for window in sorted(self.requests)
            ],
            "errors": errors,
        }


TIMELINE = Timeline()


@events.init_command_line_parser.add_listener
def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeline-file", type=str, default="", help="write the per-window timeline here (JSON)"
    )
    parser.add_argument(
        "--timeline-interval", type=float, default=5.0, help="timeline window in seconds"
    )


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: object) -> None:
    interval = getattr(environment.parsed_options, "timeline_interval", 5.0) or 5.0
    TIMELINE.start(time.time(), float(interval))


@events.request.add_listener
def _on_request(response_time: float, exception: BaseException | None, **_kwargs: object) -> None:
    TIMELINE.record(time.time(), response_time, failed=exception is not None)


@events.test_stop.add_listener
def _on_test_stop(**_kwargs: object) -> None:
    TIMELINE.ended_at = time.time()


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: object) -> None:
    path = getattr(environment.parsed_options, "timeline_file", "")
    if not path:
        return
    if TIMELINE.ended_at is None:
        TIMELINE.ended_at = time.time()
    errors = sorted(
        (
            {
                "method": error.method,
                "name": error.name,
                "error": str(error.error),
                "occurrences": error.occurrences,
            }
            for error in environment.stats.errors.values()
        ),
        key=lambda error: -error["occurrences"],
    )
    Path(path).write_text(json.dumps(TIMELINE.to_dict(errors), indent=1) + "\n", encoding="utf-8")


class Reviewer(HttpUser):
    """A reader who submits a review, waits a moment, and submits another."""

    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        key = api_key()
        self.headers = {"X-API-Key": key} if key else {}

    @task
    def predict(self) -> None:
        text = random.choice(REVIEWS)  # noqa: S311 - picking a review, not a secret
        with self.client.post(
            "/predict", json={"text": text}, headers=self.headers, catch_response=True
        ) as response:
            try:
                payload: object = response.json()
            except ValueError:
                payload = None
            problem = (
                f"no answer: {response.error}"
                if response.status_code == 0
                else prediction_problem(response.status_code, payload)
            )
            if problem is None:
                response.success()
            else:
                response.failure(problem)
