"""playbooks/build.yml (the image_build role) stops before building, naming the command to run,
when a tool is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.playbooks.conftest import ansible_playbook

pytestmark = pytest.mark.integration


def _build(tmp_path: Path, **extra_vars: object) -> str:
    project = tmp_path / "project"
    project.mkdir()
    result = ansible_playbook(
        "playbooks/build.yml",
        extra_vars={
            "platform_project_dir": str(project),
            "image_build_export_champion": False,
            **extra_vars,
        },
        tmp_path=tmp_path,
    )
    assert result.returncode != 0, result.stdout
    assert not (project / "build" / "images.json").exists()
    return " ".join(result.stdout.split())


def test_no_exported_model_names_the_export_command(tmp_path: Path) -> None:
    output = _build(tmp_path)
    assert "No exported model at" in output
    assert "make export MODEL_ALIAS=champion MODEL_OUT=build/model" in output
    assert "Nothing was built" in output


def test_no_docker_engine_says_what_to_install(tmp_path: Path) -> None:
    output = _build(tmp_path, image_build_docker=str(tmp_path / "no-such-docker"))
    assert "No Docker engine answers" in output
    assert "make docker-engine" in output
