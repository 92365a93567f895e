"""The backend image runs its operations commands: the preStop drain the Kubernetes manifests
name, and the dead-letter CLI the READMEs document."""

from __future__ import annotations

import pytest

from tests.images.conftest import BuiltImages, docker

pytestmark = pytest.mark.integration


def test_the_prestop_drain_runs_in_the_image(built_images: BuiltImages) -> None:
    result = docker(
        "run", "--rm", built_images.backend, "python", "-m", "app.backend.drain", "--timeout", "5",
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"message":"spool empty"' in result.stdout


def test_the_dead_letter_cli_runs_in_the_image(built_images: BuiltImages) -> None:
    result = docker(
        "run", "--rm", built_images.backend, "python", "-m", "app.backend.deadletters", "list",
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 dead letter(s)" in result.stderr
