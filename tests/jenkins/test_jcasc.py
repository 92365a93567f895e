"""The jenkins role's JCasC template, rendered by Ansible with the role's defaults, is valid YAML
that defines every credential the job and the Jenkinsfile ask for, and holds no secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.jenkins.conftest import parse_groovy

pytestmark = pytest.mark.integration  # ansible-playbook renders the template

ROLE = REPO_ROOT / "roles" / "jenkins"
SECRETS = {
    "jenkins_admin_password": "render-test-admin-password",  # pragma: allowlist secret
    "jenkins_vault_approle_role_id": "render-test-role-id",
    "jenkins_vault_approle_secret_id": "render-test-secret-id",
}
REPOSITORY = "https://git.example.internal/rotten-potatoes.git"
REGISTRY = {
    "jenkins_registry_username": "ci-bot",
    "jenkins_registry_password": "render-test-registry-password",  # pragma: allowlist secret
}

RENDER_PLAYBOOK = """
- name: Render the jenkins role's templates with its defaults
  hosts: localhost
  connection: local
  gather_facts: false
  vars_files:
    - {role}/defaults/main.yml
    - {role}/vars/main.yml
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{role}/templates/{{{{ item }}}}.j2"
        dest: "{out}/{{{{ item }}}}"
        mode: "0600"
      loop: [jenkins.yaml, plugins.txt, override.conf]
"""


def render(tmp_path: Path, overrides: dict[str, Any]) -> dict[str, str]:
    """The role's templates as `ansible.builtin.template` writes them, by file name."""
    out = tmp_path / "rendered"
    out.mkdir()
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER_PLAYBOOK.format(role=ROLE, out=out), encoding="utf-8")
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({**overrides, "ansible_python_interpreter": sys.executable}), encoding="utf-8"
    )
    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            f"@{extra}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.name: path.read_text(encoding="utf-8") for path in out.iterdir()}


def credential_ids(casc: dict[str, Any]) -> set[str]:
    entries = casc["credentials"]["system"]["domainCredentials"][0]["credentials"]
    return {next(iter(entry.values()))["id"] for entry in entries}


@pytest.fixture(scope="module")
def with_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render(
        tmp_path_factory.mktemp("jcasc"),
        {
            **SECRETS,
            **REGISTRY,
            "jenkins_url": "https://ci.example.org/",
            "jenkins_job_repository": REPOSITORY,
        },
    )


@pytest.fixture(scope="module")
def without_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render(
        tmp_path_factory.mktemp("jcasc"), {**SECRETS, "jenkins_job_repository": REPOSITORY}
    )


def test_jcasc_is_yaml_with_a_locked_down_admin(with_registry: dict[str, str]) -> None:
    casc = yaml.safe_load(with_registry["jenkins.yaml"])
    realm = casc["jenkins"]["securityRealm"]["local"]
    assert realm["allowsSignup"] is False
    assert realm["users"] == [
        {"id": "admin", "name": "Administrator", "password": "${admin_password}"}
    ]
    assert casc["jenkins"]["authorizationStrategy"] == {
        "loggedInUsersCanDoAnything": {"allowAnonymousRead": False}
    }
    assert casc["unclassified"]["location"]["url"] == "https://ci.example.org/"


def test_no_secret_value_is_written_into_the_jcasc_file(with_registry: dict[str, str]) -> None:
    text = with_registry["jenkins.yaml"]
    for value in [*SECRETS.values(), REGISTRY["jenkins_registry_password"]]:
        assert value not in text
    assert "${vault_approle_secret_id}" in text
    assert "${readFileBase64:/var/lib/jenkins/casc_secrets/kubeconfig}" in text


def test_the_job_runs_the_jenkinsfile_from_scm_on_push_and_by_polling(
    with_registry: dict[str, str],
) -> None:
    casc = yaml.safe_load(with_registry["jenkins.yaml"])
    script = casc["jobs"][0]["script"]
    assert 'pipelineJob("rotten-potatoes")' in script
    assert f'url("{REPOSITORY}")' in script
    assert 'branch("*/main")' in script
    assert 'scriptPath("Jenkinsfile")' in script
    assert "githubPush()" in script
    assert 'scmpoll_spec("H/15 * * * *")' in script
    assert "disableConcurrentBuilds()" in script


def test_the_job_dsl_script_parses_as_groovy(with_registry: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "job.groovy"
    script.write_text(
        yaml.safe_load(with_registry["jenkins.yaml"])["jobs"][0]["script"], encoding="utf-8"
    )
    result = parse_groovy(script)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_credential_the_jenkinsfile_binds_is_defined(
    with_registry: dict[str, str], jenkinsfile_calls: list[dict[str, Any]]
) -> None:
    referenced = {
        call["named"]["credentialsId"]["value"]
        for call in jenkinsfile_calls
        if "credentialsId" in call["named"]
    }
    assert referenced, "the Jenkinsfile binds no credentials"
    defined = credential_ids(yaml.safe_load(with_registry["jenkins.yaml"]))
    assert referenced <= defined, (
        f"the Jenkinsfile binds credentials JCasC does not define: {referenced - defined}"
    )
    assert defined == {"kubeconfig", "vault-approle", "registry"}


def test_without_a_registry_login_there_is_no_registry_credential(
    without_registry: dict[str, str],
) -> None:
    casc = yaml.safe_load(without_registry["jenkins.yaml"])
    assert credential_ids(casc) == {"kubeconfig", "vault-approle"}


def test_quotes_and_colons_in_settings_keep_the_yaml_valid(tmp_path: Path) -> None:
    tricky = 'Rotten "Potatoes": CI # not a comment'
    rendered = render(
        tmp_path,
        {
            **SECRETS,
            "jenkins_job_repository": REPOSITORY,
            "jenkins_system_message": tricky,
            "jenkins_job_branch": "release/1.x",
        },
    )
    casc = yaml.safe_load(rendered["jenkins.yaml"])
    assert casc["jenkins"]["systemMessage"] == tricky
    assert 'branch("*/release/1.x")' in casc["jobs"][0]["script"]


def test_plugin_list_and_dropin(without_registry: dict[str, str]) -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    lines = [
        line
        for line in without_registry["plugins.txt"].splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == [f"{p['name']}:{p['version']}" for p in defaults["jenkins_plugins"]]
    dropin = without_registry["override.conf"]
    assert 'Environment="CASC_JENKINS_CONFIG=/var/lib/jenkins/casc_configs/jenkins.yaml"' in dropin
    assert 'Environment="SECRETS=/var/lib/jenkins/casc_secrets"' in dropin
    assert "-Djenkins.install.runSetupWizard=false" in dropin
