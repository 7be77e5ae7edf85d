"""The menu in force: reloaded from its file when the file changes, without a restart.

Each call asks ``current()`` once at its start, so an edit applies from the next call on and
never changes a menu under a caller's feet. A file that fails validation (or the ``check``
the owner adds, e.g. "every queue exists on the PBX") is not used: the last good menu stays
in force and every fault is logged with file:line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ivr.menu import Menu, MenuError, MenuFault, load_menu

log = logging.getLogger(__name__)

DEFAULT_MENU = Path(__file__).resolve().parent / "menus" / "12345.toml"


# A menu → what is wrong with it beyond the file itself (one line each); [] if nothing.
MenuCheck = Callable[[Menu], Sequence[str]]


class MenuSource:
    def __init__(self, path: str | Path = DEFAULT_MENU, check: MenuCheck | None = None) -> None:
        """Load the menu now; a broken file at start-up raises MenuError (fail loudly)."""
        self.path = Path(path)
        self.check = check
        self._stamp = self._stat()
        self._menu = self._load()
        self.last_faults: list[MenuFault] = []

    def _load(self) -> Menu:
        menu = load_menu(self.path)
        problems = self.check(menu) if self.check is not None else []
        if problems:
            raise MenuError([MenuFault(str(self.path), 1, problem) for problem in problems])
        return menu

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
                self._menu = self._load()
            except MenuError as error:
                self.last_faults = error.faults
                log.error(
                    "menu %s not reloaded, keeping the last good menu:\n%s",
                    self.path,
                    "\n".join(str(f) for f in error.faults),
                )
            else:
                self.last_faults = []
                log.info("menu %s reloaded", self.path)
        return self._menu
