"""The MQTT bridge against a real Mosquitto (tests/mosquitto.py), including an outage."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
import pytest

from hotline.bus import Bus
from hotline.mqtt import MqttBridge, mqtt_topic
from tests.mosquitto import Mosquitto, free_port
from tests.web.conditions import wait_until


class Subscriber:
    """An MQTT client that records (topic, payload, retain) of what it receives.

    It records in the client's own message queue (aiomqtt's ``queue_type``), i.e. in the
    paho callback that runs before the PUBACK: a message acknowledged to the broker is
    always recorded, even if the connection drops a moment later.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, Any, bool]] = []

    @asynccontextmanager
    async def connected(
        self, broker: Mosquitto, *, persistent_id: str | None = None
    ) -> AsyncIterator[None]:
        received = self.received

        class Recording(asyncio.Queue[aiomqtt.Message]):
            def put_nowait(self, item: aiomqtt.Message) -> None:
                assert isinstance(item.payload, bytes)
                received.append((str(item.topic), json.loads(item.payload), bool(item.retain)))

        # A persistent session (clean_session=False, fixed id, QoS 1) makes the broker keep
        # messages for us while we are away, like a real dashboard's client would.
        client = aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=persistent_id,
            clean_session=False if persistent_id else None,
            queue_type=Recording,
        )
        try:
            async with client:
                await client.subscribe("hotline/#", qos=1)
                # Iterating ends only on a disconnect, and collects its error.
                watcher = asyncio.ensure_future(self._until_disconnected(client))
                try:
                    yield
                finally:
                    watcher.cancel()
                    await asyncio.gather(watcher, return_exceptions=True)
        except aiomqtt.MqttError:
            if broker.running:
                raise  # losing the connection is expected only when the test stops the broker

    @staticmethod
    async def _until_disconnected(client: aiomqtt.Client) -> None:
        async for _ in client.messages:
            pass  # never reached: Recording keeps the messages out of the queue


def test_topic_mapping() -> None:
    assert mqtt_topic("hotline", "call.answered") == "hotline/call/answered"
    assert mqtt_topic("city/12345/", "kpi.snapshot") == "city/12345/kpi/snapshot"
    assert mqtt_topic("hotline", "odd+topic#") == "hotline/odd_topic_"


async def test_bus_events_arrive_at_an_mqtt_subscriber(mosquitto: Mosquitto) -> None:
    bus = Bus()
    bridge = MqttBridge(host=mosquitto.host, port=mosquitto.port)
    bridge.attach(bus)
    sub = Subscriber()
    async with sub.connected(mosquitto):
        await bus.start()
        await bridge.start()
        await wait_until(lambda: bridge.status()["connected"], what="bridge connected")
        bus.publish("call.offered", {"linkedid": "1.1", "queue": "consult"})
        bus.publish("call.answered", {"linkedid": "1.1", "agent": "1001", "wait_s": 7})
        bus.publish("ivr.finished", {"linkedid": "1.2", "path": ["1", "2"], "note": "咨询"})
        await wait_until(lambda: len(sub.received) == 3, what="3 messages")
    assert sub.received == [
        ("hotline/call/offered", {"linkedid": "1.1", "queue": "consult"}, False),
        ("hotline/call/answered", {"linkedid": "1.1", "agent": "1001", "wait_s": 7}, False),
        ("hotline/ivr/finished", {"linkedid": "1.2", "path": ["1", "2"], "note": "咨询"}, False),
    ]
    status = bridge.status()
    assert status["ok"] and status["sent"] == 3 and status["outbox"] == 0
    await bridge.stop()
    await bus.stop()


async def test_kpi_snapshot_is_retained_for_late_subscribers(mosquitto: Mosquitto) -> None:
    bridge = MqttBridge(host=mosquitto.host, port=mosquitto.port)
    await bridge.start()
    bridge.enqueue("kpi.snapshot", {"answer_timeliness": {"value": 0.5}})
    bridge.enqueue("kpi.snapshot", {"answer_timeliness": {"value": 0.9}})
    bridge.enqueue("call.ended", {"linkedid": "9"})
    await asyncio.wait_for(bridge.wait_sent(), 5)
    late = Subscriber()
    async with late.connected(mosquitto):
        await wait_until(lambda: len(late.received) == 1, what="the retained snapshot")
    # Only the latest snapshot is retained; ordinary events are not.
    assert late.received == [("hotline/kpi/snapshot", {"answer_timeliness": {"value": 0.9}}, True)]
    await bridge.stop()


