"""Where the real Asterisk captures live, and small loaders for them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from acd.ami.message import AmiMessage, from_pairs

ROOT = Path(__file__).resolve().parent.parent
_DEFAULT = ROOT.parent / "shared" / "fixtures" / "asterisk"
CAPTURES = Path(os.environ.get("HOTLINE_CAPTURES", _DEFAULT))


def capture_dirs() -> list[Path]:
    return sorted(p for p in CAPTURES.iterdir() if (p / "expected.json").is_file())


def capture_names() -> list[str]:
    return [p.name for p in capture_dirs()]


def load_messages(name: str, file: str = "ami.jsonl") -> list[AmiMessage]:
    with (CAPTURES / name / file).open(encoding="utf-8") as fh:
        return [from_pairs(json.loads(line)["fields"]) for line in fh if line.strip()]


def load_expected(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((CAPTURES / name / "expected.json").read_text("utf-8"))
    return data


def raw_bytes(name: str, file: str = "ami.raw") -> bytes:
    return (CAPTURES / name / file).read_bytes()
