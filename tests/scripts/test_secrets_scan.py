"""`make secrets-scan` (scripts/secrets_scan.py) fails on a planted secret and on unaudited ones.

The planted values are made up at run time, so no secret-looking text is ever committed; the
scan runs through the real Makefile target with detect-secrets, on temporary files.
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def planted_aws_key() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def make_scan(files: list[Path], baseline: Path | None = None) -> subprocess.CompletedProcess[str]:
    # -o: never rebuild .venv from here; the scan only needs detect-secrets, which it has.
    command = ["make", "-o", ".venv/.installed", "--no-print-directory", "secrets-scan"]
    command.append("SECRETS_SCAN_FILES=" + " ".join(str(path) for path in files))
    if baseline is not None:
        command.append(f"SECRETS_BASELINE={baseline}")
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def config_with(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "settings.py"
    path.write_text(f'AWS_ACCESS_KEY_ID = "{value}"\n', encoding="utf-8")
    return path


def baseline_for(tmp_path: Path, files: list[Path], is_secret: bool | None) -> Path:
    """A baseline of these files (detect-secrets' own format), every finding labelled so."""
    from detect_secrets.core import baseline
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    with default_settings():
        found = SecretsCollection()
        for path in files:
            found.scan_file(str(path))
        data = baseline.format_for_output(found)
    assert data["results"], "detect-secrets found nothing to baseline"
    for findings in data["results"].values():
        for finding in findings:
            finding["is_secret"] = is_secret
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_planted_secret_fails_the_scan_without_printing_it(tmp_path: Path) -> None:
    value = planted_aws_key()
    planted = config_with(tmp_path, value)
    result = make_scan([planted])
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"{planted}:1: AWS Access Key: new, not in .secrets.baseline" in output
    assert value not in output


def test_an_ansible_vault_encrypted_file_passes(tmp_path: Path) -> None:
    """What inventories/production/group_vars/vault.yml.example tells operators to commit."""
    encrypted = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/ansible-vault"), "encrypt_string", "--vault-password-file",
         "/dev/stdin", "--name", "secret_backend_api_key", planted_aws_key()],
        input=secrets.token_hex(16), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    whole_file = tmp_path / "vault.yml"
    body = "".join(line.strip() + "\n" for line in encrypted.splitlines()[1:])
    whole_file.write_text(body, encoding="utf-8")
    assert body.startswith("$ANSIBLE_VAULT;")
    result = make_scan([whole_file])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_clean_file_passes(tmp_path: Path) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text('GREETING = "hello"\n', encoding="utf-8")
    result = make_scan([clean])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secrets-scan: 1 files, 0 finding(s)" in result.stdout


@pytest.mark.parametrize(
    ("is_secret", "passes", "expected"),
    [
        pytest.param(None, False, "in {baseline} but not audited", id="unaudited"),
        pytest.param(True, False, "audited as a real secret", id="audited-real"),
        pytest.param(False, True, "every one an audited false positive", id="audited-false"),
    ],
)
def test_only_findings_audited_as_false_positives_pass(
    tmp_path: Path, is_secret: bool | None, passes: bool, expected: str
) -> None:
    value = planted_aws_key()
    planted = config_with(tmp_path, value)
    baseline = baseline_for(tmp_path, [planted], is_secret)
    before = baseline.read_text(encoding="utf-8")
    result = make_scan([planted], baseline)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) is passes, output
    assert expected.format(baseline=baseline) in output
    assert value not in output
    assert baseline.read_text(encoding="utf-8") == before, "the scan rewrote the baseline"


def test_the_baseline_is_reviewed() -> None:
    """Every entry of the committed baseline carries an audit label (false positive)."""
    data = json.loads((REPO_ROOT / ".secrets.baseline").read_text(encoding="utf-8"))
    labels = {
        (filename, finding["line_number"]): finding.get("is_secret")
        for filename, findings in data["results"].items()
        for finding in findings
    }
    assert labels
    assert set(labels.values()) == {False}, labels
