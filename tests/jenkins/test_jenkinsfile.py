"""The Jenkinsfile: it parses as Groovy, and its steps are the commands the project provides."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.jenkins.conftest import parse_groovy
from tests.jenkins.makefile_rules import parse_rules, run_by

pytestmark = pytest.mark.integration  # Groovy (Debian's groovy package) parses the file

MAKE_STEP = re.compile(r"^make (?P<target>[a-z][a-z0-9-]*)$")
PLAYBOOK_STEP = re.compile(
    r"^\.venv/bin/ansible-playbook (?P<playbook>playbooks/[a-z_]+\.yml)(?: .*)?$"
)
SHELL_CONTROL = re.compile(r"[;&|`\n<>]|\$\(")
# A `make <target>` written in a test module: that test runs the target under `make test`.
TEST_RUNS_TARGET = re.compile(r"""["']make["'],\s*["'](?P<target>[a-z][a-z0-9-]*)["']""")


def _sh_steps(calls: list[dict[str, Any]]) -> list[str]:
    steps = [call for call in calls if call["name"] == "sh"]
    interpolated = [step["line"] for step in steps if step["first"]["kind"] != "constant"]
    assert not interpolated, (
        f"sh steps at lines {interpolated} are not plain strings (Groovy would interpolate)"
    )
    return [step["first"]["value"] for step in steps]


def _make_targets(calls: list[dict[str, Any]]) -> list[str]:
    return [m.group("target") for step in _sh_steps(calls) if (m := MAKE_STEP.match(step))]


def _stage_names(calls: list[dict[str, Any]]) -> list[str]:
    return [call["first"]["value"] for call in calls if call["name"] == "stage"]


def test_the_jenkinsfile_parses_and_a_syntax_error_is_caught(tmp_path: Path) -> None:
    assert parse_groovy(REPO_ROOT / "Jenkinsfile").returncode == 0
    broken = tmp_path / "Jenkinsfile"
    text = (REPO_ROOT / "Jenkinsfile").read_text(encoding="utf-8")
    broken.write_text(text.replace("stage('Deploy') {", "stage('Deploy') ", 1), encoding="utf-8")
    result = parse_groovy(broken)
    assert result.returncode != 0
    assert "startup failed" in result.stdout + result.stderr


def test_every_sh_step_is_one_make_target_or_one_playbook(
    jenkinsfile_calls: list[dict[str, Any]],
) -> None:
    steps = _sh_steps(jenkinsfile_calls)
    assert steps, "the Jenkinsfile has no sh steps"
    for step in steps:
        assert MAKE_STEP.match(step) or PLAYBOOK_STEP.match(step), (
            f"not one make target or one playbook: {step!r}"
        )
        # Quoted variables only: "$INVENTORY" is fine, chaining or substitution is not.
        assert not SHELL_CONTROL.search(step), f"more than one command in {step!r}"


