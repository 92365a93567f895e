"""Names the training side (ml/) and the serving side (app/) agree on, defined once.

Free of imports: the backend image ships ``ml/`` and reads these without MLflow or pandas.
"""

MODEL_NAME = "imdb-sentiment"
"""The registered model's name (``RP_MODEL_NAME`` overrides it for ml/)."""

MODEL_FILE = "model.pkl"
"""The pickled pipeline in a logged model's folder and in an export."""

CODE_PACKAGE = "code/ml"
"""The preprocessing code the pickle was trained with, beside ``MODEL_FILE`` (MLflow code_paths)."""

CARD_NAME = "model_card.json"
"""The export's lineage and checksum card, beside ``MODEL_FILE``."""

GATE_REPORT_NAME = "gate_report.md"
"""The gate's report for the exported version, beside the card (and in the run's artifacts)."""

CANDIDATE_ALIAS = "candidate"
"""The alias ml.train points at each new version."""

CHAMPION_ALIAS = "champion"
"""The alias the gate moves to a candidate that passes; what gets exported and served."""

MODEL_SHA256_TAG = "model_sha256"
"""Registry tag (and card key): sha256 of ``MODEL_FILE`` as ml.train logged it."""

CODE_SHA256_TAG = "code_sha256"
"""Registry tag (and card key): digest of ``CODE_PACKAGE`` (ml.integrity.code_digest)."""

CODE_FILES_TAG = "code_files"
"""Registry tag (and card key): each file of ``CODE_PACKAGE`` with its sha256, for diagnostics."""

TEST_MD5_TAG = "test_md5"
"""Registry tag: md5 of the hold-out a version was scored on; the gate compares only equal ones."""
