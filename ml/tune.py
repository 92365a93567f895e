"""Choose the model settings by k-fold cross-validation on the training pool: ``python -m ml.tune``.

The DVC ``tune`` stage, before ``train``. Every combination of ``tune.grid`` (train settings from
params.yaml, each with a list of values to try) is scored by stratified k-fold cross-validation
on ``data/train.csv`` alone: the hold-out is never read here, so it stays an honest estimate when
``ml.train`` scores the chosen settings on it once. Writes ``reports/tune.json`` (every
candidate's fold scores and the chosen settings, which ``ml.train`` reads) and logs the search to
MLflow: a parent run with the grid, one nested run per candidate.

The text analysis (cleaning, negation marking, n-grams) is the slow part and does not depend on
the labels, so it runs once per feature setting over the whole pool; each fold then keeps the
n-grams its own training part has (``min_df``/``max_df``) and weighs them with its own idf, which
gives exactly the features the pipeline's TfidfVectorizer would fit on that part
(tests/ml/test_tune.py checks that). The logistic regressions run in parallel threads.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize

from ml import lineage, tracking
from ml.data import read as dataset
from ml.errors import PipelineError, run_cli
from ml.features import NaiveBayesWeighter
from ml.files import atomic_write
from ml.model import SUBLINEAR_TF, build_classifier, preprocessor
from ml.params import GridValue, Params, TrainParams, TuneParams, load_params
from ml.settings import MLSettings
from ml.text import TOKEN_PATTERN

log = logging.getLogger(__name__)

REPORT = "tune.json"
METRIC = "accuracy"
# Settings that change the text analysis (one pass over the pool each) and those that only
# select its columns per fold; the rest (nb_alpha, C, max_iter) change only the model.
ANALYSIS_KEYS = ("negation", "ngram_max")
SELECTION_KEYS = ("min_df", "max_df")


@dataclass(frozen=True)
class Candidate:
    settings: dict[str, GridValue]  # the grid's values for this candidate
    params: TrainParams  # the full train settings it stands for
    fold_scores: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores, ddof=1)) if len(self.fold_scores) > 1 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "cv_mean": round(self.mean, 6),
            "cv_std": round(self.std, 6),
            "fold_scores": [round(s, 6) for s in self.fold_scores],
        }


@dataclass(frozen=True)
class TuneResult:
    candidates: list[Candidate]
    best: Candidate
    folds: int
    seed: int
    seconds: float


def expand_grid(train: TrainParams, grid: dict[str, list[GridValue]]) -> list[Candidate]:
    """Every combination of the grid's values, in a fixed order, as full train settings."""
    names = sorted(grid)
    candidates = []
    for values in itertools.product(*(grid[name] for name in names)):
        settings = dict(zip(names, values, strict=True))
        params = TrainParams.model_validate({**train.model_dump(), **settings})
        candidates.append(Candidate(settings=settings, params=params))
    return candidates


def _counts(texts: Sequence[str], params: TrainParams) -> sparse.csr_matrix:
    """n-gram counts of every review, with the pipeline's own analysis (no pruning yet)."""
    vectorizer = CountVectorizer(
        preprocessor=preprocessor(params),
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, params.ngram_max),
        dtype=np.float32,
    )
    return vectorizer.fit_transform(texts).tocsr()


