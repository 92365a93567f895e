"""Names the training side (ml/) and the serving side (app/) agree on, defined once.

Free of imports: the backend image ships ``ml/`` and reads these without MLflow or pandas.
"""

MODEL_NAME = "imdb-sentiment"
"""The registered model's name (``RP_MODEL_NAME`` overrides it for ml/)."""

MODEL_FILE = "model.pkl"
"""The pickled pipeline in a logged model's folder and in an export."""

CARD_NAME = "model_card.json"
"""The export's lineage and checksum card, beside ``MODEL_FILE``."""

CANDIDATE_ALIAS = "candidate"
"""The alias ml.train points at each new version."""

CHAMPION_ALIAS = "champion"
"""The alias the gate moves to a candidate that passes; what gets exported and served."""
