"""Exponential backoff with jitter that forgets past failures only once success has lasted.

A peer that accepts a connection (or an AMI login) and drops it at once is failing, not
recovering: resetting the delay at every connect would retry it at the minimum pace forever
(issue 7 item 9: a login every 0.5 s). So ``connected()`` only notes the time, and the next
``next_delay()`` starts again from the minimum only if that connection stayed up for
``stable_after`` seconds.

Clock, randomness and sleep are injectable, so tests assert the delays without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# How long a connection must last before its peer counts as recovered.
STABLE_AFTER_S = 30.0


class Backoff:
    """Delays before the next attempt: minimum · factor^failures, capped, with jitter.

    With jitter a delay is drawn from [max(minimum, base/2), base], so several service
    instances do not hammer a restarted peer in step; while failures go on the delays still
    grow (each draw's floor is the previous draw's ceiling) until they reach the maximum's
    range, [maximum/2, maximum], where they stay.
    """

    def __init__(
        self,
        minimum: float,
        maximum: float,
        *,
        factor: float = 2.0,
        jitter: bool = True,
        stable_after: float = STABLE_AFTER_S,
        clock: Clock = time.monotonic,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("need 0 < minimum <= maximum")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.stable_after = stable_after
        self._clock = clock
        self._rng = rng
        self.failures = 0
        self._up_since: float | None = None

    def next_delay(self) -> float:
        """The wait before the next attempt, after a failed attempt or a lost connection."""
        if self._up_since is not None:
            if self._clock() - self._up_since >= self.stable_after:
                self.failures = 0
            self._up_since = None
        exponent = min(self.failures, 64)
        base = min(self.maximum, self.minimum * self.factor**exponent)
        self.failures += 1
        if not self.jitter:
            return base
        return self._rng(max(self.minimum, base / 2), base)

    def connected(self) -> None:
        """The attempt succeeded; failures are forgotten if it lasts ``stable_after``."""
        self._up_since = self._clock()

    def succeeded(self) -> None:
        """A one-shot operation worked (no connection to last): start again from the minimum."""
        self.failures = 0
        self._up_since = None


async def retry(
    operation: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    attempts: int,
    what: str,
    log: logging.Logger,
    sleep: Sleep = asyncio.sleep,
) -> T | None:
    """Run ``operation`` until it returns, at most ``attempts`` times, ``backoff`` apart.

    The first failure is a warning, giving up an error naming ``what`` (e.g. the whole
    event, so that it can be recovered from the log); returns None then.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = await operation()
        except Exception as error:
            if attempt == attempts:
                log.error("giving up %s after %d attempts: %s", what, attempt, error)
                return None
            if attempt == 1:
                log.warning("%s failed (%s); retrying", what, error)
            await sleep(backoff.next_delay())
        else:
            backoff.succeeded()
            return result
    return None
