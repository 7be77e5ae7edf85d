"""Attachments of cases (附件): files kept by their SHA-256 in one directory, referred to from
a case's history as ``file:sha256:<hex>`` (events hold references, never the bytes). The same
file uploaded twice is stored once; a stored file is never changed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

REF_PREFIX: Final = "file:sha256:"
_DIGEST = re.compile(r"[0-9a-f]{64}")


class TooLarge(ValueError):
    """The upload is bigger than the configured limit."""


def digest_of(ref: str) -> str | None:
    """The hex digest of a ``file:sha256:<hex>`` reference (or of a bare hex digest)."""
    hexdigest = ref.removeprefix(REF_PREFIX)
    return hexdigest if _DIGEST.fullmatch(hexdigest) else None


def clean_name(name: str) -> str:
    """A file name fit to show and to offer as a download name: no folders, no controls."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or "attachment"


class CaseFiles:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    async def save(self, chunks: AsyncIterator[bytes], name: str) -> dict[str, Any]:
        """Store the uploaded bytes; ``{"ref", "name", "size"}``. TooLarge past the limit
        (nothing is kept)."""
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > self.max_bytes:
                raise TooLarge(f"an attachment may have at most {self.max_bytes} bytes")
        hexdigest = hashlib.sha256(body).hexdigest()
        meta = {"name": clean_name(name), "size": len(body)}
        await asyncio.to_thread(self._write, hexdigest, bytes(body), meta)
        return {"ref": REF_PREFIX + hexdigest, **meta}

    def _write(self, hexdigest: str, body: bytes, meta: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / hexdigest
        if not target.exists():
            # Written aside, then renamed: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".upload-")
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temporary, target)
        info = self.directory / f"{hexdigest}.json"
        if not info.exists():
            info.write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    def find(self, ref: str) -> tuple[Path, dict[str, Any]] | None:
        """The stored file of a reference and its name and size; None when there is none."""
        hexdigest = digest_of(ref)
        if hexdigest is None:
            return None
        path = self.directory / hexdigest
        if not path.is_file():
            return None
        info = self.directory / f"{hexdigest}.json"
        meta = json.loads(info.read_text("utf-8")) if info.is_file() else {}
        return path, {"name": meta.get("name", "attachment"), "size": path.stat().st_size}
