"""MQTT bridge: domain events from the bus to ``<prefix>/<topic/with/slashes>`` as JSON.

Every event goes through an outbox first and leaves it only when the broker has
acknowledged it (QoS 1 PUBACK), so a broker outage loses nothing: events wait, in order,
and are sent after the reconnect (exponential backoff). Delivery is at-least-once: an event
whose PUBACK was lost with the connection is sent again. The outbox is bounded; when it is
full the oldest event is dropped, logged and counted (``status()["dropped"]``).

Topics listed in ``retained`` (by default ``kpi.snapshot``) are published with the retain
flag, so a dashboard that subscribes later gets the latest KPI figures at once. The
snapshot comes either from bus events on ``kpi.snapshot`` or, given ``snapshot=`` (e.g. the
KPI engine's ``kpis`` method), from the bridge itself every ``snapshot_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomqtt

from events.topics import EVERY_TOPIC, KPI_SNAPSHOT
from retry_policy import Backoff

if TYPE_CHECKING:
    from hotline.bus import Bus, Subscription
    from hotline.settings import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    topic: str  # the MQTT topic
    payload: bytes
    retain: bool


def mqtt_topic(prefix: str, event_topic: str) -> str:
    """``("hotline", "call.answered")`` → ``"hotline/call/answered"``.

    ``+`` and ``#`` are wildcards in MQTT and not allowed in a published topic name.
    """
    path = event_topic.replace(".", "/").replace("+", "_").replace("#", "_")
    return f"{prefix.rstrip('/')}/{path}" if prefix else path


def encode(payload: dict[str, Any]) -> bytes:
    # default=str: datetimes, Decimals and Paths become readable strings, not an error.
    return json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":")).encode()


class MqttBridge:
    """Forwards bus events to an MQTT broker; see the module docstring."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        prefix: str = "hotline",
        username: str | None = None,
        password: str | None = None,
        identifier: str | None = None,
        outbox_size: int = 10_000,
        retained: Iterable[str] = (KPI_SNAPSHOT,),
        reconnect_min: float = 0.2,
        reconnect_max: float = 30.0,
        ack_timeout: float = 10.0,
        snapshot: Callable[[], dict[str, Any]] | None = None,
        snapshot_interval: float = 5.0,
    ) -> None:
        if outbox_size < 1:
            raise ValueError("outbox_size must be at least 1")
        self.host = host
        self.port = port
        self.prefix = prefix
        self._username = username
        self._password = password
        self._identifier = identifier
        self._retained = frozenset(retained)
        self._reconnect_min = reconnect_min
        self._reconnect_max = reconnect_max
        self._ack_timeout = ack_timeout
        self._snapshot = snapshot
        self._snapshot_interval = snapshot_interval
        self._snapshot_task: asyncio.Task[None] | None = None
        self._outbox: deque[OutgoingMessage] = deque()
        self._outbox_size = outbox_size
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self.connected = False
        self.sent = 0
        self.dropped = 0
        self.unencodable = 0
        self.connects = 0
        self.failures = 0  # connections lost or refused
        self.last_error: str | None = None
        self._down_since: float | None = time.monotonic()

    @classmethod
    def from_settings(cls, settings: MqttSettings, **overrides: Any) -> MqttBridge:
        options: dict[str, Any] = {
            "host": settings.host,
            "port": settings.port,
            "prefix": settings.topic_prefix,
            "username": settings.username,
            "password": settings.password.get_secret_value() if settings.password else None,
        }
        options.update(overrides)
        return cls(**options)

    def attach(self, bus: Bus, pattern: str = EVERY_TOPIC) -> None:
        """Forward every bus event matching ``pattern``."""
        self._subscription = bus.subscribe(pattern, self.enqueue, name="mqtt-bridge")

    def enqueue(self, topic: str, payload: dict[str, Any]) -> None:
        """Put one event in the outbox (never blocks; the sender task does the network)."""
        try:
            body = encode(payload)
        except (TypeError, ValueError) as error:
            self.unencodable += 1
            log.error("mqtt: event %r is not JSON-encodable, not sent: %s", topic, error)
            return
        if len(self._outbox) >= self._outbox_size:
            lost = self._outbox.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning(
                    "mqtt: outbox full (%d events, broker %s); dropped the oldest, %s "
                    "(%d dropped so far)",
                    self._outbox_size,
                    "connected" if self.connected else "unreachable",
                    lost.topic,
                    self.dropped,
                )
        self._outbox.append(
            OutgoingMessage(mqtt_topic(self.prefix, topic), body, topic in self._retained)
        )
        self._drained.clear()
        self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._outbox)

    def status(self) -> dict[str, Any]:
        """For /healthz: ``ok`` is False while the broker is unreachable."""
        down_for = None if self._down_since is None else time.monotonic() - self._down_since
        return {
            "ok": self.connected,
            "broker": f"{self.host}:{self.port}",
            "connected": self.connected,
            "down_for_s": None if down_for is None else round(down_for, 1),
            "outbox": len(self._outbox),
            "outbox_size": self._outbox_size,
            "sent": self.sent,
            "dropped": self.dropped,
            "unencodable": self.unencodable,
            "connects": self.connects,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="mqtt-bridge")
            if self._snapshot is not None:
                self._snapshot_task = loop.create_task(
                    self._publish_snapshots(self._snapshot), name="mqtt-kpi-snapshot"
                )

    async def stop(self, grace: float = 5.0) -> None:
        """Try for ``grace`` seconds to send what is in the outbox, then disconnect."""
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
            await asyncio.gather(self._snapshot_task, return_exceptions=True)
            self._snapshot_task = None
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            log.warning("mqtt: stopped with %d events unsent", len(self._outbox))
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def wait_sent(self) -> None:
        """Return once every event enqueued so far has been acknowledged by the broker."""
        await self._drained.wait()

    async def _run(self) -> None:
        # Failures are forgotten only once a connection has lasted (retry_policy).
        backoff = Backoff(self._reconnect_min, self._reconnect_max)
        while True:
            try:
                async with self._client() as client:
                    self._on_connected()
                    backoff.connected()
                    await self._serve(client)
                    return  # _serve returns only when stopping with an empty outbox
            except aiomqtt.MqttError as error:
                self._on_disconnected(error)
            except Exception as error:  # a bug must not end the bridge: events would pile up
                log.exception("mqtt: unexpected error in the bridge; reconnecting")
                self._on_disconnected(error)
            if self._stopping:
                return
            await self._pause(backoff.next_delay())

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self._username,
            password=self._password,
            identifier=self._identifier,
            timeout=self._ack_timeout,
        )

    async def _serve(self, client: aiomqtt.Client) -> None:
        # The watcher notices a dropped connection while the outbox is idle, so that
        # status() tells the truth and the reconnect starts at once.
        watcher = asyncio.ensure_future(self._watch(client))
        sender = asyncio.ensure_future(self._send(client))
        try:
            done, _ = await asyncio.wait({watcher, sender}, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and sender.exception() is not None:
                # A failed publish usually means the connection is going: let the watcher
                # see the disconnect and collect its error, or aiomqtt leaves it unretrieved.
                await asyncio.wait({watcher}, timeout=1.0)
        finally:
            for task in (watcher, sender):
                task.cancel()
            await asyncio.gather(watcher, sender, return_exceptions=True)
        for task in done:
            task.result()  # re-raise the MqttError that ended the connection

    @staticmethod
    async def _watch(client: aiomqtt.Client) -> None:
        async for _ in client.messages:
            pass  # the bridge subscribes to nothing; this only ends on disconnect
        raise aiomqtt.MqttError("connection closed")

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            while self._outbox:
                message = self._outbox[0]
                await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
                # Acknowledged: only now may it leave the outbox.
                if self._outbox and self._outbox[0] is message:
                    self._outbox.popleft()
                self.sent += 1
            self._drained.set()
            if self._stopping:
                return
            self._wakeup.clear()
            if not self._outbox:
                await self._wakeup.wait()

    async def _pause(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stop_requested(), timeout=delay)
        except TimeoutError:
            pass

    async def _stop_requested(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _publish_snapshots(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        while True:
            # Only while connected: during an outage a queue of stale snapshots is useless;
            # the first one after the reconnect brings the retained topic up to date.
            if self.connected:
                try:
                    self.enqueue(KPI_SNAPSHOT, snapshot())
                except Exception:
                    log.exception("mqtt: the KPI snapshot callable failed")
            await asyncio.sleep(self._snapshot_interval)

    def _on_connected(self) -> None:
        self.connects += 1
        if self._down_since is not None and self.connects > 1:
            log.info(
                "mqtt: reconnected to %s:%s after %.1f s; %d events to send",
                self.host,
                self.port,
                time.monotonic() - self._down_since,
                len(self._outbox),
            )
        self.connected = True
        self._down_since = None
        self.last_error = None

    def _on_disconnected(self, error: Exception) -> None:
        if self.connected or self.last_error is None:
            log.warning(
                "mqtt: broker %s:%s unavailable (%s); %d events held in the outbox",
                self.host,
                self.port,
                error,
                len(self._outbox),
            )
        self.failures += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
        self.connected = False
        self.last_error = str(error) or type(error).__name__