async def test_broker_outage_loses_no_event_and_keeps_order(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    bus = Bus()
    bridge = MqttBridge(
        host=mosquitto.host, port=mosquitto.port, reconnect_min=0.05, reconnect_max=0.2
    )
    bridge.attach(bus)
    sub = Subscriber()
    async with sub.connected(mosquitto, persistent_id="outage-watcher"):
        await bus.start()
        await bridge.start()
        await wait_until(lambda: bridge.status()["connected"], what="bridge connected")
        for n in range(5):
            bus.publish("call.offered", {"n": n})
        await wait_until(lambda: len(sub.received) == 5, what="events before the outage")

    with caplog.at_level(logging.WARNING, logger="hotline.mqtt"):
        await asyncio.to_thread(mosquitto.stop)
        await wait_until(lambda: not bridge.status()["connected"], what="bridge noticed outage")
        for n in range(5, 105):
            bus.publish("call.offered", {"n": n})
        # Let the bridge fail to reconnect a few times while it holds the events.
        failures = bridge.status()["failures"]
        await wait_until(lambda: bridge.status()["failures"] >= failures + 3, what="retries")
        assert bridge.status()["outbox"] == 100
        status = bridge.status()
        assert status["ok"] is False and status["last_error"]
        assert "unavailable" in caplog.text

    await asyncio.to_thread(mosquitto.start)
    await asyncio.wait_for(bridge.wait_sent(), 10)
    async with sub.connected(mosquitto, persistent_id="outage-watcher"):
        await wait_until(lambda: len(sub.received) >= 105, what="all events after restart")
    # QoS 1 is at-least-once; a duplicate would be allowed, a gap or a reordering not.
    numbers = [payload["n"] for _, payload, _ in sub.received]
    deduplicated = list(dict.fromkeys(numbers))
    assert deduplicated == list(range(105))
    assert bridge.status()["ok"] and bridge.status()["dropped"] == 0
    await bridge.stop()
    await bus.stop()


async def test_bridge_started_while_broker_is_down_sends_once_it_is_up(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    broker = Mosquitto(tmp_path_factory.mktemp("late-broker"), port=free_port())
    bridge = MqttBridge(host=broker.host, port=broker.port, reconnect_min=0.05, reconnect_max=0.1)
    await bridge.start()
    bridge.enqueue("call.abandoned", {"linkedid": "7", "wait_s": 40})
    await wait_until(lambda: bridge.status()["last_error"] is not None, what="failed connect")
    assert bridge.status()["outbox"] == 1
    await asyncio.to_thread(broker.start)
    try:
        await asyncio.wait_for(bridge.wait_sent(), 10)
        assert bridge.status()["sent"] == 1 and bridge.status()["connected"]
    finally:
        await bridge.stop()
        await asyncio.to_thread(broker.stop)


def test_outbox_overflow_drops_the_oldest_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge = MqttBridge(port=free_port(), outbox_size=3)
    with caplog.at_level(logging.WARNING, logger="hotline.mqtt"):
        for n in range(5):
            bridge.enqueue("call.offered", {"n": n})
    assert bridge.pending == 3
    assert bridge.status()["dropped"] == 2
    assert "outbox full" in caplog.text
    kept = [json.loads(m.payload)["n"] for m in bridge._outbox]
    assert kept == [2, 3, 4]


def test_unencodable_event_is_refused_with_a_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge = MqttBridge(port=free_port())
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with caplog.at_level(logging.ERROR, logger="hotline.mqtt"):
        bridge.enqueue("call.weird", circular)
    assert bridge.pending == 0
    assert bridge.status()["unencodable"] == 1
    assert "'call.weird' is not JSON-encodable" in caplog.text


async def test_broker_dying_mid_stream_loses_nothing(mosquitto: Mosquitto) -> None:
    bus = Bus()
    bridge = MqttBridge(
        host=mosquitto.host, port=mosquitto.port, reconnect_min=0.05, reconnect_max=0.2
    )
    bridge.attach(bus)
    sub = Subscriber()
    async with sub.connected(mosquitto, persistent_id="stream-watcher"):
        await bus.start()
        await bridge.start()
        await wait_until(lambda: bridge.status()["connected"], what="bridge connected")
        for n in range(300):
            bus.publish("call.ended", {"n": n})
        # Stop the broker while the bridge is still sending: some events are acknowledged,
        # some in flight, some not yet sent.
        await wait_until(lambda: bridge.status()["sent"] >= 20, what="sending under way")
        stopping = asyncio.to_thread(mosquitto.stop)
        for n in range(300, 400):
            bus.publish("call.ended", {"n": n})
        await stopping
    assert bridge.status()["outbox"] > 0
    await asyncio.to_thread(mosquitto.start)
    await asyncio.wait_for(bridge.wait_sent(), 10)
    async with sub.connected(mosquitto, persistent_id="stream-watcher"):
        try:
            await wait_until(lambda: len({p["n"] for _, p, _ in sub.received}) == 400)
        except AssertionError:
            got = {p["n"] for _, p, _ in sub.received}
            raise AssertionError(f"missing {sorted(set(range(400)) - got)}") from None
    numbers = list(dict.fromkeys(payload["n"] for _, payload, _ in sub.received))
    assert numbers == list(range(400))
    await bridge.stop()
    await bus.stop()


async def test_bridge_publishes_the_kpi_snapshot_callable_retained(mosquitto: Mosquitto) -> None:
    figures = {"answered": {"value": 3}}
    bridge = MqttBridge(
        host=mosquitto.host,
        port=mosquitto.port,
        snapshot=lambda: dict(figures),
        snapshot_interval=0.02,
    )
    await bridge.start()
    figures["answered"] = {"value": 4}
    await wait_until(lambda: bridge.status()["sent"] >= 2, what="snapshots sent")
    await asyncio.wait_for(bridge.wait_sent(), 5)
    late = Subscriber()
    async with late.connected(mosquitto):
        await wait_until(lambda: len(late.received) >= 1, what="the retained snapshot")
    assert late.received[0] == ("hotline/kpi/snapshot", {"answered": {"value": 4}}, True)
    await bridge.stop()
