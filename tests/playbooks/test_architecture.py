"""docs/architecture.md stays true: its generated parts match the repository, every role is on its
map, every file its data flow names exists, and the group each component runs on is the one the
playbooks' plays target."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from tests.playbooks.conftest import ROOT

DOC = ROOT / "docs" / "architecture.md"
SCRIPT = ROOT / "scripts" / "architecture.py"
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_generated_parts_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_map_names_every_role_once() -> None:
    table = _section("Who owns what")
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)
    assert sorted(listed) == ROLES, f"listed {sorted(listed)}, roles/ has {ROLES}"


def test_every_file_the_data_flow_names_exists() -> None:
    section = _section("How data flows")
    paths = set(re.findall(r"\b((?:ml|app|scripts|roles|playbooks|manifests)/[\w./-]*\w)", section))
    paths |= set(re.findall(r"\b(dvc\.yaml)\b", section))
    assert paths, "no path found in the data flow"
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_each_component_runs_on_its_group() -> None:
    groups = yaml.safe_load((ROOT / "group_vars" / "all.yml").read_text(encoding="utf-8"))[
        "rotten_potatoes_component_groups"
    ]
    seen = {}
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(playbook.read_text(encoding="utf-8")) or []:
            for entry in play.get("roles", []):
                role = entry["role"] if isinstance(entry, dict) else entry
                if role in groups:
                    seen[role] = play["hosts"]
                    assert play["hosts"] == groups[role], (
                        f"{playbook.name}: {role} runs on {play['hosts']}, "
                        f"rotten_potatoes_component_groups says {groups[role]}"
                    )
    assert sorted(seen) == sorted(groups), f"components without a play: {set(groups) - set(seen)}"
