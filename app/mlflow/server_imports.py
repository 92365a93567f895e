"""Byte-compile the modules an MLflow server start imports (run once, in the image's builder).

The server, its stores for SQLite and PostgreSQL, its migrations' runner and the CLI are
imported, then every venv module loaded is compiled to an unchecked-hash .pyc beside it.
"""

import importlib
import py_compile
import sys

for name in (
    "mlflow.cli",
    "mlflow.server.fastapi_app",
    "mlflow.server.handlers",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.db.utils",
    "alembic.command",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite",
    "uvicorn",
):
    importlib.import_module(name)

count = 0
for module in list(sys.modules.values()):
    source = getattr(module, "__file__", None) or ""
    if source.startswith(sys.prefix) and source.endswith(".py"):
        py_compile.compile(
            source,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        count += 1
print(f"compiled {count} modules", file=sys.stderr)
