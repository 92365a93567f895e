"""The retraining decision: ``decision`` judges the monitor's and the feedback export's outcomes,
``cli`` runs both and writes the report (``python -m ml.retrain``)."""
