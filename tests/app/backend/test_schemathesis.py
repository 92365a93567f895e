"""Property-based API tests: every operation, every check, no server error, conforming responses.

schemathesis 4.32's ``from_fixture`` breaks on pytest 9 (``Function._nodeid``), so the test
drives each operation's hypothesis strategy itself. Schemathesis runs the app's lifespan (once,
shut down at the end of the session).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from app.backend.main import create_app
from tests.app.backend.conftest import make_settings

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 30


def test_api_conforms(tiny_model: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, model_path=tiny_model))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    statuses: set[int] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    cases = [(op, mode) for op in operations for mode in GenerationMode]
    for operation, mode in cases:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate()
            statuses.add(response.status_code)
            assert response.status_code < 500, response.text

        try:
            check()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to break in it
        except Exception as error:
            failures[f"{operation.label} ({mode})"] = str(error)[:2000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert {200, 422} <= statuses, statuses  # valid and invalid inputs were both exercised