def fold_features(
    counts: sparse.csr_matrix, train_rows: np.ndarray, other_rows: np.ndarray, params: TrainParams
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """TF-IDF of both parts, fitted on ``train_rows`` only: what TfidfVectorizer.fit would give."""
    fitted = counts[train_rows]
    documents = fitted.shape[0]
    frequency = np.bincount(fitted.indices, minlength=fitted.shape[1])
    highest = params.max_df * documents  # a float max_df is a share of the documents
    keep = np.flatnonzero((frequency >= params.min_df) & (frequency <= highest))
    if keep.size == 0:
        raise PipelineError(
            f"no n-gram is in at least {params.min_df} and at most {highest:.0f} of a fold's "
            f"{documents} reviews; lower min_df or use more data"
        )
    idf = (np.log((1 + documents) / (1 + frequency[keep])) + 1).astype(np.float32)

    def weigh(rows: np.ndarray) -> sparse.csr_matrix:
        matrix = counts[rows][:, keep].tocsr()
        if SUBLINEAR_TF:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1
        return normalize(matrix.multiply(idf).tocsr(), norm="l2", copy=False)

    return weigh(train_rows), weigh(other_rows)


def _group(candidates: list[Candidate], keys: Sequence[str]) -> dict[tuple, list[Candidate]]:
    groups: dict[tuple, list[Candidate]] = {}
    for candidate in candidates:
        key = tuple(getattr(candidate.params, name) for name in keys)
        groups.setdefault(key, []).append(candidate)
    return groups


def cross_validate(
    texts: Sequence[str],
    labels: np.ndarray,
    train: TrainParams,
    tune: TuneParams,
    grid: dict[str, list[GridValue]] | None = None,
) -> TuneResult:
    """Score every candidate of the grid by stratified k-fold CV; the best mean accuracy wins.

    Ties go to the candidate listed first (the grid's values in the order written).
    """
    started = time.perf_counter()
    candidates = expand_grid(train, grid if grid is not None else tune.grid)
    labels = np.asarray(labels)
    smallest_class = int(np.bincount(labels, minlength=2).min())
    if smallest_class < tune.folds:
        raise PipelineError(
            f"{tune.folds}-fold cross-validation needs at least {tune.folds} reviews of each "
            f"label; the training data has {smallest_class} of one"
        )
    splits = list(
        StratifiedKFold(n_splits=tune.folds, shuffle=True, random_state=tune.seed).split(
            np.zeros(len(labels)), labels
        )
    )
    jobs = tune.jobs or os.cpu_count() or 1
    scores: dict[tuple[int, int], float] = {}
    index = {id(candidate): number for number, candidate in enumerate(candidates)}
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tune") as pool:
        for analysis_key, analysed in _group(candidates, ANALYSIS_KEYS).items():
            analysis_started = time.perf_counter()
            counts = _counts(texts, analysed[0].params)
            log.info(
                "%s: %d n-grams in %.1f s",
                dict(zip(ANALYSIS_KEYS, analysis_key, strict=True)),
                counts.shape[1],
                time.perf_counter() - analysis_started,
            )
            for fold, (train_rows, other_rows) in enumerate(splits):
                # Every fit of the fold is queued before any result is awaited, so both threads
                # stay busy; the fold's matrices are released before the next fold's are built.
                pending = []
                for selected in _group(analysed, SELECTION_KEYS).values():
                    features, held = fold_features(
                        counts, train_rows, other_rows, selected[0].params
                    )
                    for weighted in _group(selected, ("nb_alpha",)).values():
                        weighter = NaiveBayesWeighter(alpha=weighted[0].params.nb_alpha)
                        weighter.fit(features, labels[train_rows])
                        fit_on, score_on = weighter.transform(features), weighter.transform(held)
                        pending += [
                            (
                                (index[id(c)], fold),
                                pool.submit(
                                    _fit_and_score,
                                    c.params,
                                    fit_on,
                                    labels[train_rows],
                                    score_on,
                                    labels[other_rows],
                                ),
                            )
                            for c in weighted
                        ]
                for key, future in pending:
                    scores[key] = future.result()
    for number, candidate in enumerate(candidates):
        candidate.fold_scores.extend(scores[(number, fold)] for fold in range(len(splits)))
    best = max(candidates, key=lambda c: (c.mean, -candidates.index(c)))
    return TuneResult(candidates, best, tune.folds, tune.seed, time.perf_counter() - started)


def _fit_and_score(
    params: TrainParams,
    features: sparse.csr_matrix,
    labels: np.ndarray,
    held: sparse.csr_matrix,
    held_labels: np.ndarray,
) -> float:
    classifier = build_classifier(params).fit(features, labels)
    return float(np.mean(classifier.predict(held) == held_labels))


def report(result: TuneResult, tune: TuneParams, grid: dict, data_md5: str) -> dict[str, Any]:
    return {
        "metric": METRIC,
        "folds": result.folds,
        "seed": result.seed,
        "grid": grid,
        "data_md5": data_md5,
        "seconds": round(result.seconds, 1),
        "jobs": tune.jobs or os.cpu_count() or 1,
        "best": result.best.as_dict(),
        "chosen": result.best.params.model_dump(),
        "candidates": [c.as_dict() for c in result.candidates],
    }


def log_to_mlflow(settings: MLSettings, summary: dict[str, Any]) -> str:
    """A parent run with the grid and the winner, a nested run per candidate; the parent's id."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

    client = tracking.connect(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    now = int(time.time() * 1000)
    parent = client.create_run(
        experiment_id,
        run_name="tune",
        tags={"stage": "tune", "data_md5": summary["data_md5"]},
    )
    parent_id = parent.info.run_id
    client.log_batch(
        parent_id,
        params=[
            Param("folds", str(summary["folds"])),
            Param("seed", str(summary["seed"])),
            Param("grid", json.dumps(summary["grid"], sort_keys=True)[:6000]),
            Param("candidates", str(len(summary["candidates"]))),
            *(Param(f"chosen_{k}", str(v)) for k, v in summary["chosen"].items()),
        ],
        metrics=[
            Metric("best_cv_accuracy", summary["best"]["cv_mean"], now, 0),
            Metric("best_cv_accuracy_std", summary["best"]["cv_std"], now, 0),
            Metric("tune_seconds", summary["seconds"], now, 0),
        ],
    )
    client.log_dict(parent_id, summary, "tune/tune.json")
    for number, candidate in enumerate(summary["candidates"]):
        name = ",".join(f"{k}={v}" for k, v in candidate["settings"].items())
        child = client.create_run(
            experiment_id,
            run_name=f"cv {number}: {name}"[:250],
            tags={MLFLOW_PARENT_RUN_ID: parent_id, "stage": "tune-candidate"},
        )
        client.log_batch(
            child.info.run_id,
            params=[Param(k, str(v)) for k, v in candidate["settings"].items()],
            metrics=[
                Metric("cv_accuracy", candidate["cv_mean"], now, 0),
                Metric("cv_accuracy_std", candidate["cv_std"], now, 0),
                *(
                    Metric("fold_accuracy", score, now, fold)
                    for fold, score in enumerate(candidate["fold_scores"])
                ),
            ],
            tags=[RunTag(MLFLOW_RUN_NAME, f"cv {number}: {name}"[:250])],
        )
        client.set_terminated(child.info.run_id)
    client.set_terminated(parent_id)
    return parent_id


def read_choice(path: Path, data_md5: str) -> dict[str, Any]:
    """The tune report ml.train uses; it must come from the same training data."""
    try:
        chosen = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(
            f"{path} not found; run python -m ml.tune (or dvc repro) first"
        ) from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path} is not valid JSON: {error}") from None
    if chosen.get("data_md5") != data_md5:
        raise PipelineError(
            f"{path} was tuned on training data with md5 {chosen.get('data_md5')}, but "
            f"data/train.csv has md5 {data_md5}; run python -m ml.tune (or dvc repro) again"
        )
    return chosen


def choose(params: TrainParams, chosen: dict[str, Any]) -> TrainParams:
    """params.yaml's train settings with the winning grid values applied."""
    return TrainParams.model_validate({**params.model_dump(), **chosen["best"]["settings"]})


def _load_grid(path: Path, params: Params) -> dict[str, list[GridValue]]:
    try:
        grid = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PipelineError(f"cannot read the grid {path}: {error}") from None
    try:
        checked = Params.model_validate(
            {**params.model_dump(), "tune": {**params.tune.model_dump(), "grid": grid}}
        )
    except ValueError as error:
        raise PipelineError(f"grid {path} is invalid: {error}") from None
    return checked.tune.grid


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.tune", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--grid", type=Path, help="a YAML grid to search instead of params.yaml's tune.grid"
    )
    parser.add_argument("--out", type=Path, help=f"report path [reports/{REPORT}]")
    args = parser.parse_args(argv)
    settings = MLSettings()
    params = load_params(settings.path(settings.params_file))
    grid = _load_grid(settings.path(args.grid), params) if args.grid else params.tune.grid
    frame = dataset.read_split(settings.data_dir, "train")
    data_md5 = lineage.file_digest(settings.data_dir / "train.csv")
    result = cross_validate(
        frame["review"].to_numpy(dtype=str),
        frame["label"].to_numpy(),
        params.train,
        params.tune,
        grid,
    )
    summary = report(result, params.tune, grid, data_md5)
    summary["mlflow_run_id"] = log_to_mlflow(settings, summary)
    out = settings.path(args.out) if args.out else settings.reports_dir / REPORT
    atomic_write(out, (json.dumps(summary, indent=2) + "\n").encode())
    log.info(
        "%d candidates, %d-fold CV in %.1f s; chosen %s (cv accuracy %.4f +- %.4f)",
        len(result.candidates),
        result.folds,
        result.seconds,
        result.best.settings,
        result.best.mean,
        result.best.std,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.tune", main, None))
