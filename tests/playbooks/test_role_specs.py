"""Every role's public interface: argument specs match defaults, names carry the role prefix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
REQUIRED_FILES = ("README.md", "meta/main.yml", "meta/argument_specs.yml", "defaults/main.yml")
README_SECTIONS = ("## Requirements", "## Role variables", "## Example playbook", "## Testing")
# Project-wide inputs a role may declare in its spec without owning them.
SHARED_PREFIXES = ("platform_", "rotten_potatoes_")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _options(role: str) -> dict:
    specs = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")
    return specs["argument_specs"]["main"]["options"]


def test_roles_exist() -> None:
    assert ROLES, "no roles found"


@pytest.mark.parametrize("role", ROLES)
def test_role_has_the_standard_files(role: str) -> None:
    missing = [name for name in REQUIRED_FILES if not (ROOT / "roles" / role / name).is_file()]
    assert not missing, f"roles/{role} lacks {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_readme_sections_in_order(role: str) -> None:
    text = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    positions = [text.find(section) for section in README_SECTIONS]
    assert all(p >= 0 for p in positions), f"roles/{role}/README.md misses {README_SECTIONS}"
    assert positions == sorted(positions), f"roles/{role}/README.md sections out of order"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_prefixed_and_specified(role: str) -> None:
    defaults = _load(ROOT / "roles" / role / "defaults" / "main.yml")
    options = _options(role)
    unprefixed = [name for name in defaults if not name.startswith(f"{role}_")]
    assert not unprefixed, f"roles/{role} defaults without the '{role}_' prefix: {unprefixed}"
    unspecified = sorted(set(defaults) - set(options))
    assert not unspecified, f"roles/{role} defaults missing from argument_specs: {unspecified}"
    foreign = [
        name
        for name in options
        if not name.startswith((f"{role}_", *SHARED_PREFIXES)) and name not in defaults
    ]
    assert not foreign, f"roles/{role} argument_specs names variables it does not own: {foreign}"


@pytest.mark.parametrize("role", ROLES)
def test_spec_options_are_typed_described_and_match_defaults(role: str) -> None:
    defaults = _load(ROOT / "roles" / role / "defaults" / "main.yml")
    options = _options(role)
    for name, spec in options.items():
        assert spec.get("type"), f"roles/{role}: {name} has no type"
        assert spec.get("description"), f"roles/{role}: {name} has no description"
        if "default" in spec and name in defaults:
            assert spec["default"] == defaults[name], (
                f"roles/{role}: {name} default {spec['default']!r} in argument_specs differs "
                f"from defaults/main.yml {defaults[name]!r}"
            )
        if "choices" in spec and name in defaults and "{{" not in str(defaults[name]):
            assert defaults[name] in spec["choices"], f"roles/{role}: {name} default not a choice"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_in_the_readme(role: str) -> None:
    defaults = _load(ROOT / "roles" / role / "defaults" / "main.yml")
    readme = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in defaults if name not in readme]
    assert not undocumented, f"roles/{role}/README.md does not mention {undocumented}"
