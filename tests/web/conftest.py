from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.auth_helpers import open_store
from ticketing.store import TicketStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[TicketStore]:
    opened = await open_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()
