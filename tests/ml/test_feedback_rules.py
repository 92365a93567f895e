"""The feedback rules on small frames: deduplication, conflicts, overlap, labels, lineage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ml.errors import PipelineError
from ml.feedback.compose import compose
from ml.feedback.lineage import feedback_tags
from ml.feedback.rows import EXPORT_COLUMNS, check_labels, time_range
from ml.params import load_params
from ml.store import redacted
from tests.ml.conftest import TEST_PARAMS


def _export(*verdicts: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (f"{index:032x}", text, label, f"2026-11-0{1 + index % 9}T00:00:00+00:00", "")
            for index, (text, label) in enumerate(verdicts)
        ],
        columns=EXPORT_COLUMNS,
    )


POOL = pd.DataFrame({"review": ["a review from the pool"], "label": [1]})
HOLDOUT = pd.DataFrame({"review": ["a review from the hold-out"], "label": [0]})


def test_majority_wins_and_a_tie_is_dropped() -> None:
    export = _export(
        ("great", "positive"),
        ("great", "positive"),
        ("great", "negative"),
        ("fine", "positive"),
        ("fine", "negative"),
        ("awful", "negative"),
    )
    rows, counts = compose(export, POOL, HOLDOUT, "majority")
    assert rows.to_dict("records") == [
        {"review": "great", "label": 1},
        {"review": "awful", "label": 0},
    ]
    assert counts.conflicting_reviews == 2
    assert counts.conflicts_resolved_by_majority == 1
    assert counts.conflicts_dropped == 1
    assert counts.duplicate_verdicts == 3


def test_drop_rule_keeps_no_contradicted_review() -> None:
    export = _export(("great", "positive"), ("great", "positive"), ("great", "negative"))
    rows, counts = compose(export, POOL, HOLDOUT, "drop")
    assert rows.empty
    assert (counts.conflicts_dropped, counts.usable_reviews) == (1, 0)


def test_markup_and_spacing_do_not_make_a_new_review() -> None:
    export = _export(
        ("A fine <i>film</i> indeed.", "positive"),
        ("A fine  film <br />indeed.", "positive"),
        ("a review from the <b>hold-out</b>", "positive"),
        (" a review from the pool ", "negative"),
        ("<br />", "positive"),
    )
    rows, counts = compose(export, POOL, HOLDOUT, "majority")
    assert rows.to_dict("records") == [{"review": "A fine film indeed.", "label": 1}]
    assert counts.reviews == 3
    assert counts.duplicate_verdicts == 1
    assert counts.holdout_reviews_dropped == 1
    assert counts.pool_reviews_dropped == 1
    assert counts.rows_without_text == 1
    assert counts.usable_reviews == 1


def test_unknown_labels_refuse_the_export() -> None:
    export = _export(("a", "positive"), ("b", "meh"), ("c", "meh"), ("d", "NEGATIVE"))
    with pytest.raises(PipelineError) as error:
        check_labels(export)
    message = str(error.value)
    assert "3 of 4 feedback rows have an unknown label" in message
    assert "2 rows have the label 'meh'" in message
    assert "1 rows have the label 'NEGATIVE'" in message


def test_time_range_and_lineage_tags() -> None:
    export = _export(("a", "positive"), ("b", "negative"), ("c", "negative"))
    assert time_range(export) == ("2026-11-01T00:00:00+00:00", "2026-11-03T00:00:00+00:00")
    manifest = {
        "feedback": {
            "rows": 3,
            "sha256": "ab" * 32,
            "feedback_from": "2026-11-01T00:00:00+00:00",
            "feedback_to": "2026-11-03T00:00:00+00:00",
            "conflict_rule": "majority",
            "counts": {"usable_reviews": 2},
        }
    }
    assert feedback_tags(manifest) == {
        "feedback_rows": "3",
        "feedback_sha256": "ab" * 32,
        "feedback_from": "2026-11-01T00:00:00+00:00",
        "feedback_to": "2026-11-03T00:00:00+00:00",
        "feedback_used_rows": "2",
        "feedback_conflict_rule": "majority",
    }
    assert feedback_tags({"data_version": 2}) == {}


def test_redacted_hides_only_the_password() -> None:
    shown = redacted("postgresql+psycopg://rp:hunter2@db.internal:5432/predictions")
    assert shown == "postgresql+psycopg://rp:***@db.internal:5432/predictions"
    assert redacted("not a url") == "(not a database URL)"


@pytest.mark.parametrize(
    ("feedback", "versions", "message"),
    [
        ({"data_version": 7}, None, "feedback.data_version 7 is not one of data.versions"),
        ({}, {1: 3000, 2: None, 3: 500, 9: 40}, r"data.versions\[3\] must be null"),
        ({"conflict_rule": "latest"}, None, "feedback.conflict_rule"),
        ({"min_rows": 0}, None, "feedback.min_rows"),
    ],
)
def test_feedback_params_are_validated(
    tmp_path: Path, feedback: dict, versions: dict | None, message: str
) -> None:
    params = {**TEST_PARAMS, "feedback": {**TEST_PARAMS["feedback"], **feedback}}
    if versions is not None:
        params["data"] = {**TEST_PARAMS["data"], "versions": versions}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(PipelineError, match=message):
        load_params(path)


def test_repository_feedback_version_is_the_whole_pool(repo_root: Path) -> None:
    params = load_params(repo_root / "params.yaml")
    assert params.data.versions[params.feedback.data_version] is None
    assert params.feedback.min_rows >= 100
