"""Read recorded AMI streams: a capture folder, an ``ami.jsonl`` or an ``ami.raw`` file.

Operators backfill from recorded AMI logs with ``hotline replay``; the same reader serves the
tests and the benchmark. Raw bytes go through the real framer, so what it accepts is exactly what
the live link accepts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from acd.ami.framing import AmiFramer
from acd.ami.message import AmiMessage, from_pairs

log = logging.getLogger(__name__)


class CaptureError(Exception):
    """The path is not a readable AMI recording; the message says why."""


def resolve(path: Path) -> Path:
    """A capture folder means its ami.jsonl (or ami.raw when there is no jsonl)."""
    if path.is_dir():
        for name in ("ami.jsonl", "ami.raw"):
            candidate = path / name
            if candidate.is_file():
                return candidate
        raise CaptureError(f"{path}: no ami.jsonl or ami.raw in this folder")
    if not path.exists():
        raise CaptureError(f"{path}: no such file or folder")
    if not path.is_file():  # /dev/null, a FIFO, a socket
        raise CaptureError(f"{path}: not a regular file (a capture folder, ami.jsonl or ami.raw)")
    return path


def read_messages(path: Path) -> Iterator[AmiMessage]:
    """Every AMI message of the recording, in wire order. Bad lines are logged and skipped."""
    source = resolve(path)
    if source.suffix == ".jsonl":
        yield from _read_jsonl(source)
    else:
        yield from _read_raw(source)


def _read_jsonl(path: Path) -> Iterator[AmiMessage]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line)["fields"]
                yield from_pairs(fields)
            except (ValueError, KeyError, TypeError) as error:
                log.warning("%s:%d: skipped, not an AMI message (%s)", path, number, error)


def _read_raw(path: Path) -> Iterator[AmiMessage]:
    framer = AmiFramer()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            yield from framer.feed(chunk)
    if framer.pending:
        log.warning("%s: %d trailing bytes without a blank line, skipped", path, framer.pending)
