"""Await a condition with a deadline instead of sleeping for a guessed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Return as soon as ``predicate()`` is true; fail the test after ``within`` seconds."""

    async def poll() -> None:
        # The conditions watched (a broker's deliveries, another task's counters) have no
        # event of their own to await, so they are checked every few milliseconds.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(poll(), within)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {within} s waiting for {what or predicate}"
        ) from None
