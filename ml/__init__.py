"""Data preparation, training, the promotion gate and export for the sentiment model.

Kept free of imports: the package is copied next to every logged model (MLflow ``code_paths``)
so that the pickled pipeline can find its own components when it is loaded elsewhere.
"""
