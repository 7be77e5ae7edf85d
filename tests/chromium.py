"""pytest plugin: real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Playwright's own browser downloads are not used (``playwright install`` is never run): the
system Chromium is launched through ``executable_path``, with a throw-away profile and
everything that would talk to the internet switched off.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# --headless and --user-data-dir are given by Playwright itself (launch_persistent_context).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A headless Chromium browser context with a fresh profile under ``tmp_path``."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 900},
            locale="zh-CN",
        )
        try:
            yield context
        finally:
            await context.close()
