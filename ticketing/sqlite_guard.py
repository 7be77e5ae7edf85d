"""Notice when the SQLite file a store writes to is deleted or replaced under it.

SQLite keeps its open file: after an ``rm`` every write still succeeds, into an unlinked
inode that vanishes with the process. So the store compares the file at the path (device and
inode) with the one it opened, around each write: a missing file is an outage
(``DatabaseFileGone``, an OSError the writer retries, records kept); a different file is
reopened (the pool disposed, the schema migrated) before it is written to.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url


class DatabaseFileGone(OSError):
    """The SQLite file the store opened is no longer at its path."""


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite…`` URL; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # uri=true form: file:/path?mode=ro
        database = database[len("file:") :].split("?", 1)[0]
        if not database or parsed.query.get("mode") == "memory":
            return None
    return Path(database).absolute()


class SqliteFileGuard:
    """The identity (device, inode) of the file a store opened; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None

    def remember(self) -> None:
        """Take the file now at the path as the store's own (after opening or reopening)."""
        self._identity = self._current()

    def changed(self) -> bool:
        """True if another file is at the path now; DatabaseFileGone if none is."""
        current = self._current()
        if current is None:
            raise DatabaseFileGone(
                f"SQLite database file {self.path} is gone (deleted or moved): calls are kept"
                " until a file is back at that path (restore it, or restart the service)"
            )
        return current != self._identity

    def _current(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (info.st_dev, info.st_ino)
