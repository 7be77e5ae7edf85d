"""Dependencies point down: which top-level package may import which.

`acd`, `ivr` and `ticketing` never import each other or `hotline`; the leaf contracts
(`events`, `asterisk_conf`'s channel variables) import none of the rooms.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "hotline",
    "acd",
    "ivr",
    "ticketing",
    "asterisk_conf",
    "agi_scripts",
    "events",
    "retry_policy",
    "working_days",
    "warning",
}

# package → the packages of ours it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "events": set(),
    "retry_policy": set(),
    "working_days": set(),
    "asterisk_conf": set(),
    "agi_scripts": {"asterisk_conf", "ivr"},  # the degraded path shares ivr.agi_protocol
    "acd": {"asterisk_conf", "events", "retry_policy", "working_days"},
    "ivr": {"asterisk_conf", "events", "retry_policy", "working_days"},
    "ticketing": {"events", "retry_policy", "working_days"},
    # Early warning: its own room, on the events and the channel-variable names.
    "warning": {"asterisk_conf", "events"},
    "hotline": OURS,
}


def imported_packages(package: str) -> dict[str, list[str]]:
    """Each package of ours that ``package`` imports → where."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OURS and top != package:
                    found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_down(package: str) -> None:
    wrong = {
        top: where
        for top, where in imported_packages(package).items()
        if top not in ALLOWED[package]
    }
    assert wrong == {}