def test_the_stages_run_in_the_pipeline_order(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    commands = [shlex.split(step)[:2] for step in _sh_steps(jenkinsfile_calls)]
    order = [" ".join(words) if words[0] == "make" else words[1] for words in commands]
    deduplicated = list(dict.fromkeys(order))
    assert deduplicated == [
        "make venv",
        "make check",
        "make data-pull",
        "make pipeline",
        "make promote",
        "playbooks/build.yml",
        "playbooks/deploy.yml",
        "make smoke",
        "playbooks/stress.yml",
    ]
    assert _stage_names(jenkinsfile_calls)[0] == "Checkout"
    assert any(call["name"] == "checkout" for call in jenkinsfile_calls)


def test_every_make_target_exists(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    targets = _make_targets(jenkinsfile_calls)
    rules = parse_rules(REPO_ROOT / "Makefile")
    missing = [target for target in targets if target not in rules]
    assert not missing, f"the Jenkinsfile calls make targets the Makefile lacks: {missing}"
    for target in targets:
        dry_run = subprocess.run(
            ["make", "--no-print-directory", "-n", target],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert dry_run.returncode == 0, f"make -n {target}: {dry_run.stderr}"


def test_every_playbook_exists(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    playbooks = [
        m.group("playbook")
        for step in _sh_steps(jenkinsfile_calls)
        if (m := PLAYBOOK_STEP.match(step))
    ]
    assert playbooks
    missing = [playbook for playbook in playbooks if not (REPO_ROOT / playbook).is_file()]
    assert not missing, f"the Jenkinsfile runs playbooks that do not exist: {missing}"


def _targets_run_by_tests() -> dict[str, str]:
    """Targets a test module runs (`make test` runs every suite under tests/ but the demo's)."""
    found: dict[str, str] = {}
    for module in sorted((REPO_ROOT / "tests").rglob("test_*.py")):
        if module.parent.name == "e2e":
            continue
        for match in TEST_RUNS_TARGET.finditer(module.read_text(encoding="utf-8")):
            found.setdefault(match.group("target"), str(module.relative_to(REPO_ROOT)))
    return found


def test_make_test_runs_every_make_target_the_jenkinsfile_calls(
    jenkinsfile_calls: list[dict[str, Any]],
) -> None:
    rules = parse_rules(REPO_ROOT / "Makefile")
    in_make_test = run_by("test", rules)
    assert {"lint", "molecule"} <= in_make_test, "the Makefile parser lost the test target's tree"
    run_by_tests = _targets_run_by_tests()

    def covered(target: str) -> bool:
        if target in in_make_test or target in run_by_tests:
            return True
        # A target with no recipe of its own (`check: lint unit`) runs nothing but its
        # prerequisites: make test covers it when it runs each of them.
        rule = rules.get(target)
        return bool(rule and rule.prerequisites and not rule.recipe) and all(
            covered(prerequisite) for prerequisite in rule.prerequisites
        )

    not_run = [t for t in _make_targets(jenkinsfile_calls) if not covered(t)]
    assert not not_run, (
        f"make test never runs {not_run}: add them to the test target "
        "(or to a test that runs `make <target>`)"
    )


def test_the_makefile_parser_sees_prerequisites_and_submakes() -> None:
    rules = parse_rules(REPO_ROOT / "Makefile")
    assert {"lint", "unit"} <= run_by("check", rules)
    assert "demo-e2e" in run_by("test", rules)
    assert "check" not in run_by("lint", rules)


def test_credentials_only_through_with_credentials(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    bindings = [call for call in jenkinsfile_calls if "credentialsId" in call["named"]]
    assert bindings, "the Jenkinsfile binds no credentials"
    outside = [
        call["line"]
        for call in bindings
        if not call["enclosing"] or call["enclosing"][-1] != "withCredentials"
    ]
    assert not outside, f"credentials bound outside withCredentials at lines {outside}"
    # The declarative `credentials()` helper in `environment` would expose them to every step.
    assert not [call for call in jenkinsfile_calls if call["name"] == "credentials"]


def test_every_stage_has_its_own_timeout(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    for stage in _stage_names(jenkinsfile_calls):
        timeouts = [
            call
            for call in jenkinsfile_calls
            if call["name"] == "timeout"
            and call["enclosing"][-2:] == [f"stage({stage})", "options"]
        ]
        assert len(timeouts) == 1, f"stage {stage!r} has no timeout in its options"


def test_builds_never_run_concurrently(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    assert any(
        call["name"] == "disableConcurrentBuilds" and call["enclosing"] == ["pipeline", "options"]
        for call in jenkinsfile_calls
    )


def test_the_stress_test_is_a_boolean_parameter(jenkinsfile_calls: list[dict[str, Any]]) -> None:
    parameter = [call for call in jenkinsfile_calls if call["name"] == "booleanParam"]
    assert [call["named"]["name"]["value"] for call in parameter] == ["STRESS_TEST"]
    assert parameter[0]["named"]["defaultValue"]["value"] is False
    guarded = [
        call
        for call in jenkinsfile_calls
        if call["name"] == "expression" and "stage(Stress test)" in call["enclosing"]
    ]
    assert len(guarded) == 1
    # At the CONVERSION phase a closure's text is elided; read the source line of the `when`.
    line = (
        (REPO_ROOT / "Jenkinsfile").read_text(encoding="utf-8").splitlines()[guarded[0]["line"] - 1]
    )
    assert "params.STRESS_TEST" in line


def test_post_archives_reports_and_junit_then_cleans(
    jenkinsfile_calls: list[dict[str, Any]],
) -> None:
    by_name = {call["name"]: call for call in jenkinsfile_calls}
    assert by_name["archiveArtifacts"]["enclosing"][-2:] == ["post", "always"]
    assert "reports/**" in by_name["archiveArtifacts"]["named"]["artifacts"]["value"]
    assert by_name["junit"]["enclosing"][-2:] == ["post", "always"]
    assert by_name["cleanWs"]["enclosing"][-2:] == ["post", "cleanup"]
