"""The data: ``prepare`` makes a version from the raw reviews, ``read`` reads it back.

``python -m ml.data --version N`` runs the preparation (``__main__``).
"""
