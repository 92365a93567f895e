"""The Makefile's rules as data: each target's prerequisites and the targets its recipe runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

RULE = re.compile(
    r"^(?P<targets>[A-Za-z0-9_.%/$()-]+(?:\s+[A-Za-z0-9_.%/$()-]+)*)\s*:(?!=)(?P<rest>.*)$"
)
SUBMAKE = re.compile(r"\$\(MAKE\)\s+(?P<args>[^;&|]*)")
MAKE_VARIABLE = re.compile(r"\$[({][^)}]*[)}]")
SIMPLE_VARIABLE = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)\s*:?=\s*(?P<value>[^$]*)$")
# A shell loop over words in a recipe: `for suite in a b c; do ... $(MAKE) $$suite ...`.
SHELL_LOOP = re.compile(r"\bfor\s+(?P<name>\w+)\s+in\s+(?P<words>[^;]*);")


@dataclass
class Rule:
    prerequisites: list[str] = field(default_factory=list)
    recipe: list[str] = field(default_factory=list)


def parse_variables(makefile: Path) -> dict[str, str]:
    """Variables set once to plain words (`NAME := a b c`), which recipes may loop over."""
    found = {}
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if (match := SIMPLE_VARIABLE.match(line)) is not None:
            found[match.group("name")] = match.group("value").split("#", 1)[0].strip()
    return found


def parse_rules(makefile: Path) -> dict[str, Rule]:
    """Explicit rules by target name (variables and special targets such as .PHONY are left out).

    A recipe line continued with backslashes is one entry, with plain variables expanded.
    """
    variables = parse_variables(makefile)
    rules: dict[str, Rule] = {}
    current: list[Rule] = []
    continued = ""
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") or continued:
            logical = continued + " " + line.strip() if continued else line.strip()
            if logical.endswith("\\"):
                continued = logical[:-1].rstrip()
                continue
            continued = ""
            for name, value in variables.items():
                logical = logical.replace(f"$({name})", value)
            for rule in current:
                rule.recipe.append(logical)
            continue
        match = RULE.match(line)
        if match is None or line.lstrip().startswith("#"):
            if line.strip() and not line.rstrip().endswith("\\"):
                current = []
            continue
        prerequisites = match.group("rest").split("##", 1)[0].split("|", 1)[0].split()
        current = []
        for target in match.group("targets").split():
            if target.startswith(".") or MAKE_VARIABLE.fullmatch(target):
                continue
            rule = rules.setdefault(target, Rule())
            rule.prerequisites += [p for p in prerequisites if not MAKE_VARIABLE.search(p)]
            current.append(rule)
    return rules


def submake_targets(recipe_line: str) -> list[str]:
    """Targets a recipe line runs with $(MAKE), without options and VAR=value assignments."""
    loops = {m.group("name"): m.group("words").split() for m in SHELL_LOOP.finditer(recipe_line)}
    targets: list[str] = []
    for match in SUBMAKE.finditer(recipe_line):
        for word in match.group("args").split():
            if word.startswith("$$") and word[2:] in loops:
                targets += loops[word[2:]]
                continue
            if word.startswith("-") or "=" in word or MAKE_VARIABLE.search(word):
                continue
            targets.append(word)
    return targets


def run_by(target: str, rules: dict[str, Rule]) -> set[str]:
    """Every target `make <target>` runs: its prerequisites and $(MAKE) calls, transitively."""
    seen: set[str] = set()
    pending = [target]
    while pending:
        name = pending.pop()
        if name in seen or name not in rules:
            continue
        seen.add(name)
        rule = rules[name]
        pending += rule.prerequisites
        for line in rule.recipe:
            pending += submake_targets(line)
    return seen
