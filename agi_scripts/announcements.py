"""The announcements file: what the degraded path plays while the service is unreachable.

The service rewrites it whenever the set of active announcements (重大故障播报) changes::

    {"version": 1, "updated_at": "2026-11-25T08:00:00+00:00",
     "announcements": [{"id": "inc-42", "sound": "hotline/incidents/inc-42",
                        "starts_at": "2026-11-25T07:50:00+00:00", "ends_at": null}]}

``sound`` is an Asterisk sound name (no extension). The reader filters by the time window
again, because the file is exactly what goes stale when the service is down. A missing or
corrupt file, or a bad entry, is logged and skipped: the caller must still reach an agent.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

VERSION = 1
# Relative (to Asterisk's sounds dir) or absolute; no spaces or quotes (AGI argument), no "..".
_SOUND = re.compile(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True, slots=True)
class Announcement:
    id: str
    sound: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        started = self.starts_at is None or self.starts_at <= now
        return started and (self.ends_at is None or now < self.ends_at)


def _when(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an ISO 8601 time or null")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{field} must carry a UTC offset")
    return moment


def _announcement(raw: Any) -> Announcement:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    ident, sound = raw.get("id"), raw.get("sound")
    if not isinstance(ident, str) or not ident:
        raise ValueError("id missing")
    if not isinstance(sound, str) or not _SOUND.match(sound) or ".." in sound.split("/"):
        raise ValueError(f"sound {sound!r} is not a sound name")
    return Announcement(
        ident, sound, _when(raw.get("starts_at"), "starts_at"), _when(raw.get("ends_at"), "ends_at")
    )


def load_active(path: Path, now: datetime) -> list[Announcement]:
    """The announcements active at now, in file order; [] (logged) if the file is unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("announcements file %s is missing: playing none", path)
        return []
    except (OSError, UnicodeDecodeError, ValueError) as error:
        log.error("announcements file %s is unreadable (%s): playing none", path, error)
        return []
    items = data.get("announcements") if isinstance(data, dict) else None
    if not isinstance(items, list):
        log.error("announcements file %s has no announcements list: playing none", path)
        return []
    active = []
    for index, raw in enumerate(items):
        try:
            announcement = _announcement(raw)
        except ValueError as error:
            log.error("announcements file %s entry %d skipped: %s", path, index, error)
            continue
        if announcement.active(now):
            active.append(announcement)
    return active


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def write_announcements(path: Path, announcements: Iterable[Announcement], now: datetime) -> None:
    """Replace the file atomically, so the AGI script never reads half of it."""
    entries = [
        {"id": a.id, "sound": a.sound, "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at)}
        for a in announcements
    ]
    for entry in entries:
        _announcement(entry)  # refuse to write what the reader would skip
    document = {"version": VERSION, "updated_at": now.isoformat(), "announcements": entries}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
