"""Where a stored recording path may be read from: only files under a configured recordings
directory (MixMonitor's, each PBX's), after symlinks and ``..`` are resolved.

The web app serves recordings by call id; the path comes from the call record (which the
PBX's channel variables filled in), so it is still checked here: a record naming
``/etc/passwd`` or ``monitor/../../secret`` is refused, not served. The retention job uses
the same roots, so it never deletes outside them either.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hotline.settings import Settings


class RecordingRefused(Exception):
    """The path is not a readable recording under a recordings directory; says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordingFiles:
    def __init__(self, roots: Iterable[Path]) -> None:
        # Resolved once: a recordings directory that is itself a symlink is still honoured.
        self.roots = tuple(dict.fromkeys(Path(root).resolve() for root in roots))

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordingFiles:
        dirs = [settings.asterisk.recordings_dir]
        dirs += [pbx.recordings_dir for pbx in settings.pbx_servers() if pbx.recordings_dir]
        return cls(dirs)

    def resolve(self, stored: str | None) -> Path:
        """The real file a stored path names, if it is a regular file under a root."""
        if not stored or "\x00" in stored:
            raise RecordingRefused("no recording")
        given = Path(stored)
        candidates = [given] if given.is_absolute() else [root / given for root in self.roots]
        for candidate in candidates:
            try:
                real = candidate.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if not any(real.is_relative_to(root) for root in self.roots):
                raise RecordingRefused("outside the recordings directories")
            if not real.is_file():
                raise RecordingRefused("not a file")
            return real
        raise RecordingRefused("the file is gone")

    def within(self, path: Path) -> bool:
        """Whether ``path`` (resolved) lies under a root: the retention job's guard."""
        real = path.resolve()
        return any(real.is_relative_to(root) and real != root for root in self.roots)
