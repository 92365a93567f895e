"""The generated parts of docs/architecture.md, read from the repository itself.

    python scripts/architecture.py            rewrite the generated parts of docs/architecture.md
    python scripts/architecture.py --check    exit 1 when they differ from the repository

Two parts, each between `<!-- generated: NAME -->` and `<!-- end: NAME -->`:
  plays     a Mermaid diagram: site.yml's stages in order, each playbook's plays (the inventory
            group they run on) and the roles (or role entry points) they apply; the playbooks
            site.yml does not import come after it.
  settings  the platform's overridable settings (roles/platform/defaults/main.yml): which roles'
            variables follow each one, and which inventory of this repository overrides it.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
# Every play applies it first; drawing it on each play would hide the rest.
SETTINGS_ROLE = "platform"


@dataclass(frozen=True)
class Play:
    """One play: the inventory group it runs on and what it applies, in order."""

    playbook: str
    hosts: str
    applies: tuple[str, ...]


def _load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _applied(task: dict) -> list[str]:
    """The roles a task imports or includes (with their entry point), in blocks too."""
    found: list[str] = []
    for key in ("block", "rescue", "always"):
        for inner in task.get(key, []) or []:
            found += _applied(inner)
    for module in (
        "ansible.builtin.import_role",
        "ansible.builtin.include_role",
        "import_role",
        "include_role",
    ):
        if module in task:
            name = task[module]["name"]
            entry = task[module].get("tasks_from", "main").removesuffix(".yml")
            found.append(name if entry == "main" else f"{name}/{entry}")
    return found


def plays_of(playbook: Path) -> list[Play]:
    plays = []
    for play in _load(playbook) or []:
        if "ansible.builtin.import_playbook" in play or "import_playbook" in play:
            continue
        roles = [
            entry["role"] if isinstance(entry, dict) else entry for entry in play.get("roles", [])
        ]
        tasks: list[str] = []
        for section in ("pre_tasks", "tasks", "post_tasks"):
            for task in play.get(section, []) or []:
                tasks += _applied(task)
        applies = tuple(role for role in roles + tasks if role != SETTINGS_ROLE)
        plays.append(Play(playbook.name, str(play["hosts"]), applies))
    return plays


def site_playbooks() -> list[str]:
    """The playbooks site.yml imports, in order (paths relative to the repository)."""
    site = _load(ROOT / "site.yml") or []
    return [entry["ansible.builtin.import_playbook"] for entry in site]


def _node(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name)


def plays_diagram() -> str:
    """The Mermaid flowchart of stages, plays and roles."""
    staged = site_playbooks()
    others = sorted(
        f"playbooks/{path.name}"
        for path in (ROOT / "playbooks").glob("*.yml")
        if f"playbooks/{path.name}" not in staged
    )
    lines = ["```mermaid", "flowchart LR"]
    previous = "site_yml"
    lines.append('    site_yml(["site.yml"])')
    for path in staged:
        name = Path(path).name
        lines.append(f'    {previous} --> {_node(name)}["{name}"]')
        previous = _node(name)
    for path in others:
        name = Path(path).name
        lines.append(f'    {_node(name)}["{name} (on its own)"]')
    for path in staged + others:
        for play in plays_of(ROOT / path):
            for role in play.applies:
                lines.append(
                    f'    {_node(play.playbook)} -->|"{play.hosts}"| role_{_node(role)}("{role}")'
                )
    lines.append("```")
    return "\n".join(lines)


def settings_table() -> str:
    """Each platform setting, what reads it, and the inventories of this repository that set it."""
    defaults = _load(ROOT / "roles" / SETTINGS_ROLE / "defaults" / "main.yml") or {}
    settings = [name for name in defaults if not name.startswith(_shared_task_inputs())]
    readers: dict[str, list[str]] = {name: [] for name in settings}
    for role_defaults in sorted((ROOT / "roles").glob("*/defaults/main.yml")):
        if role_defaults.parent.parent.name == SETTINGS_ROLE:
            continue
        for variable, value in (_load(role_defaults) or {}).items():
            for name in settings:
                if re.search(rf"\b{name}\b", str(value)):
                    readers[name].append(f"`{variable}`")
    task_files = sorted(ROOT.glob("playbooks/*.yml")) + sorted(ROOT.glob("roles/*/tasks/**/*.yml"))
    for path in task_files:
        text = path.read_text(encoding="utf-8")
        for name in settings:
            if re.search(rf"\b{name}\b", text):
                readers[name].append(str(path.relative_to(ROOT)))
    overridden: dict[str, list[str]] = {name: [] for name in settings}
    for inventory in sorted(p for p in (ROOT / "inventories").iterdir() if p.is_dir()):
        files = [
            inventory / "group_vars" / "all.yml",
            *sorted(inventory.glob("group_vars/all/*.yml")),
        ]
        for path in files:
            if path.is_file():
                for name in _load(path) or {}:
                    if name in overridden:
                        overridden[name].append(inventory.name)
    rows = [
        "| setting | read by (role variables that follow it, then files) | set by inventories |",
        "| --- | --- | --- |",
    ]
    for name in settings:
        read = ", ".join(readers[name]) or "-"
        rows.append(f"| `{name}` | {read} | {', '.join(overridden[name]) or '-'} |")
    return "\n".join(rows)


def _shared_task_inputs() -> tuple[str, ...]:
    """Prefixes of the inputs of roles/platform's shared task files (not settings)."""
    return ("platform_os_check_", "platform_apt_", "platform_port_forward_")


GENERATORS = {"plays": plays_diagram, "settings": settings_table}


def render(text: str) -> str:
    """text with every generated part replaced by what the repository says now."""
    for name, generate in GENERATORS.items():
        pattern = re.compile(
            rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", flags=re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC.relative_to(ROOT)} has no generated part {name!r}")
        body = generate()
        text = pattern.sub(lambda match, body=body: match[1] + body + "\n" + match[2], text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the doc is current")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if current != wanted:
            print(
                f"{DOC.relative_to(ROOT)} is out of date: run python scripts/architecture.py",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
