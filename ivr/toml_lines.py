"""Where each key of a TOML file is written: dotted path → line number.

``tomllib`` forgets positions, and a menu fault must name its line. The menu files are plain
tables, ``[[arrays]]`` are not used, so a light scan is enough: table headers, ``key = value``
lines (dotted and quoted keys too), skipping multi-line strings and arrays' inner lines.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[(?!\[)(?P<path>[^\]]*)\]\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*(?P<key>(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
    r"""(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_PART = re.compile(r"""\s*([A-Za-z0-9_\-]+|"[^"]*"|'[^']*')\s*""")

Path = tuple[str, ...]


def split_key(text: str) -> Path:
    parts: list[str] = []
    for match in _PART.finditer(text):
        part = match.group(1)
        parts.append(part[1:-1] if part[0] in "\"'" else part)
    return tuple(parts)


def key_lines(text: str) -> dict[Path, int]:
    """Map every table and key path to the 1-based line where it is written."""
    lines: dict[Path, int] = {}
    table: Path = ()
    in_multiline = False
    depth = 0  # open brackets of a multi-line array
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if depth > 0:
            depth += _bracket_balance(line)
            continue
        header = _HEADER.match(line)
        if header:
            table = split_key(header["path"])
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            path = table + split_key(key["key"])
            lines.setdefault(path, number)
            value = line[key.end() :]
            if value.count('"""') % 2 == 1 or value.count("'''") % 2 == 1:
                in_multiline = True
            depth = max(0, _bracket_balance(value))
    return lines


def _bracket_balance(text: str) -> int:
    # Strings may hold brackets; drop them before counting.
    bare = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", text).split("#", 1)[0]
    return bare.count("[") + bare.count("{") - bare.count("]") - bare.count("}")


def line_of(lines: dict[Path, int], path: Path) -> int:
    """Line of ``path`` or of its nearest written parent (0 if none)."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return 0
