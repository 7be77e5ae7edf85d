"""The menu in force: reloaded from its file when the file changes, without a restart.

Each call asks ``current()`` once at its start, so an edit applies from the next call on and
never changes a menu under a caller's feet. A file that fails validation is not used: the
last good menu stays in force and every fault is logged with file:line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ivr.menu import Menu, MenuError, MenuFault, load_menu

log = logging.getLogger(__name__)

DEFAULT_MENU = Path(__file__).resolve().parent / "menus" / "12345.toml"


class MenuSource:
    def __init__(self, path: str | Path = DEFAULT_MENU) -> None:
        """Load the menu now; a broken file at start-up raises MenuError (fail loudly)."""
        self.path = Path(path)
        self._stamp = self._stat()
        self._menu = load_menu(self.path)
        self.last_faults: list[MenuFault] = []

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def current(self) -> Menu:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self._menu = load_menu(self.path)
            except MenuError as error:
                self.last_faults = error.faults
                log.error("menu %s not reloaded, keeping the last good menu:\n%s",
                          self.path, "\n".join(str(f) for f in error.faults))
            else:
                self.last_faults = []
                log.info("menu %s reloaded", self.path)
        return self._menu
