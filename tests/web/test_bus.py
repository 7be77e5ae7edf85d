from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from hotline.bus import Bus
from tests.web.conditions import wait_until

Event = tuple[str, dict[str, Any]]


class Recorder:
    """A subscriber that records what it gets; optionally holds until released."""

    def __init__(self, hold: bool = False) -> None:
        self.events: list[Event] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        self.entered.set()
        await self.release.wait()
        self.events.append((topic, payload))


async def test_each_subscriber_gets_events_in_publication_order() -> None:
    bus = Bus()
    first, second = Recorder(), Recorder()
    bus.subscribe("*", first, name="first")
    bus.subscribe("*", second, name="second")
    await bus.start()
    sent = [(f"call.{kind}", {"n": n}) for n in range(500) for kind in ("offered", "answered")]
    for topic, payload in sent:
        bus.publish(topic, payload)
    await wait_until(lambda: len(first.events) == len(sent) == len(second.events))
    assert first.events == sent
    assert second.events == sent
    await bus.stop()


async def test_patterns_select_topics() -> None:
    bus = Bus()
    calls, exact, everything = Recorder(), Recorder(), Recorder()
    bus.subscribe("call.*", calls, name="calls")
    bus.subscribe("call.answered", exact, name="exact")
    bus.subscribe("*", everything, name="all")
    # A few topics in one ordered subscription: handed those only, in publication order.
    few = Recorder()
    bus.subscribe(("call.answered", "ivr.*"), few, name="few")
    await bus.start()
    for topic in ("call.offered", "ivr.finished", "call.answered", "ticket.created", "callback"):
        bus.publish(topic, {})
    await wait_until(lambda: len(everything.events) == 5 and len(few.events) == 2)
    await bus.stop()
    assert [t for t, _ in calls.events] == ["call.offered", "call.answered"]
    assert [t for t, _ in exact.events] == ["call.answered"]
    assert [t for t, _ in few.events] == ["ivr.finished", "call.answered"]
    assert bus.stats()["subscribers"]["few"]["delivered"] == 2
    assert [t for t, _ in everything.events] == [
        "call.offered",
        "ivr.finished",
        "call.answered",
        "ticket.created",
        "callback",
    ]


async def test_a_slow_subscriber_blocks_neither_publisher_nor_others() -> None:
    bus = Bus()
    slow, fast = Recorder(hold=True), Recorder()
    bus.subscribe("*", slow, name="slow")
    bus.subscribe("*", fast, name="fast")
    await bus.start()
    bus.publish("call.offered", {"n": 0})
    await asyncio.wait_for(slow.entered.wait(), 2)
    for n in range(1, 200):
        bus.publish("call.offered", {"n": n})  # returns at once although "slow" is stuck
    await wait_until(lambda: len(fast.events) == 200)
    assert slow.events == []
    slow.release.set()
    await wait_until(lambda: len(slow.events) == 200)
    assert [p["n"] for _, p in slow.events] == list(range(200))
    await bus.stop()


async def test_overflow_drops_for_that_subscriber_only_and_is_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Bus()
    stuck, healthy = Recorder(hold=True), Recorder()
    bus.subscribe("*", stuck, name="stuck", queue_size=5)
    bus.subscribe("*", healthy, name="healthy")
    await bus.start()
    bus.publish("e", {"n": 0})
    await asyncio.wait_for(stuck.entered.wait(), 2)  # event 0 is in the handler
    with caplog.at_level(logging.WARNING, logger="hotline.bus"):
        for n in range(1, 20):
            bus.publish("e", {"n": n})
    stats = bus.stats()
    assert stats["subscribers"]["stuck"]["dropped"] == 14  # 19 published, 5 fit the queue
    assert stats["subscribers"]["healthy"]["dropped"] == 0
    assert stats["dropped"] == 14
    assert "stuck" in caplog.text and "dropped" in caplog.text
    assert bus.status()["ok"] is False and bus.status()["full"] == ["stuck"]
    stuck.release.set()
    await wait_until(lambda: len(stuck.events) == 6 and len(healthy.events) == 20)
    # What the stuck subscriber kept is the oldest, in order: later events were refused.
    assert [p["n"] for _, p in stuck.events] == [0, 1, 2, 3, 4, 5]
    assert bus.status()["ok"] is True
    await bus.stop()


async def test_failing_handler_is_logged_and_later_events_still_arrive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Bus()
    seen: list[int] = []

    def picky(topic: str, payload: dict[str, Any]) -> None:  # a plain (sync) handler
        if payload["n"] == 1:
            raise RuntimeError("boom")
        seen.append(payload["n"])

    bus.subscribe("*", picky, name="picky")
    await bus.start()
    with caplog.at_level(logging.ERROR, logger="hotline.bus"):
        for n in range(3):
            bus.publish("e", {"n": n})
        await wait_until(lambda: bus.stats()["subscribers"]["picky"]["delivered"] == 2)
    assert seen == [0, 2]
    assert bus.stats()["subscribers"]["picky"]["failed"] == 1
    assert "picky failed" in caplog.text and "boom" in caplog.text
    await bus.stop()


async def test_publish_never_raises_into_the_publisher(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus()
    got = Recorder()
    bus.subscribe("*", got)
    await bus.start()
    with caplog.at_level(logging.ERROR, logger="hotline.bus"):
        bus.publish("bad", None)  # type: ignore[arg-type]
    assert "could not publish 'bad'" in caplog.text
    bus.publish("good", {})
    await wait_until(lambda: len(got.events) == 1)
    assert got.events == [("good", {})]
    await bus.stop()


async def test_publisher_mutating_its_dict_afterwards_does_not_change_the_event() -> None:
    bus = Bus()
    got = Recorder()
    bus.subscribe("*", got)
    payload = {"state": "ringing"}
    bus.publish("agent.state", payload)
    payload["state"] = "talking"
    await bus.start()  # events published before start are kept and delivered
    await wait_until(lambda: len(got.events) == 1)
    assert got.events[0][1] == {"state": "ringing"}
    await bus.stop()


async def test_publish_from_another_thread_is_delivered_in_order() -> None:
    bus = Bus()
    got = Recorder()
    bus.subscribe("*", got)
    await bus.start()

    def worker() -> None:
        for n in range(100):
            bus.publish("t", {"n": n})

    thread = threading.Thread(target=worker)
    thread.start()
    await asyncio.to_thread(thread.join)
    await wait_until(lambda: len(got.events) == 100)
    assert [p["n"] for _, p in got.events] == list(range(100))
    await bus.stop()


async def test_stop_drains_queued_events() -> None:
    bus = Bus()
    got: list[int] = []

    async def handler(topic: str, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # yields so that the events pile up in the queue
        got.append(payload["n"])

    bus.subscribe("*", handler)
    await bus.start()
    for n in range(300):
        bus.publish("t", {"n": n})
    await bus.stop()
    assert got == list(range(300))
    assert not bus.running


async def test_subscribing_after_start_gets_later_events() -> None:
    bus = Bus()
    await bus.start()
    bus.publish("early", {})
    late = Recorder()
    bus.subscribe("*", late)
    bus.publish("later", {})
    await wait_until(lambda: len(late.events) == 1)
    assert late.events == [("later", {})]
    await bus.stop()
