"""The promotion gate's parts, each usable on its own (ml.promote wires them together).

- ``paired``: candidate against champion, review by review on the same hold-out;
- ``behaviour``: the CheckList-style behavioural suite;
- ``rules``: every reason a candidate falls short;
- ``report``: the verdict as JSON and Markdown (MLflow artifact, model card).
"""
