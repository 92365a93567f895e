"""Fixtures for the container image tests: a Docker engine, both images built once per session."""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Debian's client: BuildKit secrets work with it; the newer /usr/local/bin/docker needs buildx.
DOCKER = os.environ.get("RP_DOCKER", "/usr/bin/docker")
PREFIX = "rp-img-test"


@dataclass(frozen=True)
class BuiltImages:
    backend: str
    frontend: str
    git_sha: str
    version: str
    model_name: str
    model_version: str
    model_sha256: str
    code_sha256: str
    build_seconds: float
    build_log: str


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout
    )


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """The Docker client path, or skip when no engine answers."""
    if not Path(DOCKER).is_file():
        pytest.skip(f"no Docker client at {DOCKER} (apt-get install docker.io)")
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip("the Docker engine did not answer `docker info` within 30 s")
    if info.returncode != 0:
        pytest.skip(f"no Docker engine answers (`docker info`: {info.stderr.strip()[:200]})")
    return DOCKER


def _git_sha() -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@pytest.fixture(scope="session")
def built_images(
    docker_engine: str, exported_model: Path, subprocess_env: dict[str, str]
) -> Iterator[BuiltImages]:
    """Both images, built once with scripts/build-images.sh from the session's exported model.

    The script stages its own build context for a model folder outside build/, so the
    repository's build/ is not touched. Tags are unique to this session and removed at the end.
    """
    card = json.loads((exported_model / "model_card.json").read_text())
    git_sha = _git_sha()
    tag = f"{git_sha[:12]}-m{card['version']}-{uuid.uuid4().hex[:8]}"
    env = {
        **subprocess_env,
        "DOCKER": docker_engine,
        "MODEL_DIR": str(exported_model),
        "IMAGE_PREFIX": PREFIX,
        "TAG": tag,
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-images.sh")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    seconds = time.monotonic() - started
    references = result.stdout.split()
    try:
        assert result.returncode == 0, f"build-images.sh failed:\n{result.stderr[-4000:]}"
        assert references == [f"{PREFIX}/backend:{tag}", f"{PREFIX}/frontend:{tag}"], references
        pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
        yield BuiltImages(
            backend=references[0],
            frontend=references[1],
            git_sha=git_sha,
            version=pyproject["project"]["version"],
            model_name=card["name"],
            model_version=str(card["version"]),
            model_sha256=card["model_sha256"],
            code_sha256=card["code_sha256"],
            build_seconds=seconds,
            build_log=result.stderr,
        )
    finally:
        for reference in (f"{PREFIX}/backend:{tag}", f"{PREFIX}/frontend:{tag}"):
            docker("rmi", "-f", reference, check=False)


def inspect_image(reference: str) -> dict:
    return json.loads(docker("image", "inspect", reference).stdout)[0]
