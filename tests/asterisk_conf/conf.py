"""A small reader for Asterisk .conf files as the tests need them (repeated keys and sections)."""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\[([^\]]+)\]")
_OPTION = re.compile(r"^([^=;]+?)\s*=>?\s*(.*)$")


def _strip_comment(line: str) -> str:
    # ";" starts a comment unless escaped as "\;".
    out = re.split(r"(?<!\\);", line, maxsplit=1)[0]
    return out.replace("\\;", ";").rstrip()


def sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    result: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        header = _SECTION.match(line)
        if header:
            result.append((header.group(1), []))
            continue
        option = _OPTION.match(line)
        assert option, f"not an option line: {raw!r}"
        assert result, f"option before any section: {raw!r}"
        result[-1][1].append((option.group(1).strip(), option.group(2).strip()))
    return result


def section(text: str, name: str, **match: str) -> dict[str, list[str]]:
    """The one section called name whose options include every key=value in match."""
    found = []
    for title, options in sections(text):
        values: dict[str, list[str]] = {}
        for key, value in options:
            values.setdefault(key, []).append(value)
        if title == name and all(values.get(k) == [v] for k, v in match.items()):
            found.append(values)
    assert len(found) == 1, f"{len(found)} sections [{name}] matching {match}"
    return found[0]
