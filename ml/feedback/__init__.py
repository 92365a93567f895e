"""Users' verdicts become data: ``python -m ml.feedback`` exports them as a snapshot.

``export`` reads the labelled predictions from the service's store, ``compose`` applies the
rules that turn them into training rows (deduplication, conflicts, hold-out and pool overlap),
``snapshot`` writes and verifies ``data/feedback.csv`` with its record ``data/feedback.json``,
and ``lineage`` turns the record into the tags a trained model carries. The feedback data
version (params.yaml ``feedback.data_version``) is prepared by ``ml.data`` from the snapshot.
"""
