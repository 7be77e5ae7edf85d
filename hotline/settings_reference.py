"""The configuration reference in the README, generated from the settings model itself.

Each setting's explanation is the comment written above (or beside) its field in
hotline/settings.py, so the code and the README cannot drift apart: a test regenerates the
table and compares it with the README.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from hotline.settings import Settings

START = "<!-- settings-reference:start -->"
END = "<!-- settings-reference:end -->"
_FIELD = re.compile(r"^\s{4}(\w+):")


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the comment above or beside its definition in the class body."""
    lines = inspect.getsource(model).splitlines()
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        match = _FIELD.match(line)
        if match:
            beside = line.split("  # ", 1)[1].strip() if "  # " in line else ""
            found[match.group(1)] = " ".join([*pending, beside]).strip()
        pending = []
    return found


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "(secret)" if value.get_secret_value() else '""'
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list):
        if value and isinstance(value[0], BaseModel):
            names = [getattr(item, "name", None) for item in value]
            return ", ".join(str(n) for n in names if n) or "[…]"
        return ", ".join(str(v) for v in value) or "[]"
    if value is None:
        return "none"
    if isinstance(value, Path):
        return str(value)
    return repr(value) if isinstance(value, str) else str(value)


def reference() -> str:
    """The markdown table of every setting: name, environment variable, default, meaning."""
    out = ["| setting | environment | default | meaning |", "| --- | --- | --- | --- |"]
    defaults = Settings.model_construct()
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        notes = _comments(model)
        current = getattr(defaults, section)
        for name in model.model_fields:
            value = getattr(current, name)
            env = f"`HOTLINE_{section.upper()}__{name.upper()}`"
            meaning = notes.get(name, "").replace("|", "\\|")
            out.append(f"| `{section}.{name}` | {env} | `{_default(value)}` | {meaning} |")
    return "\n".join(out)


def update_readme(path: Path) -> bool:
    """Rewrite the README's generated block; True if it changed."""
    text = path.read_text("utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = f"{head}{START}\n{reference()}\n{END}{tail}"
    if new == text:
        return False
    path.write_text(new, "utf-8")
    return True


if __name__ == "__main__":
    import sys

    changed = update_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README.md updated" if changed else "README.md already up to date")
