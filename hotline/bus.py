"""In-process publish/subscribe of domain events (``call.answered``, ``ivr.finished``…).

Publishers (the call tracker, the IVR, ticketing) get ``bus.publish`` as a plain callable:
it is synchronous, never waits and never raises, because the AMI consumer must not stall
or die on a subscriber's account. Each subscriber has its own bounded queue and task, so
it sees events in publication order at its own pace; a full queue drops the event for that
subscriber only, and the drop is logged and counted (``Bus.stats()``).

Patterns are shell-style: ``*`` matches any run of characters, dots included, so
``"call.*"`` matches ``call.answered`` and ``"*"`` matches every topic. A subscriber that
needs a few topics in their common order subscribes to them together (a tuple of patterns,
one queue): it is then never handed the topics it would drop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[str, Payload], Awaitable[None] | None]
Publish = Callable[[str, Payload], None]

DEFAULT_QUEUE_SIZE = 10_000
_MAX_TOPICS = 1_000


@dataclass(eq=False)
class Subscription:
    """One subscriber: its pattern, queue, task and counters."""

    pattern: str | tuple[str, ...]
    handler: Handler
    name: str
    queue: asyncio.Queue[tuple[str, Payload]]
    task: asyncio.Task[None] | None = None
    delivered: int = 0
    dropped: int = 0
    failed: int = 0

    def matches(self, topic: str) -> bool:
        pattern = self.pattern
        if isinstance(pattern, str):
            return fnmatchcase(topic, pattern)
        return any(fnmatchcase(topic, one) for one in pattern)

    def stats(self) -> dict[str, Any]:
        pattern = self.pattern
        return {
            "pattern": pattern if isinstance(pattern, str) else list(pattern),
            "queued": self.queue.qsize(),
            "delivered": self.delivered,
            "dropped": self.dropped,
            "failed": self.failed,
        }


class Bus:
    """Topic-based event bus; see the module docstring for the guarantees."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._subscriptions: list[Subscription] = []
        # Topic → the subscriptions whose pattern matches it, filled on first use and
        # emptied by every subscribe: a publication costs one dict lookup instead of a shell
        # pattern match per subscriber (the AMI path publishes thousands of events a second).
        self._matching: dict[str, tuple[Subscription, ...]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.published = 0

    @property
    def running(self) -> bool:
        return self._loop is not None

    def subscribe(
        self,
        pattern: str | tuple[str, ...],
        handler: Handler,
        *,
        name: str | None = None,
        queue_size: int | None = None,
    ) -> Subscription:
        """Call ``handler(topic, payload)`` for every event whose topic matches ``pattern``
        (or one of the patterns of a tuple), in publication order.

        The handler may be a plain function or a coroutine function. Its exceptions are
        logged and counted; they never reach the publisher or stop later deliveries.
        """
        size = queue_size or self._queue_size
        label = name or str(getattr(handler, "__qualname__", None) or repr(handler))
        taken = {sub.name for sub in self._subscriptions}
        if label in taken:  # stats are keyed by name
            label = next(
                f"{label}#{n}" for n in range(2, len(taken) + 3) if f"{label}#{n}" not in taken
            )
        sub = Subscription(
            pattern=pattern,
            handler=handler,
            name=label,
            queue=asyncio.Queue(maxsize=size),
        )
        self._subscriptions.append(sub)
        self._matching.clear()
        if self._loop is not None:
            sub.task = self._loop.create_task(self._deliver(sub), name=f"bus:{sub.name}")
        return sub

    def publish(self, topic: str, payload: Payload) -> None:
        """Hand an event to every matching subscriber; returns at once, never raises."""
        try:
            loop = self._loop
            if loop is not None and self._thread != threading.get_ident():
                # asyncio queues are not thread-safe; hop onto the bus's loop.
                loop.call_soon_threadsafe(self._enqueue, topic, dict(payload))
            else:
                self._enqueue(topic, dict(payload))
        except Exception:  # the publisher is the call tracker: it must keep going
            log.exception("bus: could not publish %r", topic)

    def _enqueue(self, topic: str, payload: Payload) -> None:
        self.published += 1
        subs = self._matching.get(topic)
        if subs is None:
            if len(self._matching) >= _MAX_TOPICS:  # topics are constants; bound it anyway
                self._matching.clear()
            subs = self._matching[topic] = tuple(
                sub for sub in self._subscriptions if sub.matches(topic)
            )
        for sub in subs:
            try:
                sub.queue.put_nowait((topic, payload))
            except asyncio.QueueFull:
                sub.dropped += 1
                # Log the first drop and then every hundredth, not a line per event.
                if sub.dropped == 1 or sub.dropped % 100 == 0:
                    log.warning(
                        "bus: subscriber %s is %d events behind; dropped %r (%d dropped so far)",
                        sub.name,
                        sub.queue.qsize(),
                        topic,
                        sub.dropped,
                    )

    async def start(self) -> None:
        """Start one delivery task per subscriber (events published earlier are kept)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        for sub in self._subscriptions:
            sub.task = self._loop.create_task(self._deliver(sub), name=f"bus:{sub.name}")

    async def stop(self, grace: float = 5.0) -> None:
        """Deliver what is queued (up to ``grace`` seconds in all), then stop the tasks."""
        if self._loop is None:
            return
        subs = [sub for sub in self._subscriptions if sub.task is not None]
        try:
            await asyncio.wait_for(
                asyncio.gather(*(sub.queue.join() for sub in subs)), timeout=grace
            )
        except TimeoutError:
            left = {sub.name: sub.queue.qsize() for sub in subs if sub.queue.qsize()}
            log.warning("bus: stopped before these subscribers caught up: %s", left)
        for sub in subs:
            assert sub.task is not None
            sub.task.cancel()
        await asyncio.gather(*(sub.task for sub in subs if sub.task), return_exceptions=True)
        for sub in subs:
            sub.task = None
        self._loop = None
        self._thread = None

    def stats(self) -> dict[str, Any]:
        """Counters per subscriber, for /healthz and the logs."""
        return {
            "published": self.published,
            "subscribers": {sub.name: sub.stats() for sub in self._subscriptions},
            "dropped": sum(sub.dropped for sub in self._subscriptions),
        }

    def status(self) -> dict[str, Any]:
        """For /healthz: not ``ok`` while a subscriber's queue is full (it is losing events)."""
        full = [sub.name for sub in self._subscriptions if sub.queue.full()]
        return {
            "ok": self.running and not full,
            "running": self.running,
            "full": full,
            **self.stats(),
        }

    async def _deliver(self, sub: Subscription) -> None:
        while True:
            topic, payload = await sub.queue.get()
            try:
                result = sub.handler(topic, payload)
                if inspect.isawaitable(result):
                    await result
                sub.delivered += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                sub.failed += 1
                log.exception("bus: subscriber %s failed on %r", sub.name, topic)
            finally:
                sub.queue.task_done()
