"""Export the users' verdicts as the feedback snapshot (``python -m ml.feedback`` runs ``main``).

Reads every prediction with a verdict from ``DATABASE_URL``, refuses unknown labels, applies
the rules in ml.feedback.compose against the training pool and the hold-out, and writes
``data/feedback.csv`` and ``data/feedback.json`` only when at least ``feedback.min_rows``
usable reviews remain. Prints the record as JSON. ``dvc repro`` with ``data.version`` set to
``feedback.data_version`` (or ``python -m ml.data --version N``) then prepares the data version.

Exit status: 0 written (or, with ``--check``, enough feedback), 3 too few usable reviews (nothing
written), 2 bad input (no database, an unknown label, ...).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from typing import Any

from ml.data.prepare import load_raw, prepare
from ml.feedback import rows as exporting
from ml.feedback.compose import compose
from ml.feedback.dataset import TooFewFeedbackError, require_min_rows
from ml.feedback.export import read_feedback
from ml.feedback.snapshot import write_snapshot
from ml.params import load_params
from ml.settings import MLSettings
from ml.store import StoreSettings, open_store

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.feedback", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="apply every rule and report, but write nothing"
    )
    args = parser.parse_args(argv)
    settings = MLSettings()
    store = StoreSettings()
    params = load_params(settings.path(settings.params_file))

    engine = open_store(store.database_url, store.connect_timeout_seconds)
    try:
        export = read_feedback(engine)
    finally:
        engine.dispose()
    exporting.check_labels(export)
    if export.empty:
        raise TooFewFeedbackError(
            f"0 feedback rows in the store, fewer than the minimum {params.feedback.min_rows} "
            "(params.yaml feedback.min_rows). Nothing was written."
        )

    version = params.feedback.data_version
    prepared = prepare(load_raw(params.data, settings.project_dir), params.data, version)
    _, counts = compose(export, prepared.train, prepared.test, params.feedback.conflict_rule)
    require_min_rows(counts, params.feedback.min_rows)

    payload = exporting.export_bytes(export)
    first, last = exporting.time_range(export)
    record: dict[str, Any] = {
        "data_version": version,
        "rows": len(export),
        "sha256": exporting.sha256(payload),
        "feedback_from": first,
        "feedback_to": last,
        "conflict_rule": params.feedback.conflict_rule,
        "counts": counts.as_dict(),
    }
    if not args.check:
        write_snapshot(settings.data_dir, payload, record)
    print(json.dumps(record, indent=2))
    log.info(
        "%s %s verdicts (%s to %s): %s usable reviews for data version %s",
        "checked" if args.check else "exported",
        record["rows"],
        first,
        last,
        counts.usable_reviews,
        version,
    )
    return 0
