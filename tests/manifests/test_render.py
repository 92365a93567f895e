"""Every kustomization renders, and validates against the pinned Kubernetes version's schemas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.manifests.conftest import MANIFESTS, TARGETS, Rendered, ident, kustomize


def kubernetes_validate(version: str, text: str) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate (the .venv pin) on YAML from stdin; its options come before `-`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "--kubernetes-version",
            version,
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_kustomization_renders(target: str) -> None:
    result = kustomize(MANIFESTS / target)
    assert result.returncode == 0, f"kubectl kustomize manifests/{target}:\n{result.stderr}"
    assert "kind:" in result.stdout, f"manifests/{target} rendered nothing"


def test_render_validates_against_the_pinned_kubernetes_version(
    rendered: Rendered, kubernetes_version: str
) -> None:
    result = kubernetes_validate(kubernetes_version, rendered.text)
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"manifests/{rendered.target} does not validate against Kubernetes "
        f"{kubernetes_version} (--strict):\n{output}"
    )
    assert "ERROR" not in output, output
    passed = output.count("passed for resource")
    assert passed == len(rendered.objects), (
        f"{passed} of {len(rendered.objects)} objects validated "
        f"({', '.join(ident(obj) for obj in rendered.objects)}):\n{output}"
    )


def test_the_validator_rejects_an_unknown_field(kubernetes_version: str) -> None:
    """--strict really is strict: without this, a validator that checks nothing would pass."""
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n"
    result = kubernetes_validate(kubernetes_version, service)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "portz" in result.stdout + result.stderr
