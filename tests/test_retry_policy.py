"""retry_policy: one backoff for every reconnect and retry (clock and sleep injected)."""

from __future__ import annotations

import logging

import pytest

from retry_policy import Backoff, retry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_maximum() -> None:
    backoff = Backoff(0.5, 4.0, jitter=False)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_stays_between_half_the_base_and_the_base() -> None:
    draws: list[tuple[float, float]] = []

    def rng(low: float, high: float) -> float:
        draws.append((low, high))
        return low

    backoff = Backoff(0.5, 4.0, rng=rng)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 0.5, 1.0, 2.0, 2.0]
    assert draws == [(0.5, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.0, 4.0)]


def test_a_short_connection_does_not_forget_the_failures() -> None:
    clock = Clock()
    backoff = Backoff(1.0, 60.0, jitter=False, stable_after=30.0, clock=clock)
    delays = []
    for _ in range(4):
        backoff.connected()
        clock.now += 29.0  # up, but not long enough
        delays.append(backoff.next_delay())
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_a_connection_that_lasted_starts_again_from_the_minimum() -> None:
    clock = Clock()
    backoff = Backoff(1.0, 60.0, jitter=False, stable_after=30.0, clock=clock)
    for _ in range(3):
        backoff.next_delay()
    backoff.connected()
    clock.now += 30.0
    assert backoff.next_delay() == 1.0


@pytest.mark.parametrize(("minimum", "maximum"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_bad_bounds_are_refused(minimum: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="minimum"):
        Backoff(minimum, maximum)


async def test_retry_runs_until_the_operation_works(caplog: pytest.LogCaptureFixture) -> None:
    slept: list[float] = []
    calls = 0

    async def sleep(delay: float) -> None:
        slept.append(delay)

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("database down")
        return "stored"

    backoff = Backoff(2.0, 2.0, jitter=False)
    log = logging.getLogger("test.retry")
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        result = await retry(flaky, backoff, attempts=5, what="storing x", log=log, sleep=sleep)
    assert result == "stored"
    assert slept == [2.0, 2.0]
    assert [r.getMessage() for r in caplog.records] == [
        "storing x failed (database down); retrying"
    ]
    assert backoff.failures == 0


async def test_retry_gives_up_loudly_with_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    async def broken() -> None:
        raise ConnectionError("database down")

    log = logging.getLogger("test.retry")
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        result = await retry(
            broken,
            Backoff(1.0, 1.0, jitter=False),
            attempts=3,
            what="storing survey {'linkedid': '1.2'}",
            log=log,
            sleep=sleep,
        )
    assert result is None
    assert slept == [1.0, 1.0]
    assert caplog.records[-1].levelno == logging.ERROR
    assert caplog.records[-1].getMessage() == (
        "giving up storing survey {'linkedid': '1.2'} after 3 attempts: database down"
    )
