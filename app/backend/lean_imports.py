"""Keep libraries the service never calls out of its process while the model is loaded.

scikit-learn imports pandas at import time whenever it is installed (``sklearn.utils.fixes``),
only to handle DataFrame input. The service passes sklearn numpy arrays of strings, and its image
does not ship pandas at all (the ``backend`` extra has none), so there sklearn runs without it. In
a development environment that has pandas (the ``ml`` extra), the same import costs about 85 MB
of resident memory (pandas, and pyarrow through it) that nothing in the service uses.

``hidden`` makes ``import pandas`` fail as it does in the image, only while the model's pickle is
loaded (the first import of sklearn in the service), so that every process of the service loads
what the image loads. Code that imported pandas before (``MODEL_URI`` imports mlflow, which needs
it) keeps it: a module already imported is never hidden. Afterwards pandas can be imported again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Imported by sklearn when present, never called on the service's path.
UNUSED_BY_THE_SERVICE = ("pandas",)


@contextmanager
def hidden(names: tuple[str, ...] = UNUSED_BY_THE_SERVICE) -> Iterator[None]:
    """``import name`` raises ImportError inside the block for each name not yet imported."""
    # None in sys.modules is the import system's own marker for "this import fails".
    hiding = [name for name in names if name not in sys.modules]
    for name in hiding:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hiding:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
