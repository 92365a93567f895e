"""Watch live predictions: ``python -m ml.monitor`` compares a recent window with the reference.

``window`` reads the stored predictions, ``served`` loads the exported model, ``signals`` turns
reviews into the watched signals (length, out-of-vocabulary rate, confidence), ``reference``
scores the hold-out, ``drift`` runs the statistics through Evidently, ``verdict`` applies the
thresholds of params.yaml, and ``report`` writes the HTML report and the JSON summary.
"""
